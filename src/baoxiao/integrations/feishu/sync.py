"""Operator runs against Feishu: full org sync and reconciliation of in-flight claims.

Both fetch from Feishu outside any transaction, then write in short transactions,
so a slow Feishu never holds database locks.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from baoxiao.connectors.base import ConnectorContext, ConnectorError
from baoxiao.connectors.feishu.config import FeishuConfig
from baoxiao.connectors.feishu.connector import FeishuConnector
from baoxiao.integrations import service as instances
from baoxiao.integrations.feishu import events, org, refs
from baoxiao.integrations.feishu.outbound import current_uuid
from baoxiao.integrations.feishu.signin import feishu_instance
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.crypto import SecretBox
from baoxiao.kernel.db import Database
from baoxiao.models.claim import Claim, ClaimStatus

IN_FLIGHT = (ClaimStatus.SUBMITTED, ClaimStatus.APPROVING)


def _context(db: Database, box: SecretBox, connector_id: uuid.UUID) -> ConnectorContext:
    with db.transaction() as session:
        return instances.context(box, feishu_instance(session, connector_id))


def sync_org(
    db: Database, box: SecretBox, connector_id: uuid.UUID, progress: org.Progress | None = None
) -> org.SyncReport:
    """Fetch every department and user from contact v3, then apply them in one go."""
    ctx = _context(db, box, connector_id)
    client = FeishuConnector().client(ctx)
    departments = list(client.departments())
    if progress:
        progress("fetched departments", len(departments))
    members: dict[str, list[dict[str, Any]]] = {}
    for dept_id in ["0", *(d["open_department_id"] for d in departments)]:
        members[dept_id] = list(client.users_in(dept_id))
        if progress:
            progress("fetched users", len(members[dept_id]))
    with db.transaction() as session:
        instance = feishu_instance(session, connector_id)
        return org.full_sync(session, instance, departments, members.__getitem__, progress)


@dataclass(frozen=True)
class Repair:
    claim_number: str
    instance_code: str | None
    outcome: str


def _candidates(
    db: Database, connector_id: uuid.UUID, cutoff: datetime
) -> list[tuple[uuid.UUID, str, str | None, str | None, str | None]]:
    with db.transaction() as session:
        instance = feishu_instance(session, connector_id)
        claims = session.scalars(
            select(Claim).where(
                Claim.company_id == instance.company_id, Claim.status.in_(IN_FLIGHT)
            )
        ).all()
        linked = refs.many(session, instance.id, refs.CLAIM, {c.id for c in claims})
        out = []
        for claim in claims:
            ref = linked.get(claim.id)
            quiet_since = ref.seen_at if ref is not None else claim.submitted_at
            if quiet_since is not None and quiet_since > cutoff:
                continue  # heard of recently: not overdue
            submitted = claim.submitted_at.isoformat() if claim.submitted_at else None
            code = ref.external_id if ref is not None else None
            out.append((claim.id, claim.number, code, current_uuid(session, claim.id), submitted))
        return out


def reconcile(
    db: Database,
    box: SecretBox,
    connector_id: uuid.UUID,
    *,
    now: datetime | None = None,
    older_than: timedelta | None = None,
) -> list[Repair]:
    """For every in-flight claim whose Feishu instance was quiet too long, fetch it and apply
    what was missed (mode "feishu"); returns one line per claim looked at."""
    ctx = _context(db, box, connector_id)
    config = ctx.config
    assert isinstance(config, FeishuConfig)
    if config.mode != "feishu":
        return []
    quiet = (
        older_than if older_than is not None else timedelta(minutes=config.reconcile_after_minutes)
    )
    connector = FeishuConnector()
    client = connector.client(ctx)
    repairs: list[Repair] = []
    for _claim_id, number, code, uid, submitted in _candidates(
        db, connector_id, (now or utcnow()) - quiet
    ):
        try:
            code = code or (connector.find_instance(ctx, uid, submitted) if uid else None)
            if code is None:
                repairs.append(Repair(number, None, "no Feishu instance yet (delivery pending?)"))
                continue
            remote = client.get_instance(code)
        except ConnectorError as exc:
            repairs.append(Repair(number, code, f"not checked: {exc}"))
            continue
        data = {"instance_code": code, "uuid": remote.get("uuid"), "status": remote.get("status")}
        with db.transaction() as session:
            instance = feishu_instance(session, connector_id)
            status, result = events.instance_event(session, box, instance, data)
        repairs.append(Repair(number, code, f"{status}: {result}"))
    return repairs
