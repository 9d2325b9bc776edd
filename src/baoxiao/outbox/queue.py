"""The delivery queue: claim due deliveries under a lease, record their outcome.

Concurrency rules, the same on both backends:
- A delivery is due when it is pending, its next attempt time has come, no live
  lease holds it, its connector instance is enabled, and no earlier delivery of
  the same subject to the same instance is still pending. So event n+1 of a
  claim waits until n is delivered or dead, even while n is leased or backing off.
- PostgreSQL: `FOR UPDATE OF ... SKIP LOCKED` lets many workers claim at once
  without blocking each other; a claimed row gets a lease (owner, expiry) and
  the claiming transaction commits before any network call.
- SQLite: transactions start with BEGIN IMMEDIATE, so claims are serialised;
  integrations.dispatcher also holds a WorkerLease so only one dispatcher runs.
- A worker killed mid-delivery loses nothing: when its lease expires the row is
  due again and another worker takes it (at-least-once; receivers dedupe on the
  event id). Outcomes are recorded only while the lease is still ours.
- Each instance's token bucket is refilled and spent under its row lock, so the
  configured rate holds across all workers; what exceeds it stays queued.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select, update
from sqlalchemy.orm import Session, aliased

from baoxiao.connectors.base import EventEnvelope
from baoxiao.models.integration import ConnectorInstance, Delivery, DeliveryStatus
from baoxiao.models.outbox import OutboxEvent
from baoxiao.outbox.retry import RetryPolicy


@dataclass(frozen=True)
class Leased:
    delivery_id: uuid.UUID
    connector_id: uuid.UUID
    attempts: int
    event: EventEnvelope


@dataclass(frozen=True)
class Outcome:
    delivery_id: uuid.UUID
    ok: bool
    status_code: int | None = None
    error: str | None = None
    retryable: bool = False
    retry_after: float | None = None
    disable: bool = False
    finished_at: datetime | None = None


def envelope(row: OutboxEvent) -> EventEnvelope:
    return EventEnvelope(
        id=row.id,
        type=row.type,
        occurred_at=row.occurred_at,
        company_id=row.company_id,
        subject_type=row.subject_type,
        subject_id=row.subject_id,
        sequence=row.sequence,
        schema_version=row.schema_version,
        data=row.data,
    )


def due_query(now: datetime, limit: int) -> Any:
    """Due deliveries, oldest first, skipping rows another worker is claiming."""
    return (
        select(Delivery)
        .join(ConnectorInstance, ConnectorInstance.id == Delivery.connector_id)
        .where(
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.next_attempt_at <= now,
            (Delivery.lease_expires_at.is_(None)) | (Delivery.lease_expires_at <= now),
            ConnectorInstance.enabled.is_(True),
            _not_blocked(),
        )
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
        .with_for_update(of=Delivery, skip_locked=True)
    )


def _spend_tokens(instance: ConnectorInstance, wanted: int, now: datetime) -> int:
    """Refill the instance's bucket for the time passed, take up to `wanted` tokens."""
    if instance.rate_limit_qps <= 0:
        return wanted
    burst = max(1, instance.rate_burst)
    elapsed = (now - instance.rate_updated_at).total_seconds() if instance.rate_updated_at else 0
    tokens = min(float(burst), instance.rate_tokens + max(0.0, elapsed) * instance.rate_limit_qps)
    granted = min(wanted, math.floor(tokens))
    instance.rate_tokens = tokens - granted
    instance.rate_updated_at = now
    return granted


def claim(
    session: Session, owner: str, *, now: datetime, limit: int, lease: timedelta
) -> list[Leased]:
    """Lease up to `limit` due deliveries to `owner`, within each instance's rate."""
    rows: list[Delivery] = list(session.scalars(due_query(now, limit)))
    if not rows:
        return []
    by_instance: dict[uuid.UUID, list[Delivery]] = {}
    for row in rows:
        by_instance.setdefault(row.connector_id, []).append(row)
    instances = session.scalars(
        select(ConnectorInstance)
        .where(ConnectorInstance.id.in_(sorted(by_instance)))
        .order_by(ConnectorInstance.id)
        .with_for_update()
    ).all()
    granted: list[Delivery] = []
    for instance in instances:
        wanted = by_instance[instance.id]
        granted.extend(wanted[: _spend_tokens(instance, len(wanted), now)])
    events = {
        e.id: e
        for e in session.scalars(
            select(OutboxEvent).where(OutboxEvent.id.in_([d.event_id for d in granted]))
        )
    }
    leased: list[Leased] = []
    for d in granted:
        d.lease_owner, d.lease_expires_at = owner, now + lease
        d.attempts += 1
        d.first_attempt_at = d.first_attempt_at or now
        d.last_attempt_at = now
        leased.append(Leased(d.id, d.connector_id, d.attempts, envelope(events[d.event_id])))
    session.flush()
    return leased


