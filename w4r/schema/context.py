"""The typed per-request context and the per-request DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeAlias

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection
from starlette.responses import Response

from w4r.apikeys.service import ApiKeyAuthenticator
from w4r.audit.recorder import AuditRecorder
from w4r.platform.auth import Principal, TokenVerifier
from w4r.platform.database import Database, TenantBinding, UnitOfWork
from w4r.platform.errors import InvalidInputError, ProblemCode
from w4r.platform.negotiation import accepted_languages
from w4r.platform.ratelimit import Budgets
from w4r.schema.cases.loaders import CaseLoaders
from w4r.schema.events.loaders import EventLoaders
from w4r.schema.tenants.loaders import TenantLoaders
from w4r.settings import Settings
from w4r.supporters.service import SupporterPolicy
from w4r.tenants.registry import SectionRef, SectionRegistry
from w4r.totals.live import TotalsHub
from w4r.webhooks.service import WebhookPolicy


@dataclass(frozen=True, slots=True)
class GraphQLServices:
    """What resolvers may use beyond the request: one instance per application."""

    database: Database
    registry: SectionRegistry
    verifier: TokenVerifier
    hub: TotalsHub
    settings: Settings
    api_keys: ApiKeyAuthenticator
    budgets: Budgets
    supporters: SupporterPolicy
    webhooks: WebhookPolicy


@dataclass
class Context:
    request: HTTPConnection
    principal: Principal
    section: SectionRef | None
    unit_of_work: UnitOfWork
    services: GraphQLServices
    audit: AuditRecorder
    """Records staff mutations and reads of personal data for the audit log: call
    ``audit.personal_data("Type.field", ids)`` where personal data is read."""
    response: Response | None = field(default=None)

    @property
    def registry(self) -> SectionRegistry:
        return self.services.registry

    def require_section(self, what: str) -> SectionRef:
        """The request's section, or an OUT_OF_SCOPE input error saying ``what`` needs one."""
        if self.section is None:
            raise InvalidInputError.one(
                None, ProblemCode.OUT_OF_SCOPE, f"{what}: call this at /s/<code>/graphql."
            )
        return self.section

    @property
    def session(self) -> AsyncSession:
        return self.unit_of_work.session

    @property
    def binding(self) -> TenantBinding:
        return self.unit_of_work.binding

    @cached_property
    def tenant_loaders(self) -> TenantLoaders:
        return TenantLoaders(self.session)

    @cached_property
    def case_loaders(self) -> CaseLoaders:
        return CaseLoaders(self.session)

    @cached_property
    def event_loaders(self) -> EventLoaders:
        return EventLoaders(self.session)

    @cached_property
    def accepted_languages(self) -> list[str]:
        """The request's Accept-Language tags, best first (invalid entries skipped)."""
        return accepted_languages(self.request.headers.get("accept-language"))

    @property
    def can_see_drafts(self) -> bool:
        """Drafts (campaigns, cases) are for International Secretariat staff only."""
        return self.principal.is_international_secretariat


Info: TypeAlias = strawberry.Info[Context, None]
