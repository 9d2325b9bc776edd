"""Inbound callbacks: verify and store fast, apply later, exactly once.

`receive` runs in the request: the connector verifies the signature and the
timestamp, the message is inserted into the inbox keyed by (connector,
external id) with INSERT ... ON CONFLICT DO NOTHING, and the caller gets 202
(or 200 for a replay) without waiting for any domain work. `apply_pending`
runs in the worker: each message is applied in its own transaction through
the domain services, acting as the instance's configured user, so the same
rights, audit and outbox rules hold as for a person clicking in the UI.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from baoxiao.approvals import service as approvals
from baoxiao.connectors.base import InboundEvent, InboundRejected, InboundRequest
from baoxiao.identity.service import principal_for
from baoxiao.integrations import hooks
from baoxiao.integrations import service as instances
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.crypto import SecretBox
from baoxiao.kernel.db import Database
from baoxiao.kernel.errors import AppError
from baoxiao.kernel.ids import new_id
from baoxiao.models.claim import Claim
from baoxiao.models.identity import User
from baoxiao.models.integration import ConnectorInstance, InboxMessage, InboxStatus
from baoxiao.outbox.service import announce
from baoxiao.payments import service as payments

log = logging.getLogger("baoxiao.integrations.inbound")
MAX_ATTEMPTS = 10


class UnknownCallbackTarget(InboundRejected):
    status = 404
    code = "connector_not_found"


def receive(
    session: Session, box: SecretBox, connector_id: uuid.UUID, request: InboundRequest
) -> tuple[bool, InboundEvent]:
    """Verify and store a callback; returns (is_new, event)."""
    instance = enabled_instance(session, connector_id)
    connector = instances.connector_class(instance.kind)()
    event = connector.verify_and_parse(instances.context(box, instance), request)
    return store(session, instance, event, request.received_at), event


def enabled_instance(session: Session, connector_id: uuid.UUID) -> ConnectorInstance:
    instance = session.get(ConnectorInstance, connector_id)
    if instance is None or not instance.enabled:
        raise UnknownCallbackTarget()
    return instance


def store(
    session: Session,
    instance: ConnectorInstance,
    event: InboundEvent,
    received_at: datetime,
    *,
    status: str = InboxStatus.RECEIVED,
    result: str | None = None,
) -> bool:
    """Insert a verified event into the inbox unless its id is known; True when new."""
    values = {
        "id": new_id(),
        "connector_id": instance.id,
        "external_id": event.external_id[:200],
        "type": event.type,
        "data": event.data,
        "status": status,
        "attempts": 0 if status == InboxStatus.RECEIVED else 1,
        "result": result,
        "received_at": received_at,
        "processed_at": None if status == InboxStatus.RECEIVED else received_at,
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(InboxMessage)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["connector_id", "external_id"])
        .returning(InboxMessage.id)
    )
    # RETURNING, not rowcount: the driver's rowcount is not reliable for ON CONFLICT here.
    is_new = session.execute(stmt).first() is not None
    if is_new and status == InboxStatus.RECEIVED:
        announce(session)
    return is_new


def _actor(session: Session, instance: ConnectorInstance, username: str | None) -> User | None:
    if username:
        user = session.scalars(
            select(User).where(User.username == username, User.company_id == instance.company_id)
        ).first()
    else:
        user = session.get(User, instance.actor_user_id) if instance.actor_user_id else None
    return user if user is not None and user.active else None


def _apply(
    session: Session, box: SecretBox | None, instance: ConnectorInstance, msg: InboxMessage
) -> tuple[str, str]:
    """Apply one message; returns (status, result text)."""
    applier = hooks.APPLIERS.get(instance.kind)
    if applier is not None:
        return applier(session, box, instance, msg)
    data = msg.data
    user = _actor(session, instance, data.get("decided_by"))
    if user is None:
        return InboxStatus.FAILED, "no active acting user configured or named"
    principal = principal_for(user)
    if msg.type == "approval.decision":
        claim = session.get(Claim, uuid.UUID(data["claim_id"]))
        if claim is None or claim.company_id != instance.company_id:
            return InboxStatus.IGNORED, "unknown claim"
        task = approvals.open_task_for(session, principal, claim)
        if task is None:
            return (
                InboxStatus.IGNORED,
                f"no pending task for {user.username} (claim {claim.status})",
            )
        approvals.decide(session, principal, task.id, data["decision"], data.get("comment"))
        return InboxStatus.APPLIED, f"{data['decision']} task {task.id}"
    if msg.type == "payment.succeeded":
        payment = payments.record_success(
            session, principal, uuid.UUID(data["payment_id"]), data.get("external_reference")
        )
        return InboxStatus.APPLIED, f"payment {payment.reference} {payment.status}"
    if msg.type == "payment.failed":
        payment = payments.record_failure(
            session, principal, uuid.UUID(data["payment_id"]), data["reason"]
        )
        return InboxStatus.APPLIED, f"payment {payment.reference} {payment.status}"
    return InboxStatus.IGNORED, f"unhandled type {msg.type}"


def apply_one(db: Database, message_id: uuid.UUID, box: SecretBox | None = None) -> str | None:
    """Apply a received message in its own transaction; None if another worker has it."""
    with db.transaction() as session:
        msg = session.scalars(
            select(InboxMessage)
            .where(InboxMessage.id == message_id, InboxMessage.status == InboxStatus.RECEIVED)
            .with_for_update(skip_locked=True)
        ).first()
        if msg is None:
            return None
        instance = session.get(ConnectorInstance, msg.connector_id)
        assert instance is not None
        msg.attempts += 1
        try:
            with session.begin_nested():
                status, result = _apply(session, box, instance, msg)
        except AppError as exc:  # refused by the domain: final, kept for the monitor
            status, result = InboxStatus.FAILED, f"{exc.code}: {exc.render('en')}"
        except Exception as exc:  # unexpected: retried by the next pass, up to a limit
            log.exception("applying inbox message %s failed", msg.id)
            if msg.attempts < MAX_ATTEMPTS:
                msg.result = repr(exc)[:2000]
                return InboxStatus.RECEIVED
            status, result = InboxStatus.FAILED, repr(exc)[:2000]
        msg.status, msg.result, msg.processed_at = status, result, utcnow()
        return status


def apply_pending(db: Database, limit: int = 100, box: SecretBox | None = None) -> int:
    """Apply received messages, oldest first; returns how many were handled."""
    with db.transaction() as session:
        ids = list(
            session.scalars(
                select(InboxMessage.id)
                .where(
                    InboxMessage.status == InboxStatus.RECEIVED,
                    InboxMessage.attempts < MAX_ATTEMPTS,
                )
                .order_by(InboxMessage.received_at)
                .limit(limit)
            )
        )
    return sum(1 for message_id in ids if apply_one(db, message_id, box) is not None)


def purge(session: Session, *, now: datetime, keep_days: int) -> int:
    """Drop processed messages older than the retention (never less than 30 days)."""
    cutoff = now - timedelta(days=max(30, keep_days))
    result = session.execute(
        delete(InboxMessage).where(
            InboxMessage.received_at < cutoff, InboxMessage.status != InboxStatus.RECEIVED
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
