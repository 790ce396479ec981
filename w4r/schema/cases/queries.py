"""Case queries: the public projection for everyone, drafts for IS staff."""

from __future__ import annotations

from uuid import UUID

import strawberry
from graphql import GraphQLError

from w4r.campaigns.service import CampaignService
from w4r.cases.repository import CaseFilterSpec, CaseRow
from w4r.cases.service import CaseService
from w4r.platform.languages import normalize_country_code
from w4r.schema.cases.inputs import CaseFilter
from w4r.schema.cases.prefetch import prefetch_cases
from w4r.schema.cases.types import CaseNode
from w4r.schema.context import Info
from w4r.schema.errors import bad_user_input
from w4r.schema.pagination import (
    Connection,
    build_connection,
    cursor_integer,
    decode_cursor,
    page_size,
)

CASE_CURSOR = "Case"
CAMPAIGN_CASE_CURSOR = "CampaignCase"


def _spec(filter: CaseFilter | None) -> CaseFilterSpec:  # noqa: A002
    if filter is None:
        return CaseFilterSpec()
    country = None
    if filter.country is not None:
        try:
            country = normalize_country_code(filter.country)
        except ValueError as error:
            raise bad_user_input(str(error)) from error
    return CaseFilterSpec(
        country=country,
        theme=None if filter.theme is None else str(filter.theme),
        status=filter.status,
        has_outcome=filter.has_outcome,
    )


def _after(after: str | None, *, by_campaign: bool) -> tuple[int, str] | str | None:
    if after is None:
        return None
    if by_campaign:
        position, slug = decode_cursor(CAMPAIGN_CASE_CURSOR, after, 2)
        return cursor_integer(position, minimum=0, maximum=2**31 - 1), slug
    return decode_cursor(CASE_CURSOR, after, 1)[0]


@strawberry.type
class CaseQueries:
    @strawberry.field(
        description="Cases, in a campaign's order when `campaign` (a year) is given, else by "
        "slug. Published cases only, except for IS staff."
    )
    async def cases(
        self,
        info: Info,
        campaign: int | None = None,
        filter: CaseFilter | None = None,  # noqa: A002
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[CaseNode]:
        limit = page_size(first)
        spec = _spec(filter)
        include_drafts = info.context.can_see_drafts
        chosen = None
        if campaign is not None:
            chosen = await CampaignService(info.context.session).get(
                campaign, include_drafts=include_drafts
            )
            if chosen is None:
                raise GraphQLError(
                    f"There is no {campaign} campaign.", extensions={"code": "NOT_FOUND"}
                )
            # The cases' `totals(campaign:)` and `campaigns` ask for the same year.
            info.context.case_loaders.campaigns_by_year.prime(campaign, chosen)
        rows = await CaseService(info.context.session).page(
            campaign=chosen,
            spec=spec,
            include_drafts=include_drafts,
            after=_after(after, by_campaign=chosen is not None),
            limit=limit + 1,
        )

        def key(row: CaseRow) -> tuple[str, ...]:
            if chosen is None:
                return (row.case.slug,)
            return (str(row.position), row.case.slug)

        connection = build_connection(
            rows,
            limit,
            kind=CASE_CURSOR if chosen is None else CAMPAIGN_CASE_CURSOR,
            key=key,
            node=lambda row: CaseNode.from_model(row.case),
        )
        await prefetch_cases(info, [edge.node for edge in connection.edges], chosen)
        return connection

    @strawberry.field(description="One case by id or by slug (give exactly one).")
    async def case(
        self,
        info: Info,
        id: UUID | None = None,  # noqa: A002
        slug: str | None = None,
    ) -> CaseNode | None:
        if (id is None) == (slug is None):
            raise bad_user_input("Give exactly one of `id` and `slug`.")
        service = CaseService(info.context.session)
        include_drafts = info.context.can_see_drafts
        if id is not None:
            found = await service.get(id, include_drafts=include_drafts)
        else:
            found = await service.get_by_slug(slug or "", include_drafts=include_drafts)
        return None if found is None else CaseNode.from_model(found)
