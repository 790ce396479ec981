"""API keys: a global table whose rows belong to a section or, with no section, to the IS.

Authentication reads keys before a request is bound to a section, so the table is not
tenant-owned; it is one of :data:`w4r.platform.tenancy.SECTION_OR_GLOBAL_TABLES`, whose
policy lets a section's scope see and change only its own keys and the global scope all of
them. Only a hash of each key is stored. The app role may not delete a key (revocation is an
update) and may update only the columns that record use and revocation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final
from uuid import UUID

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, Text, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from w4r.platform.auth import ApiScope
from w4r.platform.models import Base, Timestamped
from w4r.platform.tenancy import CURRENT_SECTION_SQL

MAX_NAME_LENGTH: Final = 100
GLOBAL_KEY_SCOPES: Final = frozenset({ApiScope.READ_PUBLIC})
"""What an IS-owned key may hold: recording and importing count for one section."""


def _scope_array(scopes: frozenset[ApiScope] | list[ApiScope]) -> str:
    return "ARRAY[" + ", ".join(f"'{scope.value}'" for scope in sorted(scopes)) + "]::text[]"


class ApiKey(Timestamped, Base):
    """A partner's or integration's key; ``section_id`` null means the IS owns it."""

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint(f"length(name) between 1 and {MAX_NAME_LENGTH}", name="name_length"),
        CheckConstraint("octet_length(key_hash) = 32", name="key_hash_sha256"),
        CheckConstraint("cardinality(scopes) >= 1", name="has_scope"),
        CheckConstraint(f"scopes <@ {_scope_array(list(ApiScope))}", name="known_scopes"),
        CheckConstraint(
            f"section_id is not null or scopes <@ {_scope_array(GLOBAL_KEY_SCOPES)}",
            name="global_keys_read_only",
        ),
        CheckConstraint("(revoked_at is null) = (revoked_by is null)", name="revocation_whole"),
        Index("ix_api_keys_section_id_created_at_id", "section_id", "created_at", "id"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    # Defaults to the bound section, and to null (the IS) in the global scope; the policy
    # refuses a section's scope any other value.
    section_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("sections.id", ondelete="RESTRICT"), server_default=text(CURRENT_SECTION_SQL)
    )
    name: Mapped[str] = mapped_column(Text)
    display_prefix: Mapped[str] = mapped_column(Text)
    key_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    created_by: Mapped[str] = mapped_column(Text)
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(Text)
