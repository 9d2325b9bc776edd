"""Operator commands (`baoxiao events dead|replay`): no principal, audited as the CLI."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.audit.service import record as audit
from baoxiao.kernel.clock import utcnow
from baoxiao.models.integration import ConnectorInstance, Delivery, DeliveryStatus
from baoxiao.outbox import queue


def _dead(connector_id: uuid.UUID | None) -> list[object]:
    where: list[object] = [Delivery.status == DeliveryStatus.DEAD]
    if connector_id is not None:
        where.append(Delivery.connector_id == connector_id)
    return where


def dead_letters(session: Session, connector_id: uuid.UUID | None, limit: int) -> list[Delivery]:
    return list(
        session.scalars(
            select(Delivery)
            .where(*_dead(connector_id))  # type: ignore[arg-type]
            .order_by(Delivery.dead_at)
            .limit(limit)
        )
    )


def replay_dead(
    session: Session, connector_id: uuid.UUID | None, delivery_ids: list[uuid.UUID] | None
) -> int:
    stmt = select(Delivery.id, Delivery.connector_id).where(*_dead(connector_id))  # type: ignore[arg-type]
    if delivery_ids is not None:
        stmt = stmt.where(Delivery.id.in_(delivery_ids))
    rows = session.execute(stmt).all()
    count = queue.replay(session, [r[0] for r in rows], now=utcnow())
    for instance_id in {r[1] for r in rows}:
        instance = session.get(ConnectorInstance, instance_id)
        assert instance is not None
        audit(
            session,
            actor="cli",
            action="connector:replay",
            subject_type="connector",
            subject_id=str(instance_id),
            company_id=str(instance.company_id),
            data={"replayed": sum(1 for r in rows if r[1] == instance_id)},
        )
    return count
