"""The root schema and its guards."""

from __future__ import annotations

import functools
from collections.abc import Callable

import strawberry
from graphql import ASTValidationRule, GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
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
from w4r.settings import Settings


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


def guard_rules(settings: Settings) -> list[type[ASTValidationRule]]:
    """Validation rules built once per schema.

    strawberry's QueryDepthLimiter and MaxAliasesLimiter build a new rule class per
    instance; constructed per request, those classes would never be equal and the
    ValidationCache would never hit. Built once here, the rule tuple is the same object on
    every request and validation is cached by document.
    """
    rules: list[type[ASTValidationRule]] = [
        query_depth_limiter.create_validator(settings.max_query_depth, None, None),
        max_aliases.create_validator(settings.max_aliases),
    ]
    if not settings.introspection_enabled:
        rules.extend((NoSchemaIntrospectionCustomRule, NoSubgraphSdlRule))
    return rules


def build_extensions(settings: Settings) -> list[Callable[[], SchemaExtension]]:
    """Extension factories: every request gets fresh instances (caches are shared)."""
    rules = guard_rules(settings)
    cache_size = settings.document_cache_size or None
    return [
        functools.partial(MaxTokensLimiter, max_token_count=settings.max_tokens),
        functools.partial(AddValidationRules, rules),
        functools.partial(ParserCache, maxsize=cache_size),
        functools.partial(ValidationCache, maxsize=cache_size),
        OperationTelemetry,
        cost_extension(settings),
        functools.partial(W4RMaskErrors, should_mask_error=should_mask_error),
    ]


class W4RSchema(strawberry.federation.Schema):
    """An Apollo Federation 2 subgraph (w4r.schema.federation) with w4r's error policy."""

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
        for error in errors:
            if should_mask_error(error):
                StrawberryLogger.error(error, execution_context)


def build_schema(settings: Settings) -> strawberry.Schema:
    """The schema, with the permission matrix and the audit of mutations attached; raises
    PermissionMatrixError when an operation has no rule in the matrix."""
    apply_permission_matrix(Query, Mutation, Subscription)
    audit_mutations(Mutation)
    return W4RSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=build_extensions(settings),
        federation_version=FEDERATION_VERSION,
        scalar_overrides=SCALAR_OVERRIDES,
        execution_context_class=LeafListExecutionContext,
        config=StrawberryConfig(
            disable_field_suggestions=not settings.introspection_enabled,
            batching_config=None,
        ),
    )
