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
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    bindparam,
    exists,
    func,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session, aliased

from baoxiao.connectors.base import EventEnvelope
from baoxiao.kernel.clock import utcnow
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


EVENT_COLUMNS = (
    OutboxEvent.id.label("event_id"),
    OutboxEvent.type,
    OutboxEvent.occurred_at,
    OutboxEvent.company_id,
    OutboxEvent.subject_type,
    OutboxEvent.subject_id,
    OutboxEvent.sequence,
    OutboxEvent.schema_version,
    OutboxEvent.data,
)


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


@cache
def due_query() -> Any:
    """Due deliveries with their events, oldest first, skipping rows another worker is
    claiming. Plain columns, not ORM objects: one round trip, little Python per row.
    Built once (parameters `now`, `limit`): constructing it costs more than running it."""
    return (
        select(
            Delivery.id,
            Delivery.connector_id,
            Delivery.attempts,
            *EVENT_COLUMNS,
        )
        .join(ConnectorInstance, ConnectorInstance.id == Delivery.connector_id)
        .join(OutboxEvent, OutboxEvent.id == Delivery.event_id)
        .where(
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.next_attempt_at <= bindparam("now"),
            (Delivery.lease_expires_at.is_(None)) | (Delivery.lease_expires_at <= bindparam("now")),
            ConnectorInstance.enabled.is_(True),
            _not_blocked(),
        )
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(bindparam("limit", type_=Integer, literal_execute=True))
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
    """Lease up to `limit` due deliveries to `owner`, within each instance's rate.

    Three statements whatever the batch size: the due rows with their events
    (locked), the instances' token buckets (locked), one UPDATE for the leases."""
    rows = session.execute(due_query(), {"now": now, "limit": limit}).all()
    if not rows:
        return []
    by_instance: dict[uuid.UUID, list[Any]] = {}
    for row in rows:
        by_instance.setdefault(row.connector_id, []).append(row)
    instances = session.scalars(
        select(ConnectorInstance)
        .where(ConnectorInstance.id.in_(sorted(by_instance)))
        .order_by(ConnectorInstance.id)
        .with_for_update()
    ).all()
    granted: list[Any] = []
    for instance in instances:
        wanted = by_instance[instance.id]
        granted.extend(wanted[: _spend_tokens(instance, len(wanted), now)])
    if not granted:
        session.flush()
        return []
    session.execute(
        update(Delivery)
        .where(Delivery.id.in_([r.id for r in granted]))
        .values(
            lease_owner=owner,
            lease_expires_at=now + lease,
            attempts=Delivery.attempts + 1,
            first_attempt_at=func.coalesce(Delivery.first_attempt_at, now),
            last_attempt_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return [Leased(r.id, r.connector_id, r.attempts + 1, _envelope_of(r)) for r in granted]


def _envelope_of(row: Any) -> EventEnvelope:
    """The envelope from a due_query row (the event's columns, its id as event_id)."""
    return EventEnvelope(
        id=row.event_id,
        type=row.type,
        occurred_at=row.occurred_at,
        company_id=row.company_id,
        subject_type=row.subject_type,
        subject_id=row.subject_id,
        sequence=row.sequence,
        schema_version=row.schema_version,
        data=row.data,
    )


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
    ok = [o for o in outcomes if o.ok]
    failed = [o for o in outcomes if not o.ok]
    if ok:
        counts["delivered"] = _finish_delivered(session, owner, ok)
        counts["lost_lease"] += len(ok) - counts["delivered"]
    if not failed:
        return counts
    rows = {
        d.id: d
        for d in session.scalars(
            select(Delivery)
            .where(
                Delivery.id.in_([o.delivery_id for o in failed]),
                Delivery.lease_owner == owner,
                Delivery.status == DeliveryStatus.PENDING,
            )
            .with_for_update()
        )
    }
    for outcome in failed:
        d = rows.get(outcome.delivery_id)
        if d is None:  # our lease expired and someone else took it over
            counts["lost_lease"] += 1
            continue
        d.lease_owner, d.lease_expires_at = None, None
        d.last_status_code = outcome.status_code
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


FINISH_DELIVERED_PG = text(
    """
    UPDATE integration_deliveries AS d
    SET status = :delivered, delivered_at = done.d_at, last_status_code = done.d_code,
        last_error = NULL, lease_owner = NULL, lease_expires_at = NULL
    FROM unnest(
        CAST(:ids AS uuid[]), CAST(:ats AS timestamptz[]), CAST(:codes AS integer[])
    ) AS done (d_id, d_at, d_code)
    WHERE d.id = done.d_id AND d.lease_owner = :owner AND d.status = :pending
    RETURNING d.id
    """
)


def _finish_delivered(session: Session, owner: str, outcomes: list[Outcome]) -> int:
    """Mark successes delivered in one UPDATE, only rows whose lease is still ours;
    returns how many were. Delivery time and status code are per row (VALUES list)."""
    values = [
        {
            "d_id": o.delivery_id,
            "d_at": o.finished_at or utcnow(),
            "d_code": o.status_code,
        }
        for o in outcomes
    ]
    if session.get_bind().dialect.name != "postgresql":
        done = 0
        for v in values:  # SQLite: one writer anyway; a plain statement per row
            result = session.execute(
                update(Delivery)
                .where(
                    Delivery.id == v["d_id"],
                    Delivery.lease_owner == owner,
                    Delivery.status == DeliveryStatus.PENDING,
                )
                .values(
                    status=DeliveryStatus.DELIVERED,
                    delivered_at=v["d_at"],
                    last_status_code=v["d_code"],
                    last_error=None,
                    lease_owner=None,
                    lease_expires_at=None,
                )
                .execution_options(synchronize_session=False)
            )
            done += int(getattr(result, "rowcount", 0) or 0)
        return done
    # PostgreSQL: the rows travel as three arrays, so the statement text never changes
    # and is prepared once (a VALUES list would be compiled anew for every batch).
    result = session.execute(
        FINISH_DELIVERED_PG,
        {
            "ids": [v["d_id"] for v in values],
            "ats": [v["d_at"] for v in values],
            "codes": [v["d_code"] for v in values],
            "owner": owner,
            "delivered": DeliveryStatus.DELIVERED.value,
            "pending": DeliveryStatus.PENDING.value,
        },
    )
    return len(result.all())


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


@cache
def _next_due_query() -> Any:
    return (
        select(Delivery.next_attempt_at, Delivery.lease_expires_at)
        .join(ConnectorInstance, ConnectorInstance.id == Delivery.connector_id)
        .where(
            Delivery.status == DeliveryStatus.PENDING,
            ConnectorInstance.enabled.is_(True),
            _not_blocked(),
        )
        .order_by(Delivery.next_attempt_at)
        .limit(1)
    )


def next_due_at(session: Session, now: datetime) -> datetime | None:
    """When the next delivery can be claimed (a retry time or a lease expiry)."""
    row = session.execute(_next_due_query()).first()
    if row is None:
        return None
    candidates: list[datetime] = [max(row[0], row[1]) if row[1] is not None else row[0]]
    lease = session.scalar(
        select(func.min(Delivery.lease_expires_at)).where(
            Delivery.status == DeliveryStatus.PENDING, Delivery.lease_expires_at > now
        )
    )
    if lease is not None:
        candidates.append(lease)
    return min(candidates)
