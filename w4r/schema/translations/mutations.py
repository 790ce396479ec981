"""Translation mutations: a section's own (section staff) or the IS's official (IS admins)."""

from __future__ import annotations

from uuid import UUID

import strawberry

from w4r.cases.models import Case
from w4r.cases.service import CaseService
from w4r.platform.errors import InvalidInputError, ProblemCode
from w4r.schema.cases.inputs import CaseTranslationPublishInput, CaseTranslationUpsertInput
from w4r.schema.context import Info
from w4r.schema.errors import UserError, run_mutation
from w4r.schema.translations.types import CaseTranslationNode, translation_node
from w4r.translations.repository import TextRepository
from w4r.translations.service import Translation, TranslationService


@strawberry.type
class CaseTranslationUpsertPayload:
    translation: CaseTranslationNode | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CaseTranslationPublishPayload:
    translation: CaseTranslationNode | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


def _service(info: Info) -> TranslationService:
    section = info.context.section
    return TranslationService(
        info.context.session,
        info.context.binding,
        section_languages=() if section is None else section.languages,
    )


async def _case(info: Info, case_id: UUID) -> Case:
    """The case to translate: sections see published cases only."""
    service = CaseService(info.context.session)
    case = await service.get(case_id, include_drafts=info.context.can_see_drafts)
    if case is None:
        raise InvalidInputError.one("caseId", ProblemCode.NOT_FOUND, f"There is no case {case_id}.")
    return case


async def _node(info: Info, translation: Translation, case: Case) -> CaseTranslationNode:
    source = await TextRepository(info.context.session).source_text(case.id)
    return translation_node(translation, case, source)


@strawberry.type
class TranslationMutations:
    @strawberry.mutation(
        description="Write a case's translation as a draft, made from the current source "
        "text: the section's own at its endpoint, the IS's official one in the global scope."
    )
    async def case_translation_upsert(
        self,
        info: Info,
        input: CaseTranslationUpsertInput,  # noqa: A002
    ) -> CaseTranslationUpsertPayload:
        service = _service(info)

        async def work() -> CaseTranslationNode:
            case = await _case(info, input.case_id)
            translation = await service.upsert(
                case,
                input.language,
                input.text.to_draft(),
                is_machine_translated=input.is_machine_translated,
            )
            return await _node(info, translation, case)

        outcome = await run_mutation(info, work)
        if isinstance(outcome, list):
            return CaseTranslationUpsertPayload(errors=outcome)
        return CaseTranslationUpsertPayload(translation=outcome)

    @strawberry.mutation(description="Publish a translation: readers are served it from now on.")
    async def case_translation_publish(
        self,
        info: Info,
        input: CaseTranslationPublishInput,  # noqa: A002
    ) -> CaseTranslationPublishPayload:
        service = _service(info)

        async def work() -> CaseTranslationNode:
            case = await _case(info, input.case_id)
            return await _node(info, await service.publish(case, input.language), case)

        outcome = await run_mutation(info, work)
        if isinstance(outcome, list):
            return CaseTranslationPublishPayload(errors=outcome)
        return CaseTranslationPublishPayload(translation=outcome)
