"""Approval flow administration, simulation, delegations and claim routes under /api/v1."""

from __future__ import annotations

import json
import uuid
from typing import Any

import yaml
from fastapi import APIRouter, Request, status
from sqlalchemy.orm import Session

from baoxiao.approvals import actions, flows
from baoxiao.approvals.definition import schema
from baoxiao.approvals.errors import FlowInvalid
from baoxiao.approvals.schemas import (
    CommentBody,
    DelegationCreate,
    DelegationRead,
    FlowRead,
    FlowVersionRead,
    SimulateBody,
)
from baoxiao.identity.deps import CurrentPrincipal, DbSession
from baoxiao.kernel.routing import TransactionalRoute
from baoxiao.models.approval import ApprovalFlow

router = APIRouter(route_class=TransactionalRoute, tags=["approval flows"])
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")


def _read(session: Session, flow: ApprovalFlow) -> FlowRead:
    return FlowRead(
        id=flow.id,
        key=flow.key,
        name=flow.name,
        active=flow.active,
        versions=[
            FlowVersionRead(
                id=v.id,
                version=v.version,
                status=v.status,
                document=v.document,
                created_at=v.created_at,
                published_at=v.published_at,
            )
            for v in flows.versions(session, flow)
        ],
    )


async def _document(request: Request) -> Any:
    """The flow document from a JSON or YAML body."""
    raw = await request.body()
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if kind in YAML_TYPES:
            return yaml.safe_load(raw.decode("utf-8"))
        return json.loads(raw)
    except (ValueError, yaml.YAMLError) as exc:
        raise FlowInvalid(errors=[{"field": "", "message": f"not parseable: {exc}"[:300]}]) from exc


@router.get("/approval-flows/schema")
def flow_schema() -> dict[str, Any]:
    """The JSON Schema every flow document must satisfy."""
    return schema()


@router.get("/approval-flows", response_model=list[FlowRead])
def list_flows(principal: CurrentPrincipal, session: DbSession) -> list[FlowRead]:
    """The company's flows with all their versions (admins)."""
    return [_read(session, f) for f in flows.list_flows(session, principal)]


@router.post("/approval-flows", response_model=FlowRead, status_code=status.HTTP_201_CREATED)
async def create_flow(
    request: Request, principal: CurrentPrincipal, session: DbSession
) -> FlowRead:
    """Create a flow from a JSON or YAML document; it starts as draft version 1."""
    document = await _document(request)
    flow = flows.create_flow(session, principal, document)
    return _read(session, flow)


@router.get("/approval-flows/{flow_id}", response_model=FlowRead)
def get_flow(flow_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> FlowRead:
    """One flow with its versions."""
    return _read(session, flows.get_flow(session, principal, flow_id))


@router.put("/approval-flows/{flow_id}/draft", response_model=FlowVersionRead)
async def save_draft(
    flow_id: uuid.UUID, request: Request, principal: CurrentPrincipal, session: DbSession
) -> FlowVersionRead:
    """Replace the draft (or start the next version's draft)."""
    document = await _document(request)
    v = flows.save_draft(session, principal, flow_id, document)
    return FlowVersionRead(
        id=v.id,
        version=v.version,
        status=v.status,
        document=v.document,
        created_at=v.created_at,
        published_at=v.published_at,
    )


@router.post("/approval-flows/{flow_id}/publish", response_model=FlowVersionRead)
def publish_flow(
    flow_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> FlowVersionRead:
    """Publish the draft after the semantic checks; claims in flight keep their version."""
    v = flows.publish(session, principal, flow_id)
    return FlowVersionRead(
        id=v.id,
        version=v.version,
        status=v.status,
        document=v.document,
        created_at=v.created_at,
        published_at=v.published_at,
    )


@router.post("/approval-flows/simulate")
def simulate(body: SimulateBody, principal: CurrentPrincipal, session: DbSession) -> dict[str, Any]:
    """Resolve the route of a saved or hypothetical claim, explaining every node."""
    return flows.simulate(
        session,
        principal,
        claim_id=body.claim_id,
        claim_data=body.claim.model_dump() if body.claim else None,
        document=body.document,
        flow_id=body.flow_id,
    )


@router.get("/claims/{claim_id}/route", tags=["claims"])
def claim_route(
    claim_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> dict[str, Any]:
    """The claim's approval route: pinned and live while in approval, expected otherwise."""
    return flows.route_for_claim(session, principal, claim_id)


@router.post("/claims/{claim_id}/comments", status_code=status.HTTP_204_NO_CONTENT, tags=["claims"])
def comment_on_claim(
    claim_id: uuid.UUID, body: CommentBody, principal: CurrentPrincipal, session: DbSession
) -> None:
    """Add a remark to the claim's timeline."""
    actions.comment(session, principal, claim_id, body.comment)


@router.post("/claims/{claim_id}/urge", tags=["claims"])
def urge(claim_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> dict[str, Any]:
    """Remind the current approvers (催办); the claimant only, once an hour."""
    tasks = actions.urge(session, principal, claim_id)
    return {"urged_tasks": [str(t.id) for t in tasks]}


@router.get("/approval-delegations", response_model=list[DelegationRead])
def list_delegations(principal: CurrentPrincipal, session: DbSession) -> list[DelegationRead]:
    """Delegations given by or to the caller."""
    return [DelegationRead.model_validate(d) for d in actions.list_delegations(session, principal)]


@router.post(
    "/approval-delegations", response_model=DelegationRead, status_code=status.HTTP_201_CREATED
)
def create_delegation(
    body: DelegationCreate, principal: CurrentPrincipal, session: DbSession
) -> DelegationRead:
    """Name a delegate for a period; new tasks go to them, acting for you."""
    row = actions.delegate(
        session,
        principal,
        delegate_id=body.delegate_id,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        delegator_id=body.delegator_id,
    )
    return DelegationRead.model_validate(row)


@router.delete("/approval-delegations/{delegation_id}", response_model=DelegationRead)
def revoke_delegation(
    delegation_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> DelegationRead:
    """Revoke a delegation (the delegator or an admin)."""
    return DelegationRead.model_validate(
        actions.revoke_delegation(session, principal, delegation_id)
    )
