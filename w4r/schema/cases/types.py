"""GraphQL types of the case record."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from datetime import date, datetime
from typing import TypeVar
from uuid import UUID

import strawberry
from graphql import GraphQLError
from strawberry.dataloader import DataLoader

from w4r.campaigns.models import CampaignStatus
from w4r.cases.models import (
    AppealTarget,
    Case,
    CaseOutcome,
    CaseStatus,
    DatePrecision,
    OutcomeKind,
    SolidarityRecipient,
    SubjectKind,
    Theme,
)
from w4r.platform.languages import normalize_language_tag
from w4r.schema.campaigns.types import CampaignNode
from w4r.schema.context import Context, Info
from w4r.schema.errors import bad_user_input
from w4r.schema.totals.types import CaseHistoricTotalNode, PublicTotals
from w4r.schema.translations.types import (
    CaseTranslationNode,
    ServedCaseText,
    translation_node,
)
from w4r.translations.fallback import TextOrigin, language_chain, resolve
from w4r.translations.models import CaseText
from w4r.translations.repository import ServableText

CaseStatusEnum = strawberry.enum(CaseStatus, name="CaseStatus")
SubjectKindEnum = strawberry.enum(SubjectKind, name="SubjectKind")
ThemeEnum = strawberry.enum(Theme, name="Theme")
OutcomeKindEnum = strawberry.enum(OutcomeKind, name="OutcomeKind")
DatePrecisionEnum = strawberry.enum(DatePrecision, name="DatePrecision")


Key = TypeVar("Key", bound=Hashable)
Loaded = TypeVar("Loaded")
Result = TypeVar("Result")


def peek(loader: DataLoader[Key, Loaded], key: Key) -> tuple[Loaded] | None:
    """What ``loader`` already holds for ``key`` (in a 1-tuple), or None when it has not
    loaded it (or failed to)."""
    future = loader.cache_map.get(key)
    if future is None or not future.done() or future.cancelled() or future.exception():
        return None
    return (future.result(),)


def settled(
    loader: DataLoader[Key, Loaded], key: Key, then: Callable[[Loaded], Result]
) -> Result | Awaitable[Result]:
    """``then`` of what ``loader`` holds for ``key``: at once when it is already loaded (a
    page of cases loads its fields up front: w4r.schema.cases.prefetch), so the field
    completes without a coroutine; else an awaitable that loads it."""
    held = peek(loader, key)
    if held is not None:
        return then(held[0])

    async def load() -> Result:
        return then(await loader.load(key))

    return load()


def requested_languages(context: Context, language: str | None) -> list[str]:
    """The languages a reader asks a case's text in, by preference: the argument, else the
    request's Accept-Language, else the section's default language (else none)."""
    if language is not None:
        try:
            return [normalize_language_tag(language)]
        except ValueError as error:
            raise bad_user_input(str(error)) from error
    if context.accepted_languages:
        return context.accepted_languages
    if context.section is not None and context.section.default_language:
        return [context.section.default_language]
    return []


def servable_languages(requested: list[str], source_language: str) -> tuple[str, ...]:
    """What the fallback chain can serve for ``requested``: each language and its parents,
    then the source language; only these texts are read."""
    chains = (tag for wanted in requested for tag in language_chain(wanted))
    return tuple(dict.fromkeys([*chains, source_language]))


def visible(case: Case, info: Info) -> bool:
    """Drafts are for International Secretariat staff only."""
    return case.status is CaseStatus.PUBLISHED or info.context.can_see_drafts


@strawberry.type(name="AppealTarget", description="An authority to write to.")
class AppealTargetNode:
    name: str
    title: str | None
    organisation: str | None
    postal_address: str | None
    email: str | None
    salutation: str | None
    letter_language: str | None = strawberry.field(
        description="The language a letter to this target should be written in (BCP 47)."
    )

    @classmethod
    def from_model(cls, target: AppealTarget) -> AppealTargetNode:
        return cls(
            name=target.name,
            title=target.title,
            organisation=target.organisation,
            postal_address=target.postal_address,
            email=target.email,
            salutation=target.salutation,
            letter_language=target.letter_language,
        )


@strawberry.type(name="SolidarityRecipient", description="Who receives cards of support.")
class SolidarityRecipientNode:
    name: str
    postal_address: str | None
    guidance: str | None

    @classmethod
    def from_model(cls, recipient: SolidarityRecipient) -> SolidarityRecipientNode:
        return cls(
            name=recipient.name,
            postal_address=recipient.postal_address,
            guidance=recipient.guidance,
        )


@strawberry.type(name="CaseOutcome", description="A step in the case's outcomes timeline.")
class CaseOutcomeNode:
    id: UUID
    occurred_on: date = strawberry.field(
        description="The date; only as precise as datePrecision (the 1st of a month or year)."
    )
    date_precision: DatePrecisionEnum  # type: ignore[valid-type]
    kind: OutcomeKindEnum  # type: ignore[valid-type]
    description: str = strawberry.field(description="In the case's source language.")

    @classmethod
    def from_model(cls, outcome: CaseOutcome) -> CaseOutcomeNode:
        return cls(
            id=outcome.id,
            occurred_on=outcome.occurred_on,
            date_precision=outcome.date_precision,
            kind=outcome.kind,
            description=outcome.description,
        )


@strawberry.type(name="CaseImage")
class CaseImage:
    url: str
    credit: str | None


@strawberry.federation.type(
    name="Case",
    keys=["id", "slug"],
    description="A person or group the campaign writes for.",
)
class CaseNode:
    id: UUID
    slug: str
    subject_kind: SubjectKindEnum  # type: ignore[valid-type]
    subject_name: str = strawberry.field(description="The person or the group.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2.")
    themes: list[ThemeEnum]  # type: ignore[valid-type]
    source_language: str
    source_revision: int = strawberry.field(
        description="Goes up each time the IS changes the source text."
    )
    status: CaseStatusEnum  # type: ignore[valid-type]
    published_at: datetime | None
    image: CaseImage | None
    _model: strawberry.Private[Case]

    @classmethod
    def from_model(cls, case: Case) -> CaseNode:
        return cls(
            id=case.id,
            slug=case.slug,
            subject_kind=case.subject_kind,
            subject_name=case.subject_name,
            country=case.country,
            themes=[Theme(theme) for theme in case.themes],
            source_language=case.source_language,
            source_revision=case.source_revision,
            status=case.status,
            published_at=case.published_at,
            image=None
            if case.image_url is None
            else CaseImage(url=case.image_url, credit=case.image_credit),
            _model=case,
        )

    @classmethod
    async def resolve_reference(
        cls,
        info: Info,
        id: UUID | None = None,  # noqa: A002
        slug: str | None = None,
    ) -> CaseNode | None:
        """The case an entity representation names (by id or by exact slug), as `case`
        would show it to this caller: drafts resolve for IS staff only, else to null."""
        loaders = info.context.case_loaders
        if id is not None:
            case = await loaders.cases_by_id.load(id)
        else:
            case = await loaders.cases_by_slug.load(slug or "")
        return None if case is None or not visible(case, info) else cls.from_model(case)

    @strawberry.field(description="The campaigns the case featured in, oldest first.")
    async def campaigns(self, info: Info) -> list[CampaignNode]:
        campaigns = await info.context.case_loaders.campaigns_by_case_id.load(self.id)
        return [
            CampaignNode.from_model(campaign)
            for campaign in campaigns
            if campaign.status is not CampaignStatus.DRAFT or info.context.can_see_drafts
        ]

    @strawberry.field(graphql_type=list[AppealTargetNode])
    def appeal_targets(
        self, info: Info
    ) -> list[AppealTargetNode] | Awaitable[list[AppealTargetNode]]:
        return settled(
            info.context.case_loaders.appeal_targets_by_case_id,
            self.id,
            lambda targets: [AppealTargetNode.from_model(target) for target in targets],
        )

    @strawberry.field(graphql_type=list[SolidarityRecipientNode])
    def solidarity_recipients(
        self, info: Info
    ) -> list[SolidarityRecipientNode] | Awaitable[list[SolidarityRecipientNode]]:
        return settled(
            info.context.case_loaders.solidarity_recipients_by_case_id,
            self.id,
            lambda items: [SolidarityRecipientNode.from_model(item) for item in items],
        )

    @strawberry.field(
        description="The outcomes timeline, oldest first.", graphql_type=list[CaseOutcomeNode]
    )
    def outcomes(self, info: Info) -> list[CaseOutcomeNode] | Awaitable[list[CaseOutcomeNode]]:
        return settled(
            info.context.case_loaders.outcomes_by_case_id,
            self.id,
            lambda outcomes: [CaseOutcomeNode.from_model(outcome) for outcome in outcomes],
        )

    @strawberry.field(
        description="The case's text in one language, with fallbacks: the section's "
        "translation, the IS translation, the parent language (fr-CA -> fr), then the IS "
        "source. The language is the argument, else the request's Accept-Language, else the "
        "section's default language.",
        graphql_type=ServedCaseText,
    )
    def text(
        self, info: Info, language: str | None = None
    ) -> ServedCaseText | Awaitable[ServedCaseText]:
        context = info.context
        requested = requested_languages(context, language)
        key = (self.id, servable_languages(requested, self.source_language))
        loaders = context.case_loaders

        def serve(is_texts: list[ServableText], own: list[ServableText]) -> ServedCaseText:
            by_language = {text.language: text for text in is_texts}
            served = resolve(
                requested,
                section_texts={text.language: text for text in own},
                is_texts=by_language,
                source=by_language[self.source_language],
                source_language=self.source_language,
            )
            return ServedCaseText.from_served(served, self._model)

        in_section = context.section is not None
        is_texts = peek(loaders.servable_is_texts, key)
        own = peek(loaders.servable_section_translations, key) if in_section else ([],)
        if is_texts is not None and own is not None:
            return serve(is_texts[0], own[0])

        async def load() -> ServedCaseText:
            return serve(
                await loaders.servable_is_texts.load(key),
                await loaders.servable_section_translations.load(key) if in_section else [],
            )

        return load()

    @strawberry.field(
        description="Every language of the case for admins: the IS source and official "
        "translations and, at a section's endpoint, the section's translations, with each of "
        "the section's languages that has none listed as MISSING."
    )
    async def translations(self, info: Info) -> list[CaseTranslationNode]:
        loaders = info.context.case_loaders
        is_texts: list[CaseText] = await loaders.is_texts_by_case_id.load(self.id)
        source = next(text for text in is_texts if text.is_source)
        nodes = [translation_node(text, self._model, source) for text in is_texts]
        section = info.context.section
        if section is not None:
            own = await loaders.section_translations_by_case_id.load(self.id)
            nodes.extend(translation_node(text, self._model, source) for text in own)
            # A language is missing when a reader asking for it would get another language:
            # the section has no translation and no IS text covers it or a parent of it.
            covered = {text.language for text in own} | {text.language for text in is_texts}
            nodes.extend(
                CaseTranslationNode.build(None, language, TextOrigin.SECTION, self._model, source)
                for language in section.languages
                if not covered & set(language_chain(language))
            )
        return nodes

    @strawberry.field(
        description="Actions counted for the case worldwide (every section), in one campaign "
        "(a year) or in all."
    )
    async def totals(self, info: Info, campaign: int | None = None) -> PublicTotals:
        campaign_id = None
        if campaign is not None:
            loaders = info.context.case_loaders
            found = await loaders.campaigns_by_year.load(campaign)
            if found is None or (
                found.status is CampaignStatus.DRAFT and not info.context.can_see_drafts
            ):
                raise GraphQLError(
                    f"There is no {campaign} campaign.", extensions={"code": "NOT_FOUND"}
                )
            campaign_id = found.id
        loader = info.context.case_loaders.totals_by_campaign_and_case_id
        return PublicTotals.from_amounts(await loader.load((campaign_id, self.id)))

    @strawberry.field(description="Totals published for the case before this platform.")
    async def historic_totals(self, info: Info) -> list[CaseHistoricTotalNode]:
        rows = await info.context.case_loaders.historic_totals_by_case_id.load(self.id)
        return [CaseHistoricTotalNode.from_model(row) for row in rows]

    @strawberry.field(description="Notes for IS staff only.")
    def internal_notes(self) -> str | None:
        return self._model.internal_notes
