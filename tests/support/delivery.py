"""Set up delivery scenarios directly in the database: a company, a webhook instance,
and events published through the real outbox.publish (so deliveries fan out as in
production)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from sqlalchemy import func, select

from baoxiao.kernel.crypto import SecretBox
from baoxiao.kernel.db import Database
from baoxiao.kernel.events import DomainEvent
from baoxiao.models.integration import ConnectorInstance, Delivery, DeliveryStatus
from baoxiao.outbox.service import publish
from tests.support.factories import ensure_currencies, make_company

TEST_SECRET_KEY = "k" * 48


def webhook_instance(
    db: Database, url: str, secret: str, *, timeout: float = 1.0, qps: float = 0, burst: int = 10
) -> tuple[uuid.UUID, uuid.UUID]:
    """A company and an enabled webhook instance to `url`; returns (company, instance)."""
    box = SecretBox.from_secret(TEST_SECRET_KEY)
    with db.transaction() as session:
        ensure_currencies(session)
        company, _d, _c = make_company(session, f"W{uuid.uuid4().hex[:6]}")
        instance = ConnectorInstance(
            id=uuid.uuid4(),
            company_id=company.id,
            kind="webhook",
            name="receiver",
            config={"url": url, "timeout_seconds": timeout, "tolerance_seconds": 300},
            event_types=["*"],
            allow_private_network=True,
            rate_limit_qps=qps,
            rate_burst=burst,
            rate_tokens=float(burst),
        )
        instance.secrets = {
            "secret": box.encrypt(secret, context=f"connector:{instance.id}:secret")
        }
        session.add(instance)
        return company.id, instance.id


def publish_events(
    db: Database,
    company: uuid.UUID,
    subjects: int,
    per_subject: int,
    claims: list[str] | None = None,
) -> list[str]:
    """Publish subjects x per_subject events, interleaved across subjects (new claims
    unless `claims` continues existing ones); returns the event ids."""
    ids: list[str] = []
    claims = claims or [str(uuid.uuid4()) for _ in range(subjects)]
    for n in range(per_subject):
        with db.transaction() as session:
            for claim in claims:
                row = publish(
                    session,
                    DomainEvent(
                        type="claim.submitted" if n == 0 else "approval.task.created",
                        subject_type="claim",
                        subject_id=claim,
                        company_id=str(company),
                        data={"claim_id": claim, "n": n},
                    ),
                )
                ids.append(row.id)
    return ids


def counts(db: Database) -> dict[str, int]:
    with db.transaction() as session:
        return {
            status: int(n)
            for status, n in session.execute(
                select(Delivery.status, func.count()).group_by(Delivery.status)
            )
        }


def wait_until(predicate: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def all_delivered(db: Database, total: int) -> bool:
    return counts(db).get(DeliveryStatus.DELIVERED, 0) == total
