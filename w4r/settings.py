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
    def embedded_pgdata(self) -> Path:
        return self.data_dir / "pgdata"
