"""Deployment settings: the only code that reads the environment.

Every setting is read from a ``W4R_``-prefixed environment variable (or a ``.env`` file) and
enters the application through :func:`w4r.app.create_app`; nothing else looks at
``os.environ``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["development", "production"]


def default_data_dir() -> Path:
    """Where the embedded PostgreSQL and the local signing key live unless told otherwise."""
    return platformdirs.user_data_path("w4r", appauthor=False)


class Settings(BaseSettings):
    """Typed deployment configuration. Secrets stay wrapped in :class:`SecretStr`."""

    model_config = SettingsConfigDict(
        env_prefix="W4R_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    environment: Environment = "development"

    # --- database -------------------------------------------------------------------------
    database_url: SecretStr | None = Field(
        default=None,
        description=(
            "Admin PostgreSQL URL, of a role that may create roles (used for migrations "
            "only). Unset: an embedded PostgreSQL is started in `data_dir`."
        ),
    )
    app_database_url: SecretStr | None = Field(
        default=None,
        description=(
            "PostgreSQL URL the app serves requests with. Unset: `database_url` with the user "
            "replaced by the app role and the password by `database_app_password`."
        ),
    )
    database_app_password: SecretStr | None = Field(
        default=None,
        description="Password of the app role; `w4r migrate` sets it when given.",
    )
    database_pool_size: int = Field(default=10, ge=1, le=200)
    database_max_overflow: int = Field(default=5, ge=0, le=200)
    database_pool_timeout_seconds: float = Field(default=10.0, gt=0)
    database_statement_cache_size: int = Field(
        default=100,
        ge=0,
        description="asyncpg prepared statement cache; 0 behind PgBouncer in transaction mode.",
    )
    database_statement_timeout_ms: int = Field(default=15_000, ge=0)
    data_dir: Path = Field(default_factory=default_data_dir)
    migrate_on_start: bool = Field(
        default=True, description="`w4r serve` upgrades the database to head before serving."
    )

    # --- HTTP and GraphQL ------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    public_url: str | None = Field(
        default=None, description="Base URL printed on start (e.g. behind a proxy)."
    )
    graphql_ide: bool | None = Field(
        default=None, description="Serve GraphiQL on GET /graphql. Unset: on in development."
    )
    introspection: bool | None = Field(
        default=None, description="Allow introspection. Unset: on in development."
    )
    max_query_depth: int = Field(default=12, ge=2, le=100)
    max_aliases: int = Field(default=30, ge=0, le=1000)
    max_tokens: int = Field(default=2_000, ge=50, le=100_000)
    max_request_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1024,
        description="Largest request body; a 10,000-row actionsImport is about 2.5 MB.",
    )
    document_cache_size: int = Field(default=256, ge=0)
    section_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How long a replica trusts its copy of the section and host registry.",
    )

    # --- actions and totals ------------------------------------------------------------
    action_grace_days: int = Field(
        default=15,
        ge=0,
        le=365,
        description="Days after a campaign window's end during which actions still count.",
    )
    totals_min_cell_size: int = Field(
        default=5,
        ge=0,
        description="In the IS view, breakdown cells below this many actions are withheld "
        "(0 = off). Grand totals are always exact.",
    )
    totals_update_interval_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="At most one live totals update per topic per this many seconds.",
    )

    # --- tokens ----------------------------------------------------------------------------
    token_issuer: str = "w4r-local"
    token_audience: str = "w4r"
    token_leeway_seconds: int = Field(default=30, ge=0, le=300)
    local_signing_key: SecretStr | None = Field(
        default=None,
        description=(
            "Private JWK (JSON) of the deployment's local signing key. Unset: a P-256 key is "
            "created once in `data_dir`/signing-key.jwk."
        ),
    )

    # --- identity provider (OpenID Connect) ------------------------------------------------
    oidc_issuer: str | None = Field(
        default=None,
        description="`iss` of the provider's access tokens (e.g. "
        "https://id.example.org/realms/w4r). Unset: only the local key is trusted.",
    )
    oidc_audience: str | None = Field(
        default=None,
        description="`aud` the provider gives tokens for this API. Unset: `token_audience`.",
    )
    oidc_jwks_url: str | None = Field(
        default=None,
        description="URL of the provider's JWK set (https; http only on loopback). "
        "Required with `oidc_issuer`.",
    )
    oidc_role_claim: str = Field(
        default="realm_access.roles",
        description="Dotted path to the token's role name or list of role names.",
    )
    oidc_section_claim: str = Field(
        default="w4r_section",
        description="Dotted path to the section code of section staff and event hosts.",
    )
    oidc_role_map: dict[str, str] = Field(
        default_factory=dict,
        description='JSON object: provider role name -> w4r role, e.g. {"w4r-is-admin": '
        '"is-admin"}. Unmapped names are ignored; of several, the most privileged wins.',
    )
    oidc_require_at_jwt: bool = Field(
        default=True,
        description="Accept only RFC 9068 access tokens (header typ at+jwt), never ID tokens.",
    )
    oidc_jwks_cache_seconds: float = Field(
        default=300.0,
        ge=60,
        le=86_400,
        description="How long the JWK set is kept when its response has no Cache-Control "
        "max-age (a max-age is honoured between 60 s and a day).",
    )
    oidc_jwks_min_refresh_seconds: float = Field(
        default=15.0,
        ge=1,
        le=3_600,
        description="At most one JWK set fetch per this many seconds (unknown key ids, "
        "expiry and retries after a failure alike).",
    )

    # --- API keys --------------------------------------------------------------------------
    api_key_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="How long a replica trusts a key it verified; a key revoked on another "
        "replica still works here for at most this long (0 = look every key up).",
    )

    # --- cost limits and budgets -----------------------------------------------------------
    redis_url: SecretStr | None = Field(
        default=None,
        description="Redis URL (redis://host:port/db) for budgets shared by every replica. "
        "Unset: budgets are kept in each process's memory.",
    )
    redis_key_prefix: str = Field(
        default="w4r",
        min_length=1,
        description="Prefix of every budget key in Redis, so deployments can share a server.",
    )
    max_query_cost: int = Field(
        default=10_000,
        ge=1,
        description="Most cost one operation may have; a costlier one is refused unexecuted.",
    )
    cost_list_bound: int = Field(
        default=10,
        ge=1,
        le=1_000,
        description="What a plain list of objects (no page size) multiplies the cost below by.",
    )
    cost_mutation_base: int = Field(
        default=10, ge=1, description="Cost of each mutation field, before its selection."
    )
    api_key_budget_points: int = Field(default=50_000, ge=1)
    api_key_budget_seconds: int = Field(
        default=60, ge=1, description="An API key's budget refills over this many seconds."
    )
    ip_budget_points: int = Field(default=5_000, ge=1)
    ip_budget_seconds: int = Field(
        default=60, ge=1, description="A client address's budget refills over this many seconds."
    )

    # --- public writes (abuse protection) --------------------------------------------------
    public_write_window_seconds: int = Field(
        default=60,
        ge=1,
        le=86_400,
        description="The window every public write allowance below refills over.",
    )
    public_actions_per_ip: int = Field(
        default=10,
        ge=1,
        description="Anonymous actions one address (an IPv6 /64) may record per window.",
    )
    public_signatures_per_ip: int = Field(
        default=5, ge=1, description="Anonymous petition signatures per address per window."
    )
    public_registrations_per_ip: int = Field(
        default=5, ge=1, description="Anonymous event registrations per address per window."
    )
    public_actions_per_section: int = Field(
        default=3_000,
        ge=1,
        description="Anonymous actions a whole section takes per window before a flood is "
        "assumed (every address together).",
    )
    public_signatures_per_section: int = Field(
        default=3_000, ge=1, description="Anonymous signatures per section per window."
    )
    public_registrations_per_section: int = Field(
        default=500, ge=1, description="Anonymous event registrations per section per window."
    )
    public_writes_per_allowlisted_ip: int = Field(
        default=300,
        ge=1,
        description="The raised per-address allowance (each kind) of an address in one of "
        "the section's allowlisted networks (a school behind one address).",
    )
    trusted_document_cache_size: int = Field(
        default=1_024, ge=0, description="Trusted documents each replica keeps in memory."
    )

    # --- supporters, consent and mail ------------------------------------------------------
    supporter_hash_key: SecretStr | None = Field(
        default=None,
        description="Key of the HMAC-SHA256 that identifies a supporter by email (hex, 32 "
        "bytes; `openssl rand -hex 32`). Required in production; in development created "
        "once in `data_dir`/supporter-hash.key. Never change it: known supporters would "
        "become unknown.",
    )
    supporter_confirmation_hours: int = Field(
        default=72, ge=1, le=24 * 30, description="How long an email confirmation link works."
    )
    supporter_withdrawal_link_days: int = Field(
        default=90,
        ge=1,
        le=3650,
        description="How long the consent withdrawal link of a mail works.",
    )
    supporter_link_template: str = Field(
        default="http://127.0.0.1:8000/s/{section}/supporters/{action}#token={token}",
        description="The link in supporters' mails; {section} is the section code, {action} "
        "'confirm' or 'withdraw', {token} the secret. Keep the token in the fragment (#) so "
        "it never reaches a server log; the page posts it to the API.",
    )
    smtp_host: str | None = Field(
        default=None,
        description="SMTP server for supporters' mail. Unset: mail waits in the outbox and "
        "no sender runs.",
    )
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_from: str = Field(
        default="Write for Rights <no-reply@localhost>", description="The From of every mail."
    )
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = Field(
        default=True,
        description="Require STARTTLS before sending (off only for a relay on the same host).",
    )
    smtp_implicit_tls: bool = Field(
        default=False, description="Connect with TLS from the start (port 465)."
    )
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    mail_poll_seconds: float = Field(
        default=5.0, gt=0, le=3600, description="How often the sender looks for due mail."
    )
    mail_batch_size: int = Field(
        default=20, ge=1, le=1000, description="Mails one section's claim takes at a time."
    )
    mail_max_attempts: int = Field(
        default=8, ge=1, le=100, description="Attempts before a mail is marked failed."
    )
    mail_retry_base_seconds: float = Field(
        default=60.0, gt=0, description="Wait after the first failure; doubled after each."
    )
    mail_retry_max_seconds: float = Field(
        default=6 * 3600.0, gt=0, description="The longest wait between two attempts."
    )

    # --- audit log -------------------------------------------------------------------------

    # --- logging ---------------------------------------------------------------------------
    log_level: str = "INFO"

    @field_validator("log_level")
    @classmethod
    def _upper_log_level(cls, value: str) -> str:
        return value.upper()

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    @property
    def graphql_ide_enabled(self) -> bool:
        return self.is_development if self.graphql_ide is None else self.graphql_ide

    @property
    def introspection_enabled(self) -> bool:
        return self.is_development if self.introspection is None else self.introspection

    @property
    def signing_key_path(self) -> Path:
        return self.data_dir / "signing-key.jwk"

    @property
    def supporter_hash_key_path(self) -> Path:
        return self.data_dir / "supporter-hash.key"

    @property
    def embedded_pgdata(self) -> Path:
        return self.data_dir / "pgdata"
