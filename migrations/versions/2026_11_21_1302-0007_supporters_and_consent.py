"""Supporters, consent records, petition signatures and the mail outbox.

Every table is tenant-owned and isolated by row-level security; none opens to the global
scope (a signature reveals a political opinion: special-category data). Sections gain the
``double_opt_in`` setting. The app role may delete supporters (erasure; their consents and
tokens go with them) and outbox mail, and update only the content hash of an idempotency
key (erasure replaces a hash derived from personal data); the ledger stays append-only.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21 13:02:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from w4r.platform.database import APP_ROLE
from w4r.platform.tenancy import tenant_isolation_ddl

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("supporters", "consents", "petition_signatures", "supporter_tokens", "mail_outbox")
GRANTS = {
    "supporters": "SELECT, INSERT, UPDATE, DELETE",
    "consents": "SELECT, INSERT, UPDATE",
    "petition_signatures": "SELECT, INSERT, UPDATE",
    "supporter_tokens": "SELECT, INSERT, UPDATE",
    "mail_outbox": "SELECT, INSERT, UPDATE, DELETE",
}
CONSENT_PURPOSES = ("petition-delivery", "campaign-updates")
CONSENT_METHODS = (
    "online-form",
    "email-link",
    "paper-form",
    "phone",
    "email",
    "in-person",
    "erasure",
)
CHANNELS = ("online", "event", "offline-report", "import", "partner-app")


def _section_id() -> sa.Column[Any]:
    return sa.Column(
        "section_id",
        sa.Uuid(),
        server_default=sa.text("NULLIF(current_setting('w4r.section_id', true), '')::uuid"),
        nullable=False,
    )


def _id() -> sa.Column[Any]:
    return sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False)


def _moment(name: str, *, nullable: bool = True, now: bool = False) -> sa.Column[Any]:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        server_default=sa.text("now()") if now else None,
        nullable=nullable,
    )


def _enum(name: str, values: Sequence[str]) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _section_key(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["section_id"],
        ["sections.id"],
        name=op.f(f"fk_{table}_section_id_sections"),
        ondelete="RESTRICT",
    )


def _supporter_key(table: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["section_id", "supporter_id"],
        ["supporters.section_id", "supporters.id"],
        name=op.f(f"fk_{table}_section_id_supporter_id_supporters"),
        ondelete=ondelete,
    )


def _case_key(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["case_id"], ["cases.id"], name=op.f(f"fk_{table}_case_id_cases"), ondelete="RESTRICT"
    )


def upgrade() -> None:
    op.add_column(
        "sections",
        sa.Column("double_opt_in", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.create_table(
        "supporters",
        _section_id(),
        _id(),
        sa.Column("email_hash", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("country", sa.Text(), nullable=True),
        sa.Column("language", sa.Text(), nullable=True),
        _moment("email_confirmed_at"),
        _moment("updated_at", nullable=False, now=True),
        _moment("last_activity_at", nullable=False, now=True),
        _moment("created_at", nullable=False, now=True),
        sa.CheckConstraint(
            "country is null or country ~ '^[A-Z]{2}$'", name=op.f("ck_supporters_country_format")
        ),
        _section_key("supporters"),
        sa.PrimaryKeyConstraint("section_id", "id", name=op.f("pk_supporters")),
    )
    op.create_index(
        "uq_supporters_section_id_email_hash",
        "supporters",
        ["section_id", "email_hash"],
        unique=True,
    )
    op.create_index(
        "ix_supporters_section_id_last_activity_at",
        "supporters",
        ["section_id", "last_activity_at"],
    )
    op.create_table(
        "consents",
        _section_id(),
        _id(),
        sa.Column("supporter_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", _enum("consent_purpose", CONSENT_PURPOSES), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("wording_version", sa.Text(), nullable=False),
        _moment("given_at", nullable=False, now=True),
        sa.Column("method", _enum("consent_method", CONSENT_METHODS), nullable=False),
        sa.Column("recorded_by", sa.Text(), nullable=True),
        _moment("confirmed_at"),
        sa.Column("confirmation_token_id", sa.Uuid(), nullable=True),
        _moment("withdrawn_at"),
        sa.Column(
            "withdrawal_method",
            _enum("consent_withdrawal_method", CONSENT_METHODS),
            nullable=True,
        ),
        sa.Column("withdrawn_by", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(purpose = 'petition-delivery') = (case_id is not null)",
            name=op.f("ck_consents_case_for_petitions"),
        ),
        sa.CheckConstraint(
            "(withdrawn_at is null) = (withdrawal_method is null)",
            name=op.f("ck_consents_withdrawal_whole"),
        ),
        sa.CheckConstraint(
            "length(wording_version) between 1 and 100", name=op.f("ck_consents_wording_length")
        ),
        _case_key("consents"),
        _supporter_key("consents", "CASCADE"),
        _section_key("consents"),
        sa.PrimaryKeyConstraint("section_id", "id", name=op.f("pk_consents")),
    )
    op.create_index(
        "ix_consents_section_id_supporter_id", "consents", ["section_id", "supporter_id"]
    )
    op.create_table(
        "petition_signatures",
        _section_id(),
        _id(),
        sa.Column("supporter_id", sa.Uuid(), nullable=True),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("country", sa.Text(), nullable=True),
        sa.Column(
            "status", _enum("signature_status", ("pending", "counted", "flagged")), nullable=False
        ),
        sa.Column("channel", _enum("action_channel", CHANNELS), nullable=False),
        sa.Column("action_id", sa.Uuid(), nullable=True),
        _moment("confirmed_at"),
        _moment("erased_at"),
        _moment("created_at", nullable=False, now=True),
        sa.CheckConstraint(
            "(status = 'counted') = (action_id is not null)",
            name=op.f("ck_petition_signatures_counted_action"),
        ),
        sa.CheckConstraint(
            "erased_at is not null or (supporter_id is not null and name is not null)",
            name=op.f("ck_petition_signatures_signer_until_erased"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_petition_signatures_campaign_id_campaigns"),
            ondelete="RESTRICT",
        ),
        _case_key("petition_signatures"),
        _supporter_key("petition_signatures", "RESTRICT"),
        _section_key("petition_signatures"),
        sa.PrimaryKeyConstraint("section_id", "id", name=op.f("pk_petition_signatures")),
    )
    op.create_index(
        "ix_petition_signatures_section_id_case_id_status",
        "petition_signatures",
        ["section_id", "case_id", "status"],
    )
    op.create_index(
        "ix_petition_signatures_section_id_supporter_id",
        "petition_signatures",
        ["section_id", "supporter_id"],
    )
    op.create_index(
        "uq_petition_signatures_section_id_signer_petition",
        "petition_signatures",
        ["section_id", "supporter_id", "campaign_id", "case_id"],
        unique=True,
        postgresql_where=sa.text("supporter_id is not null and status <> 'flagged'"),
    )
    op.create_table(
        "supporter_tokens",
        _section_id(),
        _id(),
        sa.Column("supporter_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("kind", _enum("supporter_token_kind", ("confirm", "withdraw")), nullable=False),
        sa.Column("signature_id", sa.Uuid(), nullable=True),
        sa.Column("purpose", _enum("supporter_token_purpose", CONSENT_PURPOSES), nullable=True),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        _moment("expires_at", nullable=False),
        _moment("used_at"),
        _moment("created_at", nullable=False, now=True),
        sa.CheckConstraint(
            "expires_at > created_at", name=op.f("ck_supporter_tokens_expires_after_creation")
        ),
        _case_key("supporter_tokens"),
        _supporter_key("supporter_tokens", "CASCADE"),
        _section_key("supporter_tokens"),
        sa.PrimaryKeyConstraint("section_id", "id", name=op.f("pk_supporter_tokens")),
    )
    op.create_index(
        "uq_supporter_tokens_section_id_token_hash",
        "supporter_tokens",
        ["section_id", "token_hash"],
        unique=True,
    )
    op.create_index(
        "ix_supporter_tokens_section_id_supporter_id",
        "supporter_tokens",
        ["section_id", "supporter_id"],
    )
    op.create_table(
        "mail_outbox",
        _section_id(),
        _id(),
        sa.Column("supporter_id", sa.Uuid(), nullable=True),
        sa.Column(
            "kind",
            _enum(
                "mail_kind",
                ("signature-confirmation", "consent-confirmation", "consent-withdrawal"),
            ),
            nullable=False,
        ),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("status", _enum("mail_status", ("pending", "sent", "failed")), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        _moment("next_attempt_at", nullable=False, now=True),
        _moment("last_attempt_at"),
        sa.Column("last_error", sa.Text(), nullable=True),
        _moment("sent_at"),
        _moment("created_at", nullable=False, now=True),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_mail_outbox_attempts_positive")),
        sa.CheckConstraint(
            "(status = 'pending') = (body is not null)", name=op.f("ck_mail_outbox_body_until_done")
        ),
        _section_key("mail_outbox"),
        sa.PrimaryKeyConstraint("section_id", "id", name=op.f("pk_mail_outbox")),
    )
    op.create_index(
        "ix_mail_outbox_section_id_status_next_attempt_at",
        "mail_outbox",
        ["section_id", "status", "next_attempt_at"],
    )
    op.create_index(
        "ix_mail_outbox_section_id_supporter_id", "mail_outbox", ["section_id", "supporter_id"]
    )
    for table in TABLES:
        for statement in tenant_isolation_ddl(table):
            op.execute(statement)
    for table, privileges in GRANTS.items():
        op.execute(f"GRANT {privileges} ON {table} TO {APP_ROLE}")
    op.execute(f"GRANT UPDATE (request_hash) ON idempotency_keys TO {APP_ROLE}")


def downgrade() -> None:
    op.execute(f"REVOKE UPDATE (request_hash) ON idempotency_keys FROM {APP_ROLE}")
    for table in reversed(TABLES):
        op.drop_table(table)
    op.drop_column("sections", "double_opt_in")
