"""Publish events into the outbox, and fan them out to subscriptions, in the caller's
transaction.

Writing the event, and one Delivery row per subscribed connector instance, in
the same transaction as the change is what makes "nothing lost" possible: the
dispatcher (integrations.dispatcher) only ever reads committed rows. Fanning
out here rather than in a later relay step also fixes the per-subject order at
the source: event n's deliveries are committed before event n+1 can exist,
because the caller holds the subject's lock.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, SessionTransaction

from baoxiao.kernel import wakeup
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.events import DomainEvent
from baoxiao.kernel.ids import new_ulid
from baoxiao.models.integration import ConnectorInstance, Delivery
from baoxiao.models.outbox import OutboxEvent
from baoxiao.outbox import broker

NOTIFY_CHANNEL = "baoxiao_deliveries"
# Per transaction (in session.info): the last sequence published per subject, and the
# connector instances per company. A request that publishes three events selects each once.
_SEQUENCES = "baoxiao_outbox_sequences"
_INSTANCES = "baoxiao_outbox_instances"


@sa_event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, _previous: SessionTransaction | None = None) -> None:
    # A rollback (also of a savepoint) may undo events or instances the caches count on.
    session.info.pop(_SEQUENCES, None)
    session.info.pop(_INSTANCES, None)


@sa_event.listens_for(Session, "after_transaction_end")
def _transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the transaction itself, not a flush or a savepoint
        _forget(session)


@sa_event.listens_for(Session, "transient_to_pending")
def _instance_added(session: Session, instance: object) -> None:
    if isinstance(instance, ConnectorInstance):
        session.info.pop(_INSTANCES, None)


def _next_sequence(session: Session, event: DomainEvent) -> int:
    """The subject's next sequence; the caller's lock on the subject keeps it stable."""
    known: dict[tuple[str, str], int] = session.info.setdefault(_SEQUENCES, {})
    subject = (event.subject_type, event.subject_id)
    last = known.get(subject)
    if last is None:
        # No autoflush: only publish adds events, and it would have noted any pending one.
        with session.no_autoflush:
            last = (
                session.scalar(
                    select(func.max(OutboxEvent.sequence)).where(
                        OutboxEvent.subject_type == event.subject_type,
                        OutboxEvent.subject_id == event.subject_id,
                    )
                )
                or 0
            )
    known[subject] = last + 1
    return last + 1


def publish(session: Session, event: DomainEvent, *, at: datetime | None = None) -> OutboxEvent:
    """Add the event with the next sequence number of its subject, and its deliveries.

    Callers hold a lock on the subject (the claim row), so sequences of one
    subject never race.
    """
    sequence = _next_sequence(session, event)
    row = OutboxEvent(
        id=new_ulid(),
        type=event.type,
        occurred_at=at or utcnow(),
        company_id=event.company_id,
        subject_type=event.subject_type,
        subject_id=event.subject_id,
        sequence=sequence,
        schema_version=event.schema_version,
        data=event.data,
    )
    session.add(row)
    fan_out(session, row)
    return row


def subscribes(patterns: list[Any], event_type: str) -> bool:
    """Does a subscription's list of type patterns ("*", "claim.*", exact) match?"""
    return any(isinstance(p, str) and fnmatchcase(event_type, p) for p in patterns)


def fan_out(session: Session, row: OutboxEvent) -> list[Delivery]:
    """One pending Delivery per enabled connector instance of the company that subscribes."""
    try:
        company = uuid.UUID(row.company_id)
    except ValueError:
        return []
    every = _instances(session, company)
    instances = [i for i in every if i.enabled]
    added = broker.provision(session, company, every)
    if added is not None and added not in instances:
        instances.append(added)
    deliveries = [
        Delivery(
            connector_id=instance.id,
            event_id=row.id,
            event_type=row.type,
            subject_key=f"{row.subject_type}:{row.subject_id}",
            sequence=row.sequence,
            next_attempt_at=row.occurred_at,
            created_at=row.occurred_at,
        )
        for instance in instances
        if subscribes(instance.event_types, row.type)
    ]
    if deliveries:
        # Deliveries reference the event by a plain foreign key, without a relationship the
        # unit of work could order by: insert the event first.
        session.flush()
        session.add_all(deliveries)
        announce(session)
    return deliveries


def _instances(session: Session, company: uuid.UUID) -> list[ConnectorInstance]:
    cache: dict[uuid.UUID, list[ConnectorInstance]] = session.info.setdefault(_INSTANCES, {})
    every = cache.get(company)
    if every is None:
        every = cache[company] = list(
            session.scalars(
                select(ConnectorInstance).where(ConnectorInstance.company_id == company)
            )
        )
    deleted = session.deleted
    return [i for i in every if i not in deleted] if deleted else every


def announce(session: Session) -> None:
    """Wake dispatchers once this transaction commits: NOTIFY on PostgreSQL (delivered
    by the server at commit), an in-process signal otherwise. Polling is the fallback."""
    if session.info.get("baoxiao_announced"):
        return
    session.info["baoxiao_announced"] = True
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})

    def _after_commit(_session: Session) -> None:
        wakeup.notify()

    def _after_end(sess: Session, _transaction: Any) -> None:
        sess.info.pop("baoxiao_announced", None)

    sa_event.listen(session, "after_commit", _after_commit, once=True)
    sa_event.listen(session, "after_transaction_end", _after_end, once=True)
