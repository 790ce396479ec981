"""Execution of big answers: objects, and lists of them, whose selected fields are all
plain leaves.

graphql-core completes every field of every list item through the same machinery: resolve
info, the resolver (strawberry's wrapper around an attribute read), then value completion
through the non-null, list and leaf cases. For a report of 4,320 totals cells with eight
fields each that is some 35,000 field executions, about half of the request's time.

:class:`LeafListExecutionContext` builds such a list's items directly: one attribute read
and the leaf type's own output coercion per field. It takes that path only when it gives
exactly what graphql-core would:

- the list holds objects of one object type (no interface or union, no ``is_type_of``),
  and neither the list field nor its sub-selection carries a directive left after
  collection (``@defer``, ``@stream``) or a schema-wide resolver middleware is installed;
- every selected field is a strawberry field with no resolver, no field extension (a
  permission of the matrix is one) and no arguments, read with strawberry's default
  ``getattr``, and its type is a scalar or an enum, or a list of them, optionally non-null;
- every value read is a plain value: no awaitable, no exception, no null in a non-null
  position, and the leaf type coerces it.

Anything else, for any item of the list, hands the whole list to graphql-core's own
completion, which reads the same attributes again (plain attribute reads: nothing changes)
and reports errors at their paths exactly as it always does.

Sibling fields and list items are awaited with :func:`gather_settled`, never cancelled: see
there why a cancelled resolver must not be left to graphql-core.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from types import CoroutineType, GeneratorType
from typing import Any, Final
from uuid import UUID

from graphql import (
    GRAPHQL_MAX_INT,
    GRAPHQL_MIN_INT,
    GraphQLBoolean,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLString,
    Undefined,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution import executor
from graphql.execution.collect_fields import FieldDetails
from graphql.pyutils import AwaitableOrValue, Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

PLAIN_TYPES: Final = frozenset({str, int, float, bool, UUID, date, datetime, time, Decimal})
"""Types whose values are never awaitable nor exceptions: no per-value check needed."""


IDENTICAL: Final[dict[Any, type]] = {
    GraphQLString: str,
    GraphQLBoolean: bool,
    GraphQLInt: int,
}
"""graphql-core's own scalars return a value of exactly this type unchanged (an Int only
between GRAPHQL_MIN_INT and GRAPHQL_MAX_INT): no call needed."""


class _NotPlain(Exception):  # noqa: N818 (a signal, never raised to a caller)
    """A value the fast path does not complete: the list goes the normal way."""


@dataclass(frozen=True, slots=True)
class _Column:
    """One selected leaf field: where its value comes from and how it is completed."""

    response_name: str
    attribute: str
    is_non_null: bool
    is_list: bool
    is_item_non_null: bool
    coerce: Callable[[Any], Any]
    exact: type | None
    """Values of exactly this type are their own coerced value (see IDENTICAL)."""


@dataclass(frozen=True, slots=True)
class _Plan:
    is_item_non_null: bool
    columns: tuple[_Column, ...]


def _leaf_column(response_name: str, attribute: str, type_: GraphQLOutputType) -> _Column | None:
    """How to complete a field of ``type_``: a leaf, a list of leaves, each maybe non-null."""
    is_non_null = is_non_null_type(type_)
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    is_list = is_list_type(type_)
    is_item_non_null = False
    if isinstance(type_, GraphQLList):
        type_ = type_.of_type
        is_item_non_null = is_non_null_type(type_)
        if isinstance(type_, GraphQLNonNull):
            type_ = type_.of_type
    if not is_leaf_type(type_):
        return None
    coerce = type_.coerce_output_value
    exact = None if is_list else IDENTICAL.get(type_)  # a list's value is never a leaf
    return _Column(response_name, attribute, is_non_null, is_list, is_item_non_null, coerce, exact)


async def gather_settled(*awaitables: Awaitable[Any]) -> list[Any]:
    """Await every one of ``awaitables``, then raise the first failure (in order), if any.

    graphql-core 3.3 awaits a selection's fields and a list's items with
    ``gather_with_cancel``: when one fails (a null in a non-null position, e.g. a field the
    caller may not read), it cancels the others still running. In w4r they share the
    request's transaction and its DataLoaders. A field cancelled while it waits for a loader
    cancels the loader's future that other fields wait for too, and they end in
    ``CancelledError``, which is no field error: the request failed with an exception
    instead of an answer. A field cancelled inside a statement leaves the request's
    connection closed mid-transaction. Letting the siblings finish costs at most the time
    they take (their results are dropped, as before) and keeps the answer an answer.
    """
    results = await asyncio.gather(*awaitables, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


# graphql-core's executor calls the module's ``gather_with_cancel`` (for fields, list items
# and its ``gather_async_work``) from closures no execution context can override: replace it
# there (see gather_settled). Every schema in the process executes this way.
executor.gather_with_cancel = gather_settled  # type: ignore[attr-defined]


class LeafListExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """strawberry's executor, completing lists of leaf-only objects without per-field
    resolution (see the module docstring for when, and why it is exact)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Keyed by the identity of the list field's details, kept alive with the plan (as
        # graphql-core memoizes sub-field collection).
        self._leaf_plans: dict[int, tuple[list[FieldDetails], _Plan | None]] = {}
        self._plain_types: dict[type, bool] = {}

    def complete_list_value(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_details_list: list[FieldDetails],
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> AwaitableOrValue[list[Any]]:
        if type(result) is list or type(result) is tuple:
            plan = self._leaf_plan(return_type.of_type, field_details_list)
            if plan is not None:
                try:
                    return self._complete_leaf_objects(plan, result)
                except _NotPlain:
                    pass
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def complete_object_value(
        self,
        return_type: GraphQLObjectType,
        field_details_list: list[FieldDetails],
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        # One object of plain leaves (a case's text, its totals) the same way as a list's
        # items; graphql-core has already dealt with a null.
        plan = self._leaf_plan(return_type, field_details_list)
        if plan is not None:
            try:
                completed: dict[str, Any] = self._complete_leaf_objects(plan, (result,))[0]
            except _NotPlain:
                pass
            else:
                return completed
        return super().complete_object_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _leaf_plan(
        self, item_type: GraphQLOutputType, field_details_list: list[FieldDetails]
    ) -> _Plan | None:
        key = id(field_details_list)
        cached = self._leaf_plans.get(key)
        if cached is None:
            cached = (field_details_list, self._build_plan(item_type, field_details_list))
            self._leaf_plans[key] = cached
        return cached[1]

    def _build_plan(
        self, item_type: GraphQLOutputType, field_details_list: list[FieldDetails]
    ) -> _Plan | None:
        middleware = self.middleware_manager
        if middleware is not None and middleware.middlewares:
            return None
        is_item_non_null = is_non_null_type(item_type)
        if isinstance(item_type, GraphQLNonNull):
            item_type = item_type.of_type
        if not is_object_type(item_type) or any(
            details.node.directives for details in field_details_list
        ):
            return None
        assert isinstance(item_type, GraphQLObjectType)  # for mypy: is_object_type said so
        if item_type.is_type_of is not None:
            return None
        try:
            grouped, new_defer_usages, _ = self.collect_subfields(item_type, field_details_list)
        except Exception:  # graphql-core reports it when it collects, if it must
            return None
        if new_defer_usages:
            return None
        columns = []
        for response_name, sub_details in grouped.items():
            column = self._column(item_type, response_name, sub_details)
            if column is None:
                return None
            columns.append(column)
        return _Plan(is_item_non_null, tuple(columns))

    @staticmethod
    def _column(
        item_type: GraphQLObjectType, response_name: str, sub_details: list[FieldDetails]
    ) -> _Column | None:
        node = sub_details[0].node
        field_def = item_type.fields.get(node.name.value)
        if field_def is None or field_def.args:
            return None
        if any(details.node.arguments or details.node.directives for details in sub_details):
            return None
        field = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if not (
            isinstance(field, StrawberryField)
            and field.is_basic_field
            and field.default_resolver is getattr
            and getattr(field_def.resolve, "_is_default", False)
        ):
            return None
        return _leaf_column(response_name, field.python_name, field_def.type)

    def _complete_leaf_objects(self, plan: _Plan, items: Iterable[Any]) -> list[Any]:
        """The items' dicts; raises _NotPlain where the normal path must decide."""
        columns: list[tuple[Any, ...]] = [
            (
                column.response_name,
                column.attribute,
                column.is_non_null,
                column.is_list,
                column.exact,
                column,
            )
            for column in plan.columns
        ]
        plain_types = self._plain_types
        is_plain = self._is_plain
        completed: list[Any] = []
        append = completed.append
        try:
            for item in items:
                if item is None:
                    if plan.is_item_non_null:
                        raise _NotPlain
                    append(None)
                    continue
                data: dict[str, Any] = {}
                for response_name, attribute, is_non_null, is_list, exact, column in columns:
                    value = getattr(item, attribute)
                    if value is None:
                        if is_non_null:
                            raise _NotPlain
                        data[response_name] = None
                    elif type(value) is exact and (
                        exact is not int or GRAPHQL_MIN_INT <= value <= GRAPHQL_MAX_INT
                    ):
                        data[response_name] = value
                    elif is_list:
                        data[response_name] = self._complete_leaf_list(column, value)
                    else:
                        if not (plain_types.get(type(value)) or is_plain(value)):
                            raise _NotPlain
                        coerced = column.coerce(value)
                        if coerced is None or coerced is Undefined:
                            raise _NotPlain
                        data[response_name] = coerced
                append(data)
        except _NotPlain:
            raise
        except Exception as error:  # an attribute or a coercion failed: the normal path says so
            raise _NotPlain from error
        return completed

    def _complete_leaf_list(self, column: _Column, values: Any) -> list[Any]:
        if type(values) is not list and type(values) is not tuple:
            raise _NotPlain
        completed: list[Any] = []
        for value in values:
            if value is None:
                if column.is_item_non_null:
                    raise _NotPlain
                completed.append(None)
                continue
            if not self._is_plain(value):
                raise _NotPlain
            coerced = column.coerce(value)
            if coerced is None or coerced is Undefined:
                raise _NotPlain
            completed.append(coerced)
        return completed

    def _is_plain(self, value: Any) -> bool:
        """Not awaitable, not an exception: what graphql-core would complete as a value."""
        kind = type(value)
        known = self._plain_types.get(kind)
        if known is None:
            known = kind in PLAIN_TYPES or (
                not hasattr(kind, "__await__")
                and not issubclass(kind, (BaseException, CoroutineType, GeneratorType))
                # Enum members, or instances that cannot gain an attribute (no instance
                # dict, no __getattr__): asyncpg's UUID, for one.
                and (
                    issubclass(kind, enum.Enum)
                    or (not getattr(kind, "__dictoffset__", 1) and not hasattr(kind, "__getattr__"))
                )
            )
            self._plain_types[kind] = known
        if known:
            return True
        return not isinstance(value, Exception) and not self.is_awaitable(value)
