"""Typed settings, read once from the environment (prefix ``SOCIALCREDIT_``) and injected."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SOCIALCREDIT_", extra="forbid")

    database_url: str = Field(
        default="sqlite:///var/registry.db",
        description="SQLAlchemy URL: SQLite file by default, postgresql+psycopg://... supported",
    )
    read_url: str | None = Field(
        default=None,
        description="where a screening node reads the registry (a PostgreSQL streaming replica);"
        " writes (the screening log, refusals, migrations) still go to database_url",
    )
    rate_limit_url: str = Field(
        default="memory://",
        description="storage of the `limits` library for per-key rate limits: memory:// (this"
        " process only) or redis://host:port (shared by every worker and node)",
    )
    snapshot_dir: Path | None = Field(
        default=None,
        description="where the screening index snapshot lives; beside a SQLite file if unset,"
        " none for PostgreSQL (a node then rebuilds from the store on every start)",
    )
    staleness_s: float = Field(
        default=3.0,
        gt=0,
        description="/health/ready answers 503 when the index last caught up with the change"
        " feed longer ago than this",
    )
    read_poll_s: float = Field(
        default=0.05,
        gt=0,
        description="how often a node on a replica probes the feed (NOTIFY does not reach a"
        " replica)",
    )
    rulepack: Path | None = Field(
        default=None, description="a rule pack YAML file; the packaged reference pack if unset"
    )
    timezone: str = Field(
        default="Asia/Shanghai", description="IANA zone whose midnight ends a restriction"
    )
    operator_token: str | None = Field(
        default=None,
        description="bearer token for operator routes; `serve` generates and prints one if unset",
    )
    host: str = Field(default="127.0.0.1", description="where `serve` listens")
    port: int = Field(default=8000, description="the port `serve` listens on")
    clock: str | None = Field(
        default=None,
        description="tests and demos only: a fixed instant (ISO 8601, UTC if naive) or "
        "file:PATH naming a file holding one, read at every call; unset = the system clock",
    )
    report_min_count: int = Field(
        default=10,
        ge=1,
        description="the report's score tables publish counts of residents from 1 to this"
        " minus one (and means over fewer) as null, so no one's grade can be read off a small"
        " county; 1 publishes every count",
    )
    reports_dir: Path | None = Field(
        default=None,
        description="where published reports are kept as files; default reports/ beside a"
        " SQLite database, var/reports otherwise",
    )
    smtp_host: str = Field(default="127.0.0.1", description="where notices are sent by email")
    smtp_port: int = Field(default=1025, description="the SMTP server's port")
    mail_from: str = Field(
        default="notices@registry.invalid", description="the sender of notices by email"
    )
    log_key_file: Path | None = Field(
        default=None,
        description="the transparency log's Ed25519 private key (PEM, made with mode 0600 on"
        " first use, public half beside it as .pub); default log-key.pem beside a SQLite"
        " database, var/log-key.pem for PostgreSQL",
    )
    # --- accounts and pages (socialcredit.accounts) ---
    session_idle_minutes: int = Field(
        default=30, ge=1, description="a staff session ends after this long without a request"
    )
    session_max_hours: int = Field(
        default=12, ge=1, description="a staff session ends this long after sign-in, in any case"
    )
    session_secret: str | None = Field(
        default=None,
        description="key that signs session cookies; unset = one kept in the database, so every"
        " worker and node shares it",
    )
    cookie_secure: bool | None = Field(
        default=None, description="Secure cookies: unset = when the request came over https"
    )
    ratelimit_storage_url: str = Field(
        default="",
        description="`limits` storage for login rate limits; empty = the same as rate_limit_url",
    )
    login_limit_user: str = Field(
        default="5 per 15 minutes",
        description="failed sign-ins per account before it is locked until the window passes",
    )
    login_limit_ip: str = Field(
        default="50 per 15 minutes", description="failed sign-ins per client address"
    )
    limits_storage_url: str = Field(
        default="",
        description="where the abuse counters (name-check budgets, code requests) live;"
        " empty = the same as rate_limit_url",
    )
    name_check_failures: str = Field(
        default="5/24 hours",
        description="failed name checks a relying party may make for one ID (single and batch"
        " together, a `limits` rate string); past it the ID answers that party a refusal",
    )
    name_refusal_alert: str = Field(
        default="200/minute",
        description="a relying party's name refusals past this rate raise an operator alert",
    )
    code_requests_per_client: str = Field(
        default="20/hour", description="one-time code requests from one client address"
    )
    code_requests_per_client_id: str = Field(
        default="3/hour", description="one-time code requests from one client for one ID"
    )
    code_checks_per_client: str = Field(
        default="10/10 minutes", description="one-time code verifications from one client"
    )
    public_register: bool = Field(
        default=True, description="the public register of published listings (/register)"
    )
    register_limit: str = Field(
        default="20 per minute", description="public register searches per client address"
    )

    @model_validator(mode="after")
    def _one_limits_store(self) -> Settings:
        # One storage for every `limits` counter unless a setting names its own: setting
        # SOCIALCREDIT_RATE_LIMIT_URL=redis://... shares them all between workers and nodes.
        if not self.ratelimit_storage_url:
            self.ratelimit_storage_url = self.rate_limit_url
        if not self.limits_storage_url:
            self.limits_storage_url = self.rate_limit_url
        return self

    @field_validator("database_url", "read_url")
    @classmethod
    def _known_backend(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("sqlite", "postgresql")):
            raise ValueError(f"SOCIALCREDIT_DATABASE_URL must be sqlite or postgresql, got {v!r}")
        return v


def load_settings() -> Settings:
    return Settings()
