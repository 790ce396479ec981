"""Look-ahead for a page of cases: load what the page's nodes select before they resolve.

Each field of a case (its text, targets, recipients, outcomes, campaigns, totals) is read
through a per-request DataLoader, one statement for the whole page. Resolved one by one,
each of those fields is a coroutine per case waiting for its batch. The list field instead
looks at what the query selects under ``edges { node { … } }`` (fragments included), loads
all of it for the page's cases at once, and the fields then complete at once from what the
loaders hold (:func:`w4r.schema.cases.types.settled`). Nothing else changes: the same
statements, the same answers; a field the look-ahead does not foresee (a directive, an
invalid argument) loads itself as before and reports its own error at its own path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterator, Sequence
from typing import Any

from graphql import GraphQLError
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from w4r.campaigns.models import Campaign
from w4r.schema.cases.types import CaseNode, requested_languages, servable_languages
from w4r.schema.context import Info


def fields_of(selections: Sequence[Selection]) -> Iterator[SelectedField]:
    """The fields of a selection set, the fields of its fragments included."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        elif isinstance(selection, FragmentSpread | InlineFragment):
            yield from fields_of(selection.selections)


def node_fields(info: Info) -> list[SelectedField]:
    """The fields selected on the nodes of the connection being resolved."""
    selected: list[SelectedField] = []
    for connection in info.selected_fields:
        for edges in fields_of(connection.selections):
            if edges.name != "edges":
                continue
            for node in fields_of(edges.selections):
                if node.name == "node":
                    selected.extend(fields_of(node.selections))
    return selected


async def prefetch_cases(info: Info, nodes: Sequence[CaseNode], campaign: Campaign | None) -> None:
    """Load every selected field of ``nodes`` (the page of ``campaign``'s list, or of all
    cases) in one batch per field."""
    if not nodes:
        return
    context = info.context
    loaders = context.case_loaders
    ids = [node.id for node in nodes]
    loads: list[Awaitable[Any]] = []
    for field in node_fields(info):
        match field.name:
            case "appealTargets":
                loads.append(loaders.appeal_targets_by_case_id.load_many(ids))
            case "solidarityRecipients":
                loads.append(loaders.solidarity_recipients_by_case_id.load_many(ids))
            case "outcomes":
                loads.append(loaders.outcomes_by_case_id.load_many(ids))
            case "campaigns":
                loads.append(loaders.campaigns_by_case_id.load_many(ids))
            case "text":
                try:
                    requested = requested_languages(context, field.arguments.get("language"))
                except GraphQLError:
                    continue  # the field reports its bad argument itself
                keys = [
                    (node.id, servable_languages(requested, node.source_language)) for node in nodes
                ]
                loads.append(loaders.servable_is_texts.load_many(keys))
                if context.section is not None:
                    loads.append(loaders.servable_section_translations.load_many(keys))
            case "totals":
                year = field.arguments.get("campaign")
                if year is None:
                    campaign_id = None
                elif campaign is not None and year == campaign.year:
                    campaign_id = campaign.id
                else:
                    continue  # another campaign: the field checks it exists and is visible
                keys_of_totals = [(campaign_id, case_id) for case_id in ids]
                loads.append(loaders.totals_by_campaign_and_case_id.load_many(keys_of_totals))
    if loads:
        await asyncio.gather(*loads)
