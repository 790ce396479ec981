"""User errors in payloads, top-level error codes, and which errors are masked."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from strawberry.schema.exceptions import InvalidOperationTypeError

from w4r.platform.database import is_database_unavailable
from w4r.platform.errors import InvalidInputError, ProblemCode, W4RError
from w4r.schema.context import Info

DATABASE_UNAVAILABLE: Final = "DATABASE_UNAVAILABLE"
DATABASE_UNAVAILABLE_MESSAGE: Final = (
    "The database is unavailable and nothing was done; retry shortly."
)

UserErrorCode = strawberry.enum(ProblemCode, name="UserErrorCode")


@strawberry.type(description="A problem with a mutation's input that the caller can fix.")
class UserError:
    field: str | None = strawberry.field(
        description="The input field (camelCase) the problem is about, if any."
    )
    message: str
    code: UserErrorCode  # type: ignore[valid-type]


def user_errors(error: InvalidInputError) -> list[UserError]:
    return [
        UserError(field=problem.field, message=problem.message, code=problem.code)
        for problem in error.problems
    ]


T = TypeVar("T")


async def run_mutation(
    info: Info, work: Callable[[], Awaitable[T]], *, savepoint: bool = True
) -> T | list[UserError]:
    """Run ``work`` in a savepoint: on :class:`InvalidInputError` only its own writes are undone
    and the problems are returned for the payload's ``errors``. ``savepoint=False`` is for
    work that refuses only before its first write (two round trips fewer)."""
    try:
        if not savepoint:
            return await work()
        async with info.context.session.begin_nested():
            return await work()
    except InvalidInputError as error:
        return user_errors(error)


def bad_user_input(message: str) -> GraphQLError:
    """A top-level error for input that has no payload to carry it (e.g. a bad cursor)."""
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})


def should_mask_error(error: GraphQLError) -> bool:
    """Mask unexpected errors only: GraphQL's own, permission and W4R errors pass, and so
    does an operation of a type the transport refuses (a query sent over the websocket)."""
    original = error.original_error
    if original is None or isinstance(
        original, (GraphQLError, W4RError, InvalidOperationTypeError)
    ):
        return False
    return not isinstance(original, strawberry.exceptions.StrawberryGraphQLError)


class W4RMaskErrors(MaskErrors):
    """Unexpected errors masked as ``Unexpected error.`` (``INTERNAL_SERVER_ERROR``), except
    a database that is down, restarting or out of connections: that is
    ``DATABASE_UNAVAILABLE``, which tells a client the request did not take effect and may be
    sent again as it is (a write with its idempotency key)."""

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if original is not None and is_database_unavailable(original):
            return GraphQLError(
                DATABASE_UNAVAILABLE_MESSAGE,
                nodes=error.nodes,
                source=error.source,
                positions=error.positions,
                path=error.path,
                extensions={"code": DATABASE_UNAVAILABLE},
            )
        return super().anonymise_error(error)
