"""Before a Feishu delivery: add what the connector needs to know, as plain data.

The connector sees no database. This adds `data["feishu"]` to a claim's event at
delivery time: the claim as it is now, the claimant's Feishu ids, the current
submission's uuid, the known approval instance code, and the round's tasks with
their assignees' Feishu ids.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.approvals import runtime
from baoxiao.connectors.base import EventEnvelope
from baoxiao.connectors.feishu.connector import submission_uuid
from baoxiao.integrations.feishu import refs
from baoxiao.models.approval import TaskKind
from baoxiao.models.claim import Claim
from baoxiao.models.integration import ConnectorInstance
from baoxiao.models.org import Department, Employee
from baoxiao.models.outbox import OutboxEvent


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def current_uuid(session: Session, claim_id: uuid.UUID, up_to: int | None = None) -> str | None:
    """The uuid of the claim's latest submission (at or before event sequence `up_to`)."""
    query = select(OutboxEvent.sequence).where(
        OutboxEvent.subject_type == "claim",
        OutboxEvent.subject_id == str(claim_id),
        OutboxEvent.type == "claim.submitted",
    )
    if up_to is not None:
        query = query.where(OutboxEvent.sequence <= up_to)
    seq = session.scalars(query.order_by(OutboxEvent.sequence.desc()).limit(1)).first()
    return submission_uuid(str(claim_id), seq) if seq is not None else None


def claim_snapshot(session: Session, claim: Claim, base_url: str) -> dict[str, Any]:
    department = session.get(Department, claim.department_id) if claim.department_id else None
    return {
        "id": str(claim.id),
        "number": claim.number,
        "reason": claim.reason,
        "status": claim.status,
        "total_amount": str(claim.total_amount),
        "currency": claim.currency,
        "claimant_name": claim.claimant.name,
        "department_name": department.name if department else None,
        "submitted_at": _iso(claim.submitted_at),
        "url": f"{base_url.rstrip('/')}/claims/{claim.id}",
        "lines_summary": "; ".join(f"{line.description}" for line in claim.lines)[:500],
    }


def enrich(session: Session, instance: ConnectorInstance, event: EventEnvelope) -> EventEnvelope:
    if event.subject_type != "claim":
        return event
    claim = session.get(Claim, uuid.UUID(event.subject_id))
    if claim is None:
        return event
    tasks = [t for t in runtime.round_tasks(session, claim) if t.kind == TaskKind.APPROVE]
    people = {t.assignee_id for t in tasks if t.assignee_id} | {claim.claimant_id}
    linked = refs.many(session, instance.id, refs.EMPLOYEE, people)
    names = {e.id: e.name for e in session.scalars(select(Employee).where(Employee.id.in_(people)))}
    claimant = linked.get(claim.claimant_id)
    instance_ref = refs.of_subject(session, instance.id, refs.CLAIM, claim.id)
    feishu = {
        "claim": claim_snapshot(session, claim, str(instance.config.get("public_base_url", ""))),
        "claimant": {"open_id": claimant.external_id, **claimant.data} if claimant else None,
        "uuid": current_uuid(session, claim.id, event.sequence),
        "instance_code": instance_ref.external_id if instance_ref else None,
        "tasks": [
            {
                "id": str(t.id),
                "step_name": t.step_name,
                "status": t.status,
                "open_id": linked[t.assignee_id].external_id if t.assignee_id in linked else None,
                "name": names.get(t.assignee_id) if t.assignee_id else None,
                "created_at": _iso(t.created_at),
                "decided_at": _iso(t.decided_at),
            }
            for t in tasks
        ],
    }
    return replace(event, data={**event.data, "feishu": feishu})