def finish(
    session: Session,
    owner: str,
    outcomes: list[Outcome],
    *,
    now: datetime,
    policy: RetryPolicy,
    rng: random.Random,
) -> dict[str, int]:
    """Record outcomes of deliveries still leased by `owner`; returns counts by result."""
    counts = {"delivered": 0, "retry": 0, "dead": 0, "disabled": 0, "lost_lease": 0}
    rows = {
        d.id: d
        for d in session.scalars(
            select(Delivery)
            .where(
                Delivery.id.in_([o.delivery_id for o in outcomes]),
                Delivery.lease_owner == owner,
                Delivery.status == DeliveryStatus.PENDING,
            )
            .with_for_update()
        )
    }
    for outcome in outcomes:
        d = rows.get(outcome.delivery_id)
        if d is None:  # our lease expired and someone else took it over
            counts["lost_lease"] += 1
            continue
        d.lease_owner, d.lease_expires_at = None, None
        d.last_status_code = outcome.status_code
        at = outcome.finished_at or now
        if outcome.ok:
            d.status, d.delivered_at, d.last_error = DeliveryStatus.DELIVERED, at, None
            counts["delivered"] += 1
            continue
        d.last_error = (outcome.error or "")[:2000]
        if outcome.disable:
            _disable(session, d.connector_id, outcome.error or "gone", now)
            d.next_attempt_at = now
            counts["disabled"] += 1
            continue
        nxt = None
        if outcome.retryable:
            nxt = policy.next_attempt(
                now=now,
                first_attempt_at=d.first_attempt_at or now,
                attempts=d.attempts,
                retry_after=outcome.retry_after,
                rng=rng,
            )
        if nxt is None:
            d.status, d.dead_at = DeliveryStatus.DEAD, now
            counts["dead"] += 1
        else:
            d.next_attempt_at = nxt
            counts["retry"] += 1
    session.flush()
    return counts


def _disable(session: Session, connector_id: uuid.UUID, reason: str, now: datetime) -> None:
    session.execute(
        update(ConnectorInstance)
        .where(ConnectorInstance.id == connector_id)
        .values(enabled=False, disabled_reason=reason[:200], updated_at=now)
    )


def replay(session: Session, delivery_ids: list[uuid.UUID], *, now: datetime) -> int:
    """Put dead deliveries back in the queue, with a fresh retry horizon."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.id.in_(delivery_ids), Delivery.status == DeliveryStatus.DEAD)
        .values(
            status=DeliveryStatus.PENDING,
            next_attempt_at=now,
            first_attempt_at=None,
            dead_at=None,
            lease_owner=None,
            lease_expires_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _not_blocked() -> ColumnElement[bool]:
    earlier = aliased(Delivery)
    return ~exists().where(
        earlier.connector_id == Delivery.connector_id,
        earlier.subject_key == Delivery.subject_key,
        earlier.sequence < Delivery.sequence,
        earlier.status == DeliveryStatus.PENDING,
    )


def next_due_at(session: Session, now: datetime) -> datetime | None:
    """When the next delivery can be claimed (a retry time or a lease expiry)."""
    base = (
        select(Delivery.next_attempt_at, Delivery.lease_expires_at)
        .join(ConnectorInstance, ConnectorInstance.id == Delivery.connector_id)
        .where(
            Delivery.status == DeliveryStatus.PENDING,
            ConnectorInstance.enabled.is_(True),
            _not_blocked(),
        )
    )
    row = session.execute(base.order_by(Delivery.next_attempt_at).limit(1)).first()
    if row is None:
        return None
    candidates = [max(row[0], row[1]) if row[1] is not None else row[0]]
    lease = session.scalar(
        select(func.min(Delivery.lease_expires_at)).where(
            Delivery.status == DeliveryStatus.PENDING, Delivery.lease_expires_at > now
        )
    )
    if lease is not None:
        candidates.append(lease)
    return min(candidates)
