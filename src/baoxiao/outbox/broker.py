"""Optional fan-out of every event to a message broker (setting BAOXIAO_BROKER_URL).

The broker is not a side channel: it is a connector instance like any other
(kind `nats`, name `broker`, subscribed to "*"), created for a company the
first time one of its events is published while a broker is configured. Its
deliveries therefore take the same road as webhooks: written in the
publishing transaction, ordered per subject, leased, retried with backoff,
dead-lettered and replayable, visible in the monitor. Its config carries no
URL: the dispatcher fills in the configured one (integrations.service.context),
so changing the setting and restarting the workers is enough to move it.
An admin may disable the instance (or narrow its event types) like any other.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.kernel.clock import utcnow
from baoxiao.models.integration import ConnectorInstance
from baoxiao.models.org import Company

KIND = "nats"
NAME = "broker"
_url: str | None = None


def configure(url: str | None) -> None:
    """Set (or clear) the broker URL of this process; create_app and workers call it."""
    global _url
    _url = url or None


def url() -> str | None:
    return _url


def is_broker(instance: ConnectorInstance) -> bool:
    return instance.kind == KIND and instance.name == NAME


def provision(
    session: Session, company_id: uuid.UUID, instances: Sequence[ConnectorInstance]
) -> ConnectorInstance | None:
    """Create the company's broker instance if a broker is configured and it has none.

    Runs inside the publishing transaction. The company row lock (PostgreSQL;
    SQLite transactions are serialised anyway) makes concurrent first events
    of a company create one instance, not two.
    """
    if _url is None or any(is_broker(i) for i in instances):
        return None
    session.execute(select(Company.id).where(Company.id == company_id).with_for_update())
    existing = session.scalar(
        select(ConnectorInstance).where(
            ConnectorInstance.company_id == company_id,
            ConnectorInstance.kind == KIND,
            ConnectorInstance.name == NAME,
        )
    )
    if existing is not None:
        return existing if existing.enabled else None
    now = utcnow()
    instance = ConnectorInstance(
        company_id=company_id,
        kind=KIND,
        name=NAME,
        config={},
        secrets={},
        event_types=["*"],
        enabled=True,
        allow_private_network=True,  # set by the operator, not by a company admin
        rate_limit_qps=0.0,  # no client-side limit: the broker absorbs bursts
        rate_burst=1,
        rate_tokens=0.0,
        created_at=now,
        updated_at=now,
    )
    session.add(instance)
    session.flush()
    return instance
