"""What a NATS JetStream instance is configured with."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr, field_validator

SUBJECT_TOKEN = r"^[A-Za-z0-9_-]+$"


class NatsConfig(BaseModel):
    url: SecretStr = Field(
        description="Server URL, nats://[user:password@]host:4222 (secret: it may hold "
        "credentials)."
    )
    stream: str = Field(
        default="BAOXIAO",
        pattern=SUBJECT_TOKEN,
        max_length=64,
        description="JetStream stream; created with the subjects `<prefix>.>` if missing.",
    )
    subject_prefix: str = Field(
        default="baoxiao",
        pattern=SUBJECT_TOKEN,
        max_length=64,
        description="Events go to `<prefix>.<company id>.<event type>`.",
    )
    duplicate_window_seconds: float = Field(
        default=24 * 3600.0,
        gt=0,
        le=7 * 24 * 3600.0,
        description="JetStream de-duplication window (by Nats-Msg-Id = event id) of a "
        "stream this connector creates.",
    )
    timeout_seconds: float = Field(default=5.0, gt=0, le=30)

    @field_validator("url")
    @classmethod
    def _nats_url(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith(("nats://", "tls://")):
            raise ValueError("the URL must start with nats:// or tls://")
        return value
