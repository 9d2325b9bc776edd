"""Per-kind glue hooks: what a connector kind needs before delivery and after receipt.

`enrich` adds plain data to an event before a connector of that kind gets it (the
connector sees no database); `apply` applies that kind's own inbound messages. A kind
without hooks gets the event as published and the generic inbound handling.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from sqlalchemy.orm import Session

from baoxiao.connectors.base import EventEnvelope
from baoxiao.integrations.feishu import events as feishu_events
from baoxiao.integrations.feishu import outbound as feishu_outbound
from baoxiao.kernel.crypto import SecretBox
from baoxiao.models.integration import ConnectorInstance, InboxMessage
from baoxiao.outbox.queue import Leased

Enricher = Callable[[Session, ConnectorInstance, EventEnvelope], EventEnvelope]
Applier = Callable[[Session, SecretBox | None, ConnectorInstance, InboxMessage], tuple[str, str]]

ENRICHERS: dict[str, Enricher] = {"feishu": feishu_outbound.enrich}
APPLIERS: dict[str, Applier] = {"feishu": feishu_events.apply}


def enrich_batch(session: Session, leased: list[Leased]) -> list[Leased]:
    """Enrich the claimed deliveries of kinds that have an enricher (same transaction)."""
    out = []
    for item in leased:
        instance = session.get(ConnectorInstance, item.connector_id)
        enricher = ENRICHERS.get(instance.kind) if instance is not None else None
        if enricher is not None and instance is not None:
            item = replace(item, event=enricher(session, instance, item.event))
        out.append(item)
    return out
