"""Instance settings, from BAOXIAO_* environment variables (or a .env file).

These are per-instance; per-company integration secrets live in the
database, encrypted, never here.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from baoxiao.kernel.crypto import SecretBox, load_or_create_secret_key
from baoxiao.kernel.sessions import SessionPolicy


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BAOXIAO_", env_file=".env", extra="ignore")

    var_dir: Path = Field(
        default=Path("var"), description="Folder for the SQLite file, keys, uploads."
    )
    database_url: str = Field(
        default="", description="SQLAlchemy URL; default a SQLite file in var_dir."
    )
    secret_key: SecretStr | None = Field(
        default=None, description="Generated under var_dir if unset."
    )
    old_secret_keys: list[SecretStr] = Field(
        default_factory=list, description="Still accepted for decryption."
    )
    attachment_dir: Path | None = Field(default=None, description="Default: var_dir/attachments.")
    max_attachment_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    base_currency: str = Field(default="CNY", min_length=3, max_length=3)
    timezone: str = "Asia/Shanghai"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1)
    db_pool_size: int = Field(default=10, ge=1)
    log_level: str = "INFO"
    log_json: bool = True
    login_token_hours: int = Field(default=12, ge=1)
    # Browser sessions (identity/sessions.py): idle and absolute limits, the window in
    # which a sensitive change needs no fresh password, and the cookies' Secure flag
    # (None: set it when public_url or the request is https; true forces it behind a
    # proxy that ends TLS; false only for tests).
    session_idle_minutes: int = Field(default=30, ge=1)
    session_absolute_hours: int = Field(default=12, ge=1)
    session_reauth_minutes: int = Field(default=5, ge=1)
    session_cookie_secure: bool | None = None
    # Failed sign-ins (identity/throttling.py): lock an account after this many failures
    # in a row, for this long; throttle an address after this many failures in a window.
    signin_lock_after: int = Field(default=5, ge=1)
    signin_lock_minutes: int = Field(default=15, ge=1)
    signin_ip_limit: int = Field(default=20, ge=1)
    signin_ip_window_minutes: int = Field(default=15, ge=1)
    public_url: str | None = Field(
        default=None,
        description="The address browsers use (https://baoxiao.example.com); SSO redirect "
        "URIs are built from it. Default: the address of the request.",
    )
    oidc_cache_seconds: int = Field(
        default=300, ge=0, description="How long discovery documents and JWKS are reused."
    )
    idempotency_hours: int = Field(default=24, ge=1)
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token Prometheus sends to /metrics. Unset: /metrics answers "
        "only clients on this machine (loopback).",
    )
    # Event delivery (integrations.dispatcher); tests scale the delays down.
    delivery_base_delay_seconds: float = Field(default=5.0, gt=0)
    delivery_max_delay_seconds: float = Field(default=6 * 3600.0, gt=0)
    delivery_horizon_hours: float = Field(default=72.0, gt=0)
    delivery_lease_seconds: float = Field(default=60.0, gt=0)
    delivery_batch_size: int = Field(default=100, ge=1, le=1000)
    delivery_concurrency: int = Field(default=16, ge=1, le=256)
    delivery_poll_seconds: float = Field(default=2.0, gt=0)
    approval_timer_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How often a worker runs approval reminders and escalations.",
    )
    inbox_retention_days: int = Field(default=30, ge=30)
    # Optional OCR of receipt images without a QR code (invoices/ocr.py, the `ocr` extra).
    ocr_enabled: bool = Field(default=False, description="Propose amount/date/seller by OCR.")
    ocr_max_pixels: int = Field(default=4_000_000, ge=10_000, le=40_000_000)
    ocr_timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    broker_url: SecretStr | None = Field(
        default=None,
        description="NATS JetStream server (nats://host:4222): every company's events are "
        "also delivered to it, through a `nats` connector instance named `broker`.",
    )
    embedded_dispatcher: bool = Field(
        default=False,
        description="Deliver events inside the web process (`baoxiao serve` on SQLite).",
    )
    demo_logins: str = Field(
        default="",
        description="`user:who,...` listed on the sign-in page; `baoxiao demo` sets it.",
    )
    demo_password: str = Field(default="", description="Shown with demo_logins.")

    @field_validator("base_currency")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'baoxiao.db').resolve()}"

    @property
    def resolved_attachment_dir(self) -> Path:
        return self.attachment_dir or self.var_dir / "attachments"

    @cached_property
    def resolved_secret_key(self) -> str:
        if self.secret_key is not None:
            value = self.secret_key.get_secret_value()
            if len(value) < 32:
                raise ValueError("BAOXIAO_SECRET_KEY must be at least 32 characters")
            return value
        return load_or_create_secret_key(self.var_dir / "secret_key")

    @cached_property
    def secret_box(self) -> SecretBox:
        """AES-GCM for data at rest: new writes with the current key, reads with any old one."""
        return SecretBox.from_secret(
            self.resolved_secret_key,
            old_secrets=tuple(s.get_secret_value() for s in self.old_secret_keys),
        )

    @property
    def idempotency_ttl(self) -> timedelta:
        return timedelta(hours=self.idempotency_hours)

    @property
    def session_policy(self) -> SessionPolicy:
        return SessionPolicy(
            idle=timedelta(minutes=self.session_idle_minutes),
            absolute=timedelta(hours=self.session_absolute_hours),
            reauth=timedelta(minutes=self.session_reauth_minutes),
        )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
