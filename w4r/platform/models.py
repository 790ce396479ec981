"""The declarative base, the constraint naming convention and the tenant-owned marker."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from sqlalchemy import DateTime, ForeignKey, MetaData, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from w4r.platform.tenancy import CURRENT_SECTION_SQL

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: DateTime(timezone=True)}


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class TenantOwned(Base):
    """A table whose rows belong to one section.

    Its primary, unique and foreign keys lead with ``section_id`` and the migration that
    creates it applies :func:`w4r.platform.tenancy.tenant_isolation_ddl` (ENABLE + FORCE row
    level security with a fail-closed policy). The catalog tests check both for every
    subclass, and that no other table carries a ``section_id`` unless it is listed in
    :data:`w4r.platform.tenancy.GLOBAL_TABLES_WITH_SECTION_ID`.
    ``section_id`` defaults to the bound section (:data:`CURRENT_SECTION_SQL`).
    """

    __abstract__ = True

    # The default is the section the transaction is bound to, so code that inserts a
    # tenant-owned row never passes a section id by hand.
    section_id: Mapped[UUID] = mapped_column(
        ForeignKey("sections.id", ondelete="RESTRICT"),
        primary_key=True,
        server_default=text(CURRENT_SECTION_SQL),
        sort_order=-100,  # first column, so it leads the primary key
    )
