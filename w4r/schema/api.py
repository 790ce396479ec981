"""The root schema and its guards."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import (
    ASTValidationRule,
    FieldNode,
    GraphQLError,
    ValidationRule,
    get_named_type,
    is_introspection_type,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
    max_aliases,
    query_depth_limiter,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext
from strawberry.utils.logging import StrawberryLogger

from w4r.platform.auth import Role
from w4r.schema.abuse import AbuseMutations, AbuseQueries
from w4r.schema.actions.mutations import ActionMutations
from w4r.schema.actions.queries import ActionQueries
from w4r.schema.apikeys.mutations import ApiKeyMutations
from w4r.schema.apikeys.queries import ApiKeyQueries
from w4r.schema.audit.mutations import audit_mutations
from w4r.schema.audit.queries import AuditQueries
from w4r.schema.campaigns.mutations import CampaignMutations
from w4r.schema.campaigns.queries import CampaignQueries
from w4r.schema.cases.mutations import CaseMutations
from w4r.schema.cases.queries import CaseQueries
from w4r.schema.cost import cost_extension
from w4r.schema.errors import W4RMaskErrors, should_mask_error
from w4r.schema.events.mutations import EventMutations
from w4r.schema.events.queries import EventQueries
from w4r.schema.execution import LeafListExecutionContext
from w4r.schema.federation import FEDERATION_VERSION, FederationQueries, NoSubgraphSdlRule
from w4r.schema.permissions import apply_permission_matrix
from w4r.schema.scalars import SCALAR_OVERRIDES
from w4r.schema.supporters.mutations import SupporterMutations
from w4r.schema.supporters.queries import SupporterQueries
from w4r.schema.telemetry import OperationTelemetry
from w4r.schema.tenants.mutations import TenantMutations
from w4r.schema.tenants.queries import TenantQueries
from w4r.schema.totals.queries import TotalsQueries, TotalsSubscriptions
from w4r.schema.translations.mutations import TranslationMutations
from w4r.schema.webhooks.mutations import WebhookMutations
from w4r.schema.webhooks.queries import WebhookQueries
from w4r.settings import Access, Settings

STAFF_ROLES: frozenset[Role] = frozenset(
    {Role.IS_ADMIN, Role.IS_ANALYST, Role.SECTION_ADMIN, Role.SECTION_EDITOR}
)
"""The callers a ``staff`` setting means: section and IS staff, with a bearer token."""


@strawberry.type
class Query(
    TenantQueries,
    CampaignQueries,
    CaseQueries,
    ActionQueries,
    TotalsQueries,
    EventQueries,
    ApiKeyQueries,
    AbuseQueries,
    AuditQueries,
    SupporterQueries,
    FederationQueries,
    WebhookQueries,
):
    pass


@strawberry.type
class Mutation(
    TenantMutations,
    CampaignMutations,
    CaseMutations,
    TranslationMutations,
    ActionMutations,
    EventMutations,
    ApiKeyMutations,
    AbuseMutations,
    SupporterMutations,
    WebhookMutations,
):
    pass


@strawberry.type
class Subscription(TotalsSubscriptions):
    pass


class StaffOnlyIntrospectionRule(ValidationRule):
    """graphql-core's NoSchemaIntrospectionCustomRule, refusing with the fix where the
    schema is answered to staff callers (``W4R_INTROSPECTION=staff``)."""

    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        named = get_named_type(self.context.get_type())
        if named and is_introspection_type(named):
            self.report_error(
                GraphQLError(
                    f"Introspection ('{node.name.value}') is answered to section and IS staff "
                    "only: send a staff token as `Authorization: Bearer <token>` (in "
                    "GraphiQL, in the Headers pane).",
                    node,
                )
            )


@dataclass(frozen=True, slots=True)
class GuardRules:
    """Validation rules built once per schema: for callers who may see the schema and for
    those who may not (the same tuple unless introspection is ``staff``).

    strawberry's QueryDepthLimiter and MaxAliasesLimiter build a new rule class per
    instance; constructed per request, those classes would never be equal and the
    ValidationCache would never hit. Built once here, each tuple holds the same classes on
    every request and validation is cached by document and tuple, so a staff caller's
    answer is never served to another caller.
    """

    schema_visible: tuple[type[ASTValidationRule], ...]
    schema_hidden: tuple[type[ASTValidationRule], ...]
    access: Access

    def sees_schema(self, context: object) -> bool:
        """Whether the caller of ``context`` (w4r's Context; None when the schema is
        executed directly) may introspect and gets field suggestions."""
        if self.access != "staff":
            return self.access == "on"
        principal = getattr(context, "principal", None)
        return principal is not None and principal.role in STAFF_ROLES


def guard_rules(settings: Settings) -> GuardRules:
    limits: tuple[type[ASTValidationRule], ...] = (
        query_depth_limiter.create_validator(settings.max_query_depth, None, None),
        max_aliases.create_validator(settings.max_aliases),
    )
    access = settings.introspection_access
    refusal = StaffOnlyIntrospectionRule if access == "staff" else NoSchemaIntrospectionCustomRule
    hidden = (*limits, refusal, NoSubgraphSdlRule)
    return GuardRules(limits, hidden, access)


class AddGuardRules(SchemaExtension):
    """Adds the guard rules the caller gets (strawberry's AddValidationRules, per caller)."""

    def __init__(self, rules: GuardRules) -> None:
        self.rules = rules

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        chosen = (
            self.rules.schema_visible
            if self.rules.sees_schema(context)
            else self.rules.schema_hidden
        )
        self.execution_context.validation_rules = self.execution_context.validation_rules + chosen
        yield


def build_extensions(
    settings: Settings, rules: GuardRules | None = None
) -> list[Callable[[], SchemaExtension]]:
    """Extension factories: every request gets fresh instances (caches are shared)."""
    rules = rules or guard_rules(settings)
    cache_size = settings.document_cache_size or None
    return [
        functools.partial(MaxTokensLimiter, max_token_count=settings.max_tokens),
        functools.partial(AddGuardRules, rules),
        functools.partial(ParserCache, maxsize=cache_size),
        functools.partial(ValidationCache, maxsize=cache_size),
        OperationTelemetry,
        cost_extension(settings),
        functools.partial(W4RMaskErrors, should_mask_error=should_mask_error),
    ]


class W4RSchema(strawberry.federation.Schema):
    """An Apollo Federation 2 subgraph (w4r.schema.federation) with w4r's error policy.

    Field suggestions follow introspection, per caller: strawberry's own switch
    (``disable_field_suggestions``) is for every caller alike, so it stays off and
    ``process_errors`` strips them for the callers who may not see the schema."""

    def __init__(self, *args: Any, guard: GuardRules, **options: Any) -> None:
        super().__init__(*args, **options)
        self.guard = guard

    @staticmethod
    def remove_field_suggestion(error: GraphQLError) -> None:
        """With suggestions off, strip every "Did you mean …" (types, arguments, input
        fields, enum values, not only fields): they would name the hidden schema."""
        if "Did you mean" in error.message:
            error.message = error.message.split("Did you mean")[0].strip()

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log unexpected errors only: refusals and user errors are answers, not faults."""
        context = None if execution_context is None else execution_context.context
        if not self.guard.sees_schema(context):
            for error in errors:
                self.remove_field_suggestion(error)
        for error in errors:
            if should_mask_error(error):
                StrawberryLogger.error(error, execution_context)


def build_schema(settings: Settings) -> strawberry.Schema:
    """The schema, with the permission matrix and the audit of mutations attached; raises
    PermissionMatrixError when an operation has no rule in the matrix."""
    apply_permission_matrix(Query, Mutation, Subscription)
    audit_mutations(Mutation)
    guard = guard_rules(settings)
    return W4RSchema(
        guard=guard,
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=build_extensions(settings, guard),
        federation_version=FEDERATION_VERSION,
        scalar_overrides=SCALAR_OVERRIDES,
        execution_context_class=LeafListExecutionContext,
        config=StrawberryConfig(
            batching_config=None,
        ),
    )
