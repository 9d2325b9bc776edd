"""The sync monitor: deliveries by status, backlog per instance, dead-letter replay."""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from baoxiao.audit.service import record as audit
from baoxiao.identity import permissions
from baoxiao.identity.principal import Principal
from baoxiao.integrations import metrics
from baoxiao.integrations import service as instances
from baoxiao.integrations.schemas import ConnectorBacklog, MonitorRead
from baoxiao.kernel.clock import utcnow
from baoxiao.models.integration import (
    ConnectorInstance,
    Delivery,
    DeliveryStatus,
    InboxMessage,
    InboxStatus,
)
from baoxiao.outbox import queue


def list_deliveries(
    session: Session,
    principal: Principal,
    connector_id: uuid.UUID,
    *,
    status: str | None = None,
    limit: int = 100,
) -> list[Delivery]:
    """Newest first, optionally only one status (pending, delivered, dead)."""
    instance = instances.get(session, principal, connector_id)
    stmt = select(Delivery).where(Delivery.connector_id == instance.id)
    if status:
        stmt = stmt.where(Delivery.status == status)
    return list(session.scalars(stmt.order_by(Delivery.created_at.desc()).limit(limit)))


def replay(
    session: Session,
    principal: Principal,
    connector_id: uuid.UUID,
    delivery_ids: list[uuid.UUID] | None,
) -> int:
    """Queue dead deliveries again (all of the instance's, or the ones named)."""
    instance = instances.get(session, principal, connector_id)
    stmt = select(Delivery.id).where(
        Delivery.connector_id == instance.id, Delivery.status == DeliveryStatus.DEAD
    )
    if delivery_ids is not None:
        stmt = stmt.where(Delivery.id.in_(delivery_ids))
    ids = list(session.scalars(stmt))
    count = queue.replay(session, ids, now=utcnow()) if ids else 0
    audit(
        session,
        actor=principal.actor,
        action="connector:replay",
        subject_type="connector",
        subject_id=str(instance.id),
        company_id=str(instance.company_id),
        data={"replayed": count},
    )
    return count


def backlog(session: Session, company_ids: set[uuid.UUID] | None) -> list[ConnectorBacklog]:
    """Counts per instance (all companies when company_ids is None, e.g. /metrics)."""
    now = utcnow()
    pending = Delivery.status == DeliveryStatus.PENDING
    leased = pending & Delivery.lease_expires_at.is_not(None) & (Delivery.lease_expires_at > now)

    def count(cond: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    stmt = (
        select(
            ConnectorInstance,
            count(pending),
            count(pending & (Delivery.next_attempt_at <= now)),
            count(leased),
            count(Delivery.status == DeliveryStatus.DELIVERED),
            count(Delivery.status == DeliveryStatus.DEAD),
            func.min(case((pending, Delivery.created_at), else_=None)),
        )
        .outerjoin(Delivery, Delivery.connector_id == ConnectorInstance.id)
        .group_by(ConnectorInstance.id)
        .order_by(ConnectorInstance.created_at)
    )
    if company_ids is not None:
        stmt = stmt.where(ConnectorInstance.company_id.in_(company_ids))
    out = []
    for inst, n_pending, n_due, n_leased, n_done, n_dead, oldest in session.execute(stmt):
        last_error = session.scalar(
            select(Delivery.last_error)
            .where(Delivery.connector_id == inst.id, Delivery.last_error.is_not(None))
            .order_by(Delivery.last_attempt_at.desc())
            .limit(1)
        )
        out.append(
            ConnectorBacklog(
                connector_id=inst.id,
                name=inst.name,
                kind=inst.kind,
                enabled=inst.enabled,
                pending=int(n_pending),
                due=int(n_due),
                in_flight=int(n_leased),
                delivered=int(n_done),
                dead=int(n_dead),
                oldest_pending_at=oldest,
                last_error=last_error,
            )
        )
    return out


def monitor(session: Session, principal: Principal) -> MonitorRead:
    """Backlog per instance and inbox health, for the caller's companies."""
    permissions.require_right(principal, permissions.Right.INTEGRATIONS_ADMIN, principal.company_id)
    company_ids = permissions.companies_with_right(principal, permissions.Right.INTEGRATIONS_ADMIN)
    inbox = {
        status: n
        for status, n in session.execute(
            select(InboxMessage.status, func.count())
            .join(ConnectorInstance, ConnectorInstance.id == InboxMessage.connector_id)
            .where(
                permissions.in_companies_with_right(
                    principal, permissions.Right.INTEGRATIONS_ADMIN, ConnectorInstance.company_id
                )
            )
            .group_by(InboxMessage.status)
        )
    }
    return MonitorRead(
        connectors=backlog(session, company_ids),
        inbox_received=int(inbox.get(InboxStatus.RECEIVED, 0)),
        inbox_failed=int(inbox.get(InboxStatus.FAILED, 0)),
    )


def refresh_gauges(session: Session) -> None:
    """Set the backlog gauges from the database (called at scrape time)."""
    metrics.BACKLOG.clear()
    metrics.DEAD_LETTERS.clear()
    for row in backlog(session, None):
        metrics.BACKLOG.labels(str(row.connector_id), row.kind).set(row.pending)
        metrics.DEAD_LETTERS.labels(str(row.connector_id), row.kind).set(row.dead)
    metrics.INBOX_RECEIVED.set(
        session.scalar(select(func.count()).where(InboxMessage.status == InboxStatus.RECEIVED)) or 0
    )
