"""Approval delegated to an outside system (an OA such as Feishu's native approval).

When an enabled connector instance of the claim's company says it runs the
approval (`Connector.runs_approval(config)`, a generic question every connector
answers), Baoxiao creates no approval tasks: the claim waits in approving with
an ApprovalInstance of status "delegated", nobody in Baoxiao may decide it, and
the connector's integration moves the claim when the outside system decides.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.approvals.errors import ApprovalDelegated
from baoxiao.claims import lifecycle
from baoxiao.connectors import registry
from baoxiao.kernel.clock import utcnow
from baoxiao.models.approval import ApprovalInstance
from baoxiao.models.claim import Claim, ClaimAction, ClaimStatus
from baoxiao.models.integration import ConnectorInstance

DELEGATED = "delegated"


def delegate_of(session: Session, company_id: uuid.UUID) -> ConnectorInstance | None:
    """The company's enabled connector instance that runs the approval, if any (oldest first)."""
    rows = session.scalars(
        select(ConnectorInstance)
        .where(ConnectorInstance.company_id == company_id, ConnectorInstance.enabled.is_(True))
        .order_by(ConnectorInstance.created_at, ConnectorInstance.id)
    )
    for row in rows:
        cls = registry.get(row.kind)
        if cls is not None and cls.runs_approval(row.config or {}):
            return row
    return None


def delegated_route(row: ConnectorInstance) -> dict[str, Any]:
    """What the instance pins instead of a resolved route, and what GET /route shows."""
    cls = registry.get(row.kind)
    title = cls.title if cls is not None else row.kind
    return {
        "flow": None,
        "delegated_to": {
            "connector_id": str(row.id),
            "kind": row.kind,
            "name": row.name,
            "title": title,
        },
        "explanation": {
            "en": f"The approval runs in {title} (connector {row.name!r}); "
            "Baoxiao follows its decision and no one approves it in Baoxiao.",
            "zh": f"该报销单在{title}中审批(连接器「{row.name}」),"
            "本系统跟随其审批结果,不在本系统内审批。",
        },
        "steps": [],
        "nodes": [],
        "cc": [],
    }


def start(
    session: Session, claim: Claim, round_no: int, delegate: ConnectorInstance, *, actor: str
) -> None:
    """The outside system runs this round: no tasks, the claim waits for its decision."""
    session.add(
        ApprovalInstance(
            id=uuid.uuid4(),
            claim_id=claim.id,
            company_id=claim.company_id,
            round=round_no,
            flow_version_id=None,
            definition={},
            route=delegated_route(delegate),
            status=DELEGATED,
            created_at=utcnow(),
        )
    )
    session.flush()
    lifecycle.apply(
        session,
        claim,
        ClaimAction.START_APPROVAL,
        actor=actor,
        extra={
            "round": round_no,
            "delegated_to": {"connector_id": str(delegate.id), "kind": delegate.kind},
        },
    )


def is_delegated(instance: ApprovalInstance | None) -> bool:
    return instance is not None and bool(instance.route.get("delegated_to"))


def require_not_delegated(instance: ApprovalInstance | None, claim: Claim) -> None:
    """409 approval_delegated while the claim's approval runs outside Baoxiao."""
    if is_delegated(instance) and claim.status in (ClaimStatus.SUBMITTED, ClaimStatus.APPROVING):
        assert instance is not None
        raise ApprovalDelegated(system=instance.route["delegated_to"]["title"])
