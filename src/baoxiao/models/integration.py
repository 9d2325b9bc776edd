"""Connector instances (subscriptions), their deliveries, and the inbound inbox.

A connector instance is one configured connection of a company to an
external system (a webhook URL, a Feishu app, ...). It subscribes to event
types; every matching outbox event gets one Delivery row per instance, written
in the publishing transaction. Inbound callbacks land in InboxMessage, keyed
by (connector, external event id), before anything is applied.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.db import Base
from baoxiao.kernel.ids import new_id


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting, retrying or leased (in flight) by a worker
    DELIVERED = "delivered"
    DEAD = "dead"  # gave up: permanent error or retry horizon passed; replayable


class InboxStatus(StrEnum):
    RECEIVED = "received"
    APPLIED = "applied"
    IGNORED = "ignored"  # nothing to do (already in that state, unknown subject)
    FAILED = "failed"  # refused by the domain; kept for the monitor


class ConnectorInstance(Base):
    """One company's configured connection to an external system."""

    __tablename__ = "integration_connectors"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # connector name in the registry
    name: Mapped[str] = mapped_column(String(100))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)  # non-secret fields
    secrets: Mapped[dict[str, Any]] = mapped_column(default=dict)  # field -> SecretBox token
    event_types: Mapped[list[Any]] = mapped_column(default=list)  # "claim.*", "*", exact types
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    # Admin setting: allow private/loopback targets (SSRF guard off for this instance).
    allow_private_network: Mapped[bool] = mapped_column(default=False)
    rate_limit_qps: Mapped[float] = mapped_column(default=10.0)
    rate_burst: Mapped[int] = mapped_column(default=10)
    # Token bucket shared by all workers; updated under the row lock when claiming.
    rate_tokens: Mapped[float] = mapped_column(default=10.0)
    rate_updated_at: Mapped[datetime | None]
    # Inbound callbacks act as this user (their rights decide what is allowed).
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Delivery(Base):
    """One event to one connector instance, and where its delivery stands."""

    __tablename__ = "integration_deliveries"
    __table_args__ = (
        UniqueConstraint("connector_id", "event_id"),
        # The dispatcher's two questions: what is due, and is an earlier one pending?
        Index("ix_integration_deliveries_due", "status", "next_attempt_at"),
        Index("ix_integration_deliveries_order", "connector_id", "subject_key", "sequence"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    connector_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("integration_connectors.id", ondelete="CASCADE")
    )
    event_id: Mapped[str] = mapped_column(ForeignKey("outbox_events.id"), index=True)
    event_type: Mapped[str] = mapped_column(String(64))
    subject_key: Mapped[str] = mapped_column(String(100))  # "claim:<uuid>"
    sequence: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_attempt_at: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]
    dead_at: Mapped[datetime | None]


class InboxMessage(Base):
    """An inbound callback, stored before it is applied; its key deduplicates replays."""

    __tablename__ = "integration_inbox"
    __table_args__ = (UniqueConstraint("connector_id", "external_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    connector_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("integration_connectors.id", ondelete="CASCADE")
    )
    external_id: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default=InboxStatus.RECEIVED, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    result: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    processed_at: Mapped[datetime | None]


class WorkerLease(Base):
    """A named lease (SQLite: the one dispatcher allowed to run at a time)."""

    __tablename__ = "integration_worker_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]


class ExternalRef(Base):
    """What a local record is called in one connected system (per connector instance).

    subject_type "employee": external_id is the Feishu open_id (data: union_id, user_id,
    email, ...); "department": the open_department_id; "claim": the remote approval
    instance code (data: its uuid, last known status, when it was last heard of).
    """

    __tablename__ = "integration_external_refs"
    __table_args__ = (
        UniqueConstraint("connector_id", "subject_type", "subject_id"),
        UniqueConstraint("connector_id", "subject_type", "external_id"),
        Index("ix_integration_external_refs_seen", "connector_id", "subject_type", "seen_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    connector_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("integration_connectors.id", ondelete="CASCADE")
    )
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[uuid.UUID]
    external_id: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # When the remote system last told us about it (an event, a sync, a reconciliation).
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
