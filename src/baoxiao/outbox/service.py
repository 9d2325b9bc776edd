"""Publish events into the outbox, in the caller's transaction.

Delivery (dispatcher, retries, connectors) is built on these rows; writing
them in the same transaction as the change is what makes "nothing lost"
possible.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.events import DomainEvent
from baoxiao.kernel.ids import new_ulid
from baoxiao.models.outbox import OutboxEvent


def publish(session: Session, event: DomainEvent, *, at: datetime | None = None) -> OutboxEvent:
    """Add the event with the next sequence number of its subject.

    Callers hold a lock on the subject (the claim row), so sequences of one
    subject never race.
    """
    last = session.scalar(
        select(func.max(OutboxEvent.sequence)).where(
            OutboxEvent.subject_type == event.subject_type,
            OutboxEvent.subject_id == event.subject_id,
        )
    )
    row = OutboxEvent(
        id=new_ulid(),
        type=event.type,
        occurred_at=at or utcnow(),
        company_id=event.company_id,
        subject_type=event.subject_type,
        subject_id=event.subject_id,
        sequence=(last or 0) + 1,
        schema_version=event.schema_version,
        data=event.data,
    )
    session.add(row)
    return row
