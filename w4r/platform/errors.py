"""The exception tree of w4r, in three tiers (see docs/architecture.md, "Errors").

``W4RError``
    ``InvalidInputError``       user-fixable: a mutation returns it as payload ``errors`` (each
                           :class:`Problem` has a field, a stable :class:`ProblemCode` and a
                           message), and nothing the mutation wrote is kept.
    ``NotAuthenticatedError``   the credentials are missing where required, malformed, expired,
                           or not signed by a trusted key: a top-level error (HTTP 401 before
                           execution).
    ``PermissionDeniedError``   the caller is known but may not do this: a top-level error.
    ``SectionNotFoundError`` / ``SectionConflictError`` / ``SectionForbiddenError``
                           the request's section could not be resolved: refused before any
                           GraphQL execution (HTTP 404 / 400 / 403).

Anything else is unexpected: a top-level error whose message is masked and which is logged.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class ProblemCode(enum.StrEnum):
    """Stable codes of user-fixable problems. Values are API: never rename one."""

    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    TOO_LONG = "TOO_LONG"
    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    UNKNOWN_LANGUAGE = "UNKNOWN_LANGUAGE"
    UNKNOWN_COUNTRY = "UNKNOWN_COUNTRY"
    UNKNOWN_TIME_ZONE = "UNKNOWN_TIME_ZONE"
    OUT_OF_SCOPE = "OUT_OF_SCOPE"
    OUTDATED = "OUTDATED"
    NOT_ALLOWED = "NOT_ALLOWED"
    OUTSIDE_WINDOW = "OUTSIDE_WINDOW"
    IN_PROGRESS = "IN_PROGRESS"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    UNKNOWN_SCOPE = "UNKNOWN_SCOPE"
    ALREADY_REVOKED = "ALREADY_REVOKED"
    IN_THE_PAST = "IN_THE_PAST"
    UNKNOWN_EVENT_KIND = "UNKNOWN_EVENT_KIND"
    INSECURE_URL = "INSECURE_URL"
    """A webhook URL that is not https, or points at a private or loopback address."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input: where (a camelCase input field), what, and why."""

    field: str | None
    code: ProblemCode
    message: str


class W4RError(Exception):
    """Base of every error this application raises on purpose."""


class InvalidInputError(W4RError):
    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        if not self.problems:
            raise ValueError("InvalidInputError needs at least one problem")
        super().__init__("; ".join(problem.message for problem in self.problems))

    @classmethod
    def one(cls, field: str | None, code: ProblemCode, message: str) -> InvalidInputError:
        return cls([Problem(field, code, message)])


class NotAuthenticatedError(W4RError):
    code = "UNAUTHENTICATED"


class PermissionDeniedError(W4RError):
    code = "FORBIDDEN"


class SectionResolutionError(W4RError):
    status_code = 400
    code = "SECTION_INVALID"


class SectionNotFoundError(SectionResolutionError):
    status_code = 404
    code = "SECTION_NOT_FOUND"


class SectionConflictError(SectionResolutionError):
    status_code = 400
    code = "SECTION_CONFLICT"


class SectionForbiddenError(SectionResolutionError):
    status_code = 403
    code = "SECTION_FORBIDDEN"
