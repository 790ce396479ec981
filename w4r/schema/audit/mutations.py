"""The audit of mutations: every mutation of a staff caller is recorded, whatever its end.

:class:`AuditMutationExtension` wraps each root mutation field (outside the permission
check, so refusals pass through it) and tells the request's
:class:`~w4r.audit.recorder.AuditRecorder` how the mutation ended: ``ok``, ``user-error``
with the payload's error codes, ``forbidden`` or ``failed``. Only ids are kept: the ids
given at the top of the input and the ids of what the payload returns, never other values.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any, Final
from uuid import UUID

from graphql import GraphQLError
from strawberry.extensions import FieldExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.types.base import get_object_definition

from w4r.audit.models import AuditOutcome
from w4r.audit.recorder import AuditRecorder
from w4r.platform.errors import PermissionDeniedError
from w4r.schema.context import Info
from w4r.schema.errors import UserError

FORBIDDEN: Final = "FORBIDDEN"


def _is_refusal(error: Exception) -> bool:
    if isinstance(error, PermissionDeniedError):
        return True
    return isinstance(error, GraphQLError) and (error.extensions or {}).get("code") == FORBIDDEN


def _ids_of(value: Any, *, follow: bool) -> Iterator[UUID]:
    """UUIDs in ``value``: itself, a list of them, or (one level, when ``follow``) the
    UUID fields of a strawberry object, lists of UUIDs included."""
    if isinstance(value, UUID):
        yield value
    elif isinstance(value, list | tuple):
        yield from (each for each in value if isinstance(each, UUID))
    elif follow and (definition := get_object_definition(value)) is not None:
        for field in definition.fields:
            if field.base_resolver is None:
                yield from _ids_of(getattr(value, field.python_name, None), follow=False)


def target_ids(arguments: dict[str, Any], payload: Any) -> list[UUID]:
    """The ids a mutation was about: UUIDs among its arguments and the top fields of its
    input objects, then the UUIDs of its payload and of the objects the payload returns."""
    found: dict[UUID, None] = {}
    for value in arguments.values():
        found.update(dict.fromkeys(_ids_of(value, follow=True)))
    definition = get_object_definition(payload) if payload is not None else None
    if definition is not None:
        for field in definition.fields:
            if field.base_resolver is None and field.python_name != "errors":
                found.update(
                    dict.fromkeys(_ids_of(getattr(payload, field.python_name, None), follow=True))
                )
    return list(found)


def _user_error_codes(payload: Any) -> list[str]:
    errors = getattr(payload, "errors", None)
    if not isinstance(errors, list):
        return []
    return [str(error.code) for error in errors if isinstance(error, UserError)]


class AuditMutationExtension(FieldExtension):
    """Records one root mutation in the request's audit recorder (staff callers only)."""

    def __init__(self, operation: str) -> None:
        self.operation = operation

    def _succeeded(self, recorder: AuditRecorder, arguments: dict[str, Any], payload: Any) -> None:
        codes = _user_error_codes(payload)
        recorder.mutation(
            self.operation,
            AuditOutcome.USER_ERROR if codes else AuditOutcome.OK,
            error_codes=codes,
            target_ids=target_ids(arguments, payload),
        )

    def _raised(self, recorder: AuditRecorder, arguments: dict[str, Any], error: Exception) -> None:
        recorder.mutation(
            self.operation,
            AuditOutcome.FORBIDDEN if _is_refusal(error) else AuditOutcome.FAILED,
            target_ids=target_ids(arguments, None),
        )

    def resolve(self, next_: Any, source: Any, info: Info, **kwargs: Any) -> Any:
        recorder = info.context.audit
        if not recorder.audits_mutations:
            return next_(source, info, **kwargs)
        try:
            payload = next_(source, info, **kwargs)
        except Exception as error:
            self._raised(recorder, kwargs, error)
            raise
        self._succeeded(recorder, kwargs, payload)
        return payload

    async def resolve_async(self, next_: Any, source: Any, info: Info, **kwargs: Any) -> Any:
        recorder = info.context.audit
        if not recorder.audits_mutations:
            result = next_(source, info, **kwargs)
            return await result if inspect.isawaitable(result) else result
        try:
            result = next_(source, info, **kwargs)
            payload = await result if inspect.isawaitable(result) else result
        except Exception as error:
            self._raised(recorder, kwargs, error)
            raise
        self._succeeded(recorder, kwargs, payload)
        return payload


def audit_mutations(mutation: type) -> None:
    """Wrap every field of ``mutation`` in an :class:`AuditMutationExtension`, outermost.
    Idempotent: a previous one is replaced, so a schema can be built more than once."""
    name_converter = StrawberryConfig().name_converter
    for field in get_object_definition(mutation, strict=True).fields:
        kept = [
            extension
            for extension in field.extensions
            if not isinstance(extension, AuditMutationExtension)
        ]
        # strawberry makes the last extension the outermost: the audit sees the refusals
        # of the permission check and the errors of every other extension.
        field.extensions = [
            *kept,
            AuditMutationExtension(name_converter.get_graphql_name(field)),
        ]
