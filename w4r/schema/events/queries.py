"""Finding events: by place (nearest first, or by start), time, case, format and city."""

from __future__ import annotations

import enum
import math
from datetime import datetime
from uuid import UUID

import strawberry

from w4r.events.drafts import EventSearch
from w4r.events.geo import InvalidPoint, check_point, check_radius
from w4r.events.repository import EventRepository
from w4r.schema.context import Info
from w4r.schema.errors import bad_user_input
from w4r.schema.events.inputs import EventFilter
from w4r.schema.events.mutations import event_service
from w4r.schema.events.types import EventNode
from w4r.schema.pagination import (
    Connection,
    build_connection,
    decode_cursor,
    invalid_cursor,
    page_size,
)

EVENT_CURSOR = "Event"


@strawberry.enum(name="EventOrder")
class EventOrder(enum.Enum):
    START = "start"
    DISTANCE = "distance"


def _search(filter: EventFilter | None, order: EventOrder) -> EventSearch:  # noqa: A002
    near = None if filter is None else filter.near
    if near is not None:
        try:
            check_point(near.latitude, near.longitude)
            check_radius(near.radius_km)
        except (InvalidPoint, ValueError) as error:
            raise bad_user_input(str(error)) from error
    elif order is EventOrder.DISTANCE:
        raise bad_user_input("Order by DISTANCE needs `filter.near`.")
    if filter is not None and filter.from_ and filter.to and filter.to < filter.from_:
        raise bad_user_input("`to` is before `from`.")
    return EventSearch(
        latitude=None if near is None else near.latitude,
        longitude=None if near is None else near.longitude,
        radius_km=None if near is None else near.radius_km,
        starts_from=None if filter is None else filter.from_,
        starts_to=None if filter is None else filter.to,
        case_id=None if filter is None else filter.case,
        format=None if filter is None else filter.format,
        city=None if filter is None or not filter.city else filter.city.strip(),
        by_distance=order is EventOrder.DISTANCE,
    )


@strawberry.type
class EventQueries:
    @strawberry.field(
        description="This section's events: published ones for everyone, all for its staff, "
        "and a host's own. Nearest first with `orderBy: DISTANCE`."
    )
    async def events(
        self,
        info: Info,
        filter: EventFilter | None = None,  # noqa: A002
        order_by: EventOrder = EventOrder.START,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[EventNode]:
        limit = page_size(first)
        search = _search(filter, order_by)
        if info.context.section is None:
            raise bad_user_input("Events belong to a section: ask /s/<code>/graphql.")
        service = event_service(info)
        cursor = None
        if after is not None:
            raw, raw_id = decode_cursor(EVENT_CURSOR, after, 2)
            try:
                key: float | datetime = (
                    float(raw) if search.by_distance else datetime.fromisoformat(raw)
                )
                cursor = (key, UUID(raw_id))
            except ValueError as error:
                raise invalid_cursor() from error
            if isinstance(key, float) and not math.isfinite(key):
                raise invalid_cursor()
        principal = info.context.principal
        rows = await EventRepository(info.context.session).search(
            search,
            statuses=service.visible_statuses(),
            host_subject=principal.subject if principal.role.value == "event-host" else None,
            after=cursor,
            limit=limit + 1,
            exact_private_points=service.is_staff,
        )
        return build_connection(
            rows,
            limit,
            kind=EVENT_CURSOR,
            key=lambda row: (
                repr(row[1]) if search.by_distance else row[0].starts_at.isoformat(),
                str(row[0].id),
            ),
            node=lambda row: EventNode.from_model(row[0], info, row[1]),
        )

    @strawberry.field(description="One event of this section.")
    async def event(self, info: Info, id: UUID) -> EventNode | None:  # noqa: A002
        if info.context.section is None:
            return None
        found = await event_service(info).get(id)
        return None if found is None else EventNode.from_model(found, info)
