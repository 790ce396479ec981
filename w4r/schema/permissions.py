"""Who may call what. Checked before a resolver runs; a refusal is a top-level error.

The rule of each operation is written next to it with :func:`allow`; the full matrix
(every operation by every role) is documented in docs/architecture.md.
"""

from __future__ import annotations

from typing import Any

from strawberry.extensions import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension

from w4r.platform.auth import Role
from w4r.schema.context import Info


class HasRole(BasePermission):
    """The caller has one of ``roles``; section roles count only in their own section."""

    def __init__(self, *roles: Role) -> None:
        self.error_extensions = {"code": "FORBIDDEN"}
        self.roles = frozenset(roles)
        names = ", ".join(sorted(role.value for role in self.roles))
        self.message = f"This needs one of the roles: {names}."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = info.context.principal
        if principal.role not in self.roles:
            return False
        if principal.section_code is None:
            return True
        # A section-bound caller acts only inside its section (the resolution step already
        # refused a request for another section; this guards the global scope too).
        section = info.context.section
        return section is not None and section.code == principal.section_code


def allow(*roles: Role) -> list[FieldExtension]:
    """``extensions=allow(...)`` for a field: only callers with one of ``roles``."""
    return [PermissionExtension(permissions=[HasRole(*roles)])]
