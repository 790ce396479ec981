"""API key mutations: `apiKeyCreate` (the only answer that carries the key) and
`apiKeyRevoke`."""

from __future__ import annotations

import strawberry

from w4r.apikeys.models import ApiKey
from w4r.apikeys.service import ApiKeyDraft, ApiKeyService, CreatedApiKey
from w4r.schema.apikeys.inputs import ApiKeyCreateInput, ApiKeyRevokeInput
from w4r.schema.apikeys.types import ApiKeyNode, api_key_node
from w4r.schema.context import Info
from w4r.schema.errors import UserError, run_mutation


@strawberry.type
class ApiKeyCreatePayload:
    api_key: ApiKeyNode | None = None
    key: str | None = strawberry.field(
        default=None,
        description="The key to send as 'Authorization: Bearer <key>'. Shown this once: only "
        "its hash is stored, so copy it now.",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ApiKeyRevokePayload:
    api_key: ApiKeyNode | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


def _service(info: Info) -> ApiKeyService:
    return ApiKeyService(info.context.session, info.context.binding, info.context.principal)


@strawberry.type
class ApiKeyMutations:
    @strawberry.mutation(
        description="Create a key for this request's scope: a section's key at its endpoint, "
        "a key of the IS (cases:read only) in the global scope (section admins, IS admins).",
    )
    async def api_key_create(self, info: Info, input: ApiKeyCreateInput) -> ApiKeyCreatePayload:  # noqa: A002
        draft = ApiKeyDraft(name=input.name, scopes=input.scopes, expires_at=input.expires_at)

        async def work() -> CreatedApiKey:
            return await _service(info).create(draft)

        outcome = await run_mutation(info, work)
        if isinstance(outcome, list):
            return ApiKeyCreatePayload(errors=outcome)
        return ApiKeyCreatePayload(api_key=api_key_node(info, outcome.api_key), key=outcome.secret)

    @strawberry.mutation(
        description="Revoke a key of this request's scope: it stops working at once on this "
        "server and within W4R_API_KEY_CACHE_SECONDS on the others (section admins, IS admins).",
    )
    async def api_key_revoke(self, info: Info, input: ApiKeyRevokeInput) -> ApiKeyRevokePayload:  # noqa: A002
        async def work() -> ApiKey:
            return await _service(info).revoke(input.id)

        outcome = await run_mutation(info, work)
        if isinstance(outcome, list):
            return ApiKeyRevokePayload(errors=outcome)
        authenticator, key_id = info.context.services.api_keys, outcome.id
        info.context.unit_of_work.after_commit(lambda: authenticator.forget(key_id))
        return ApiKeyRevokePayload(api_key=api_key_node(info, outcome))
