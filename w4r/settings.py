"""Deployment settings: the only code that reads the environment.

Every setting is read from a ``W4R_``-prefixed environment variable (or a ``.env`` file) and
enters the application through :func:`w4r.app.create_app`; nothing else looks at
``os.environ``.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["development", "production"]
LogFormat = Literal["json", "text"]
Access = Literal["on", "staff", "off"]
"""Who gets a developer facility (GraphiQL, introspection): everyone, staff callers only
(section and IS staff, with a bearer token), or nobody."""
_ACCESS_SYNONYMS = {"true": "on", "1": "on", "yes": "on", "false": "off", "0": "off", "no": "off"}


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
    listener_database_url: SecretStr | None = Field(
        default=None,
        description=(
            "PostgreSQL URL (the app role) of the live totals listener's own connection. "
            "LISTEN needs a session of its own: behind PgBouncer in transaction mode, point "
            "this at PostgreSQL directly (or at a session-mode pool). Unset: the app's URL."
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
    graphql_ide: Access | None = Field(
        default=None,
        description="GraphiQL on GET /graphql: on, staff (the page for everyone, the schema "
        "for staff callers) or off. Unset: on in development, off in production.",
    )
    introspection: Access | None = Field(
        default=None,
        description="Introspection and field suggestions: on, staff or off. Unset: as graphql_ide.",
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
    gc_freeze: bool = Field(
        default=True,
        description="After start-up, move every object built so far out of the garbage "
        "collector's reach (gc.freeze): full collections then skip the schema and mappers.",
    )
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

    # --- response cache --------------------------------------------------------------------
    response_cache_enabled: bool = Field(
        default=True,
        description="Keep whole answers to public queries of published data in memory "
        "(docs/caching.md).",
    )
    response_cache_max_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=0,
        description="Memory the cached answers of one worker may take (bytes); least "
        "recently used answers go first.",
    )
    response_cache_totals_seconds: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="How old the totals in a cached answer may be; recording actions never "
        "flushes the cache (0: answers with totals are not cached).",
    )
    response_cache_max_age_seconds: float = Field(
        default=3_600.0,
        gt=0,
        description="The longest any cached answer is kept, even when nothing it contains "
        "changed (a safety net: every change already invalidates).",
    )
    response_cache_http_max_age_seconds: int = Field(
        default=60,
        ge=0,
        le=86_400,
        description="Cache-Control max-age of a cacheable persisted-query GET whose answer "
        "has no totals (one with totals gets `response_cache_totals_seconds`).",
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

    # --- federation --------------------------------------------------------------------------
    federation_max_representations: int = Field(
        default=100,
        ge=1,
        le=10_000,
        description="Representations one `_entities` call may resolve; over it the call is "
        "refused before any lookup. 100 fits a full page of any connection.",
    )

    # --- webhooks ----------------------------------------------------------------------------
    webhook_secret_key: SecretStr | None = Field(
        default=None,
        description="Key that encrypts webhook signing secrets at rest (AES-256-GCM; hex, 32 "
        "bytes: `openssl rand -hex 32`). Required in production; in development created once "
        "in `data_dir`/webhook-secret.key. Keep it with the database backups: without it no "
        "stored secret can sign again.",
    )
    webhook_allow_loopback: bool = Field(
        default=False,
        description="Accept webhook URLs on loopback hosts (localhost, 127.0.0.0/8, ::1), "
        "over http too. For development and tests only: never in production.",
    )
    webhook_dispatcher: bool = Field(
        default=True,
        description="Run the webhook dispatcher in this process (off: only `w4r webhooks "
        "send-pending` delivers).",
    )
    webhook_poll_seconds: float = Field(
        default=5.0, gt=0, le=3600, description="How often the dispatcher looks for due work."
    )
    webhook_batch_size: int = Field(
        default=20, ge=1, le=500, description="Deliveries one section's claim takes at a time."
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, le=60, description="Longest wait for one receiver's answer."
    )
    webhook_max_attempts: int = Field(
        default=8, ge=1, le=50, description="Attempts before a delivery is marked failed."
    )
    webhook_retry_base_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Wait after the first failure; doubled after each, with up to 20% jitter.",
    )
    webhook_retry_max_seconds: float = Field(
        default=6 * 3600.0, gt=0, description="The longest wait between two attempts."
    )
    webhook_milestones: list[int] = Field(
        default_factory=lambda: [1_000, 10_000, 100_000, 1_000_000],
        description="Totals (actions of a campaign) that fire `totals.milestone_reached` once "
        "each: a case's worldwide total, and a section's total. JSON list of integers.",
    )

    @field_validator("webhook_milestones")
    @classmethod
    def _positive_milestones(cls, value: list[int]) -> list[int]:
        if any(threshold < 1 for threshold in value):
            raise ValueError("every webhook milestone must be a positive number of actions")
        return sorted(set(value))

    # --- server, metrics and logs ----------------------------------------------------------
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Server processes (`w4r serve`). More than 1 needs an external "
        "PostgreSQL; in Kubernetes scale with pods first.",
    )
    proxy_headers: bool = Field(
        default=False,
        description="Take the client's address and scheme from X-Forwarded-For and "
        "X-Forwarded-Proto when the peer is in `forwarded_allow_ips` (behind an ingress or "
        "load balancer: the budgets and the audit log use that address).",
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Comma-separated addresses and networks (CIDR) of the proxies whose "
        "forwarded headers are trusted, or * for any peer (only where nothing but the "
        "proxy can reach the server).",
    )

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _forwarded_networks(cls, value: str) -> str:
        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
        if not entries:
            raise ValueError("give at least one address or network, or *")
        for entry in entries:
            if entry == "*":
                continue
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is neither an IP address nor a network (e.g. 10.0.0.0/8)"
                ) from None
        return ",".join(entries)

    metrics_token: SecretStr | None = Field(
        default=None,
        description="When set, GET /metrics requires `Authorization: Bearer <token>`. Unset: "
        "open to whoever reaches it (in Kubernetes keep it cluster-internal: NetworkPolicy).",
    )
    prometheus_multiproc_dir: Path | None = Field(
        default=None,
        validation_alias="PROMETHEUS_MULTIPROC_DIR",
        description="prometheus_client's multiprocess directory (an empty directory shared "
        "by every worker, set in the environment before they start): /metrics then sums "
        "all workers. Unset: each process serves its own metrics.",
    )
    log_format: LogFormat | None = Field(
        default=None,
        description="`json` (one object per line) or `text`. Unset: text in development, "
        "JSON in production.",
    )

    # --- logging ---------------------------------------------------------------------------
    log_level: str = "INFO"

    @field_validator("graphql_ide", "introspection", mode="before")
    @classmethod
    def _access_synonyms(cls, value: object) -> object:
        """``true``/``false`` (the former boolean settings) mean ``on``/``off``."""
        if isinstance(value, bool):
            return "on" if value else "off"
        if isinstance(value, str):
            lowered = value.strip().lower()
            return _ACCESS_SYNONYMS.get(lowered, lowered)
        return value

    @field_validator("log_level")
    @classmethod
    def _upper_log_level(cls, value: str) -> str:
        return value.upper()

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    @property
    def log_format_in_use(self) -> LogFormat:
        if self.log_format is not None:
            return self.log_format
        return "text" if self.is_development else "json"

    @property
    def graphql_ide_access(self) -> Access:
        if self.graphql_ide is not None:
            return self.graphql_ide
        return "on" if self.is_development else "off"

    @property
    def graphql_ide_enabled(self) -> bool:
        return self.graphql_ide_access != "off"

    @property
    def introspection_access(self) -> Access:
        """Unset, introspection follows GraphiQL, which is of little use without it: a
        staff-only GraphiQL answers the schema to staff callers only."""
        if self.introspection is not None:
            return self.introspection
        return self.graphql_ide_access

    @property
    def signing_key_path(self) -> Path:
        return self.data_dir / "signing-key.jwk"

    @property
    def supporter_hash_key_path(self) -> Path:
        return self.data_dir / "supporter-hash.key"

    @property
    def webhook_secret_key_path(self) -> Path:
        return self.data_dir / "webhook-secret.key"

    @property
    def embedded_pgdata(self) -> Path:
        return self.data_dir / "pgdata"
