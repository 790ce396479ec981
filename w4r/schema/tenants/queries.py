"""Section queries."""

from __future__ import annotations

import re

import strawberry

from w4r.schema.context import Info
from w4r.schema.pagination import (
    Connection,
    build_connection,
    decode_cursor,
    invalid_cursor,
    page_size,
)
from w4r.schema.tenants.types import SectionNode, Viewer
from w4r.tenants.models import SECTION_CODE_PATTERN
from w4r.tenants.service import SectionService

SECTION_CURSOR = "Section"
SECTION_CODE = re.compile(SECTION_CODE_PATTERN)


@strawberry.type
class TenantQueries:
    @strawberry.field(description="The section this request is for; null in the global scope.")
    async def section(self, info: Info) -> SectionNode | None:
        current = info.context.section
        if current is None:
            return None
        section = await SectionService(info.context.session).get(current.id)
        return None if section is None else SectionNode.from_model(section)

    @strawberry.field(
        description="Every section, ordered by code (International Secretariat staff)."
    )
    async def sections(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[SectionNode]:
        limit = page_size(first)
        after_code = None
        if after is not None:
            after_code = decode_cursor(SECTION_CURSOR, after, 1)[0]
            if not SECTION_CODE.match(after_code):
                raise invalid_cursor()
        sections = await SectionService(info.context.session).page(
            after_code=after_code, limit=limit + 1
        )
        return build_connection(
            sections,
            limit,
            kind=SECTION_CURSOR,
            key=lambda section: (section.code,),
            node=SectionNode.from_model,
        )

    @strawberry.field(description="Who is calling, as the server sees it.")
    def viewer(self, info: Info) -> Viewer:
        principal = info.context.principal
        return Viewer(
            role=principal.role,
            subject=principal.subject,
            section_code=principal.section_code,
        )
