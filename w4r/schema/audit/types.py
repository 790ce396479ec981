"""GraphQL types of the audit log."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry

from w4r.audit.models import AuditEntry, AuditOutcome

AuditOutcomeEnum = strawberry.enum(AuditOutcome, name="AuditOutcome")


@strawberry.type(name="AuditEntry", description="One audited action: who, what, when, where.")
class AuditEntryNode:
    id: UUID
    occurred_at: datetime
    section_id: UUID | None = strawberry.field(
        description="The section the request was for; null for the global (IS) scope."
    )
    actor_role: str = strawberry.field(description="The caller's role, e.g. 'section-admin'.")
    actor_subject: str | None = strawberry.field(description="The caller's token subject.")
    api_key_id: UUID | None = strawberry.field(description="The API key used, if any.")
    action: str = strawberry.field(
        description="'mutation:<name>', 'read:<Type.field>' or 'export:<kind>'."
    )
    outcome: AuditOutcomeEnum  # type: ignore[valid-type]
    error_codes: list[str] = strawberry.field(
        description="The payload error codes, when the outcome is USER_ERROR."
    )
    target_ids: list[UUID] = strawberry.field(description="The ids acted on or read.")
    client_ip: str | None
    request_id: str = strawberry.field(description="The request's X-Request-ID.")
    user_agent: str | None = strawberry.field(description="Truncated to 256 characters.")

    @classmethod
    def from_model(cls, entry: AuditEntry) -> AuditEntryNode:
        return cls(
            id=entry.id,
            occurred_at=entry.occurred_at,
            section_id=entry.section_id,
            actor_role=entry.actor_role,
            actor_subject=entry.actor_subject,
            api_key_id=entry.api_key_id,
            action=entry.action,
            outcome=AuditOutcome(entry.outcome),
            error_codes=list(entry.error_codes),
            target_ids=list(entry.target_ids),
            client_ip=None if entry.client_ip is None else str(entry.client_ip),
            request_id=entry.request_id,
            user_agent=entry.user_agent,
        )


@strawberry.input(description="Which audit entries to list; every given condition must hold.")
class AuditLogFilter:
    since: datetime | None = strawberry.field(default=None, description="At or after.")
    until: datetime | None = strawberry.field(default=None, description="Strictly before.")
    actor_subject: str | None = None
    action: str | None = strawberry.field(
        default=None, description="Exactly, e.g. 'mutation:sectionMemberAdd'."
    )
