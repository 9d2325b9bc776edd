"""API shapes of connector instances, deliveries and the sync monitor."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MASK = "********"


class ConnectorCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(max_length=32, examples=["webhook"])
    name: str = Field(min_length=1, max_length=100)
    config: dict[str, Any] = Field(description="Validated by the connector's config schema.")
    event_types: list[str] = Field(default_factory=lambda: ["*"], max_length=100)
    enabled: bool = True
    allow_private_network: bool = Field(
        default=False,
        description="Allow loopback/private destinations (off by default: SSRF guard).",
    )
    rate_limit_qps: float = Field(default=10.0, ge=0, le=10_000, description="0 = unlimited.")
    rate_burst: int = Field(default=10, ge=1, le=10_000)
    actor_user_id: uuid.UUID | None = Field(
        default=None, description="Inbound callbacks act as this user."
    )


class ConnectorUpdate(BaseModel):
    """Fields left out stay as they are (secrets too); in `config`, null clears an
    optional field, e.g. `{"previous_secret": null}` ends a secret rotation."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    config: dict[str, Any] | None = None
    event_types: list[str] | None = Field(default=None, max_length=100)
    enabled: bool | None = None
    allow_private_network: bool | None = None
    rate_limit_qps: float | None = Field(default=None, ge=0, le=10_000)
    rate_burst: int | None = Field(default=None, ge=1, le=10_000)
    actor_user_id: uuid.UUID | None = None


class ConnectorRead(BaseModel):
    id: uuid.UUID
    kind: str
    name: str
    config: dict[str, Any] = Field(description=f"Secret fields read {MASK!r} when set.")
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    allow_private_network: bool
    rate_limit_qps: float
    rate_burst: int
    actor_user_id: uuid.UUID | None
    callback_url: str = Field(description="Where this instance's system posts callbacks.")
    created_at: datetime
    updated_at: datetime


class ConnectorKindRead(BaseModel):
    kind: str
    title: str
    config_schema: dict[str, Any]
    secret_fields: list[str]


class HealthRead(BaseModel):
    ok: bool
    detail: str


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    connector_id: uuid.UUID
    event_id: str
    event_type: str
    subject_key: str
    sequence: int
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    first_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    dead_at: datetime | None


class ReplayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    delivery_ids: list[uuid.UUID] | None = Field(
        default=None, description="Default: every dead delivery of the instance."
    )


class ReplayResult(BaseModel):
    replayed: int


class ConnectorBacklog(BaseModel):
    connector_id: uuid.UUID
    name: str
    kind: str
    enabled: bool
    pending: int
    due: int
    in_flight: int
    delivered: int
    dead: int
    oldest_pending_at: datetime | None
    last_error: str | None


class MonitorRead(BaseModel):
    connectors: list[ConnectorBacklog]
    inbox_received: int
    inbox_failed: int


class CallbackAck(BaseModel):
    status: str = Field(examples=["accepted", "duplicate"])
    id: str
