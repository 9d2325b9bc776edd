"""Flow administration: drafts, publishing (with its checks), simulation, explain."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baoxiao.approvals import engine, facts, runtime, service
from baoxiao.approvals.definition import (
    FieldProblem,
    check_publishable,
    parse,
    validate_document,
)
from baoxiao.approvals.errors import FlowInvalid, FlowKeyTaken, FlowNotFound, NoDraft
from baoxiao.approvals.explain import route_json
from baoxiao.approvals.orgdb import DbOrgView
from baoxiao.audit.service import record as audit
from baoxiao.identity import permissions
from baoxiao.identity.permissions import Right
from baoxiao.identity.principal import Principal
from baoxiao.kernel.clock import utcnow
from baoxiao.models.approval import ApprovalFlow, ApprovalFlowVersion, FlowVersionStatus
from baoxiao.models.catalog import ExpenseCategory
from baoxiao.models.claim import Claim, ClaimLine
from baoxiao.models.org import Employee


def _invalid(problems: list[Any]) -> FlowInvalid:
    return FlowInvalid(errors=[p.as_dict() for p in problems])


def _audit(
    session: Session, principal: Principal, action: str, flow: ApprovalFlow, **data: Any
) -> None:
    audit(
        session,
        actor=principal.actor,
        action=action,
        subject_type="approval_flow",
        subject_id=str(flow.id),
        company_id=str(flow.company_id),
        at=utcnow(),
        data={"key": flow.key, **data},
    )


def get_flow(session: Session, principal: Principal, flow_id: uuid.UUID) -> ApprovalFlow:
    flow = session.get(ApprovalFlow, flow_id)
    if flow is None or not permissions.has_right(principal, Right.ORG_ADMIN, flow.company_id):
        raise FlowNotFound()
    return flow


def versions(session: Session, flow: ApprovalFlow) -> list[ApprovalFlowVersion]:
    return list(
        session.scalars(
            select(ApprovalFlowVersion)
            .where(ApprovalFlowVersion.flow_id == flow.id)
            .order_by(ApprovalFlowVersion.version)
        )
    )


def list_flows(session: Session, principal: Principal) -> list[ApprovalFlow]:
    permissions.require_right(principal, Right.ORG_ADMIN, principal.company_id)
    return list(
        session.scalars(
            select(ApprovalFlow)
            .where(ApprovalFlow.company_id == principal.company_id)
            .order_by(ApprovalFlow.key)
        )
    )


def create_flow(session: Session, principal: Principal, document: Any) -> ApprovalFlow:
    """A new flow with its first draft version (schema-checked, not yet live)."""
    permissions.require_right(principal, Right.ORG_ADMIN, principal.company_id)
    problems = validate_document(document)
    if problems:
        raise _invalid(problems)
    taken = session.scalar(
        select(ApprovalFlow.id).where(
            ApprovalFlow.company_id == principal.company_id, ApprovalFlow.key == document["key"]
        )
    )
    if taken is not None:
        raise FlowKeyTaken(key=document["key"])
    flow = ApprovalFlow(
        id=uuid.uuid4(),
        company_id=principal.company_id,
        key=document["key"],
        name=document["name"],
        created_at=utcnow(),
    )
    session.add(flow)
    session.flush()
    _new_version(session, principal, flow, document)
    _audit(session, principal, "approval_flow:create", flow)
    return flow


def _new_version(
    session: Session, principal: Principal, flow: ApprovalFlow, document: Any
) -> ApprovalFlowVersion:
    last = session.scalar(
        select(func.max(ApprovalFlowVersion.version)).where(ApprovalFlowVersion.flow_id == flow.id)
    )
    version = ApprovalFlowVersion(
        id=uuid.uuid4(),
        flow_id=flow.id,
        company_id=flow.company_id,
        version=(last or 0) + 1,
        status=FlowVersionStatus.DRAFT,
        document=document,
        created_by_id=principal.user_id,
        created_at=utcnow(),
    )
    session.add(version)
    session.flush()
    return version


def save_draft(
    session: Session, principal: Principal, flow_id: uuid.UUID, document: Any
) -> ApprovalFlowVersion:
    """Replace the open draft, or start a new one after the last published version."""
    flow = get_flow(session, principal, flow_id)
    problems = validate_document(document)
    if not problems and document["key"] != flow.key:
        problems = [FieldProblem("/key", f"the key of this flow is {flow.key}")]
    if problems:
        raise _invalid(problems)
    draft = next((v for v in versions(session, flow) if v.status == FlowVersionStatus.DRAFT), None)
    if draft is None:
        draft = _new_version(session, principal, flow, document)
    else:
        draft.document = document
    flow.name = document["name"]
    _audit(session, principal, "approval_flow:save_draft", flow, version=draft.version)
    return draft


def publish(session: Session, principal: Principal, flow_id: uuid.UUID) -> ApprovalFlowVersion:
    """Make the draft live. In-flight claims keep the version they pinned."""
    flow = get_flow(session, principal, flow_id)
    all_versions = versions(session, flow)
    draft = next((v for v in all_versions if v.status == FlowVersionStatus.DRAFT), None)
    if draft is None:
        raise NoDraft()
    org = DbOrgView(session, flow.company_id)
    problems = check_publishable(draft.document, facts.known_variables(), org)
    if problems:
        raise _invalid(problems)
    for v in all_versions:
        if v.status == FlowVersionStatus.PUBLISHED:
            v.status = FlowVersionStatus.SUPERSEDED
    draft.status, draft.published_at, draft.published_by_id = (
        FlowVersionStatus.PUBLISHED,
        utcnow(),
        principal.user_id,
    )
    _audit(session, principal, "approval_flow:publish", flow, version=draft.version)
    return draft


def _hypothetical(session: Session, principal: Principal, data: dict[str, Any]) -> Claim:
    """An unsaved claim built from the simulate request (never added to the session)."""
    claimant = session.get(Employee, data["claimant_id"])
    if claimant is None or claimant.company_id != principal.company_id:
        raise FlowInvalid(errors=[{"field": "/claim/claimant_id", "message": "unknown employee"}])
    claim = Claim(
        id=None,
        company_id=claimant.company_id,
        number="",
        claim_type=data.get("claim_type") or "general",
        claimant_id=claimant.id,
        department_id=data.get("department_id") or claimant.department_id,
        cost_center_id=data.get("cost_center_id") or claimant.cost_center_id,
        reason="simulation",
        currency=data.get("currency") or "CNY",
        total_amount=Decimal(0),
    )
    lines = []
    for index, raw in enumerate(data.get("lines") or []):
        category = session.scalars(
            select(ExpenseCategory).where(
                ExpenseCategory.company_id == claimant.company_id,
                ExpenseCategory.code == raw["category_code"],
            )
        ).first()
        if category is None:
            raise FlowInvalid(
                errors=[{"field": f"/claim/lines/{index}/category_code", "message": "unknown"}]
            )
        amount = Decimal(str(raw["amount"]))
        line = ClaimLine(
            position=index + 1,
            category_id=category.id,
            expense_date=date.today(),
            amount=amount,
            currency=claim.currency,
            exchange_rate=Decimal(1),
            amount_base=amount,
            description="",
            city=raw.get("city"),
        )
        line.category = category
        lines.append(line)
    claim.lines = lines
    claim.total_amount = sum((ln.amount_base for ln in lines), Decimal(0))
    return claim


def simulate(
    session: Session,
    principal: Principal,
    *,
    claim_id: uuid.UUID | None,
    claim_data: dict[str, Any] | None,
    document: dict[str, Any] | None,
    flow_id: uuid.UUID | None,
) -> dict[str, Any]:
    """Resolve a route without changing anything: which flow, which people, and why."""
    permissions.require_right(principal, Right.ORG_ADMIN, principal.company_id)
    if claim_id is not None:
        claim = permissions.load_visible_claim(session, principal, claim_id)
    elif claim_data is not None:
        claim = _hypothetical(session, principal, claim_data)
    else:
        raise FlowInvalid(errors=[{"field": "/claim", "message": "give claim_id or claim"}])
    claim_facts = facts.facts_for(session, claim)
    if document is not None:
        problems = check_publishable(document, facts.known_variables())
        if problems:
            raise _invalid(problems)
        chosen = service.ChosenFlow(parse(document), document, None, None)
        why = "the flow given in the request"
    elif flow_id is not None:
        flow = get_flow(session, principal, flow_id)
        latest = versions(session, flow)[-1]
        chosen = service.ChosenFlow(
            parse(latest.document), latest.document, latest.id, latest.version
        )
        why = f"version {latest.version} ({latest.status}) of flow {flow.key}"
    else:
        chosen = service.choose_flow(session, claim, claim_facts)
        why = (
            "the published flow of highest priority that matches"
            if chosen.version_id
            else ("no published flow matches: the built-in default")
        )
    org = DbOrgView(session, claim.company_id)
    route = engine.resolve(chosen.flow, claim_facts, org, utcnow())
    out = route_json(
        route,
        org,
        {**service.flow_info(chosen), "chosen_because": why},
        claim_facts.department_id,
    )
    out["facts"] = claim_facts.activation
    return out


def route_for_claim(session: Session, principal: Principal, claim_id: uuid.UUID) -> dict[str, Any]:
    """The pinned route of the current round with live task states, or the expected route."""
    claim = permissions.load_visible_claim(session, principal, claim_id)
    instance = runtime.instance_of(session, claim)
    if instance is None or claim.is_editable:
        claim_facts = facts.facts_for(session, claim)
        chosen = service.choose_flow(session, claim, claim_facts)
        org = DbOrgView(session, claim.company_id)
        route = engine.resolve(chosen.flow, claim_facts, org, utcnow())
        info = service.flow_info(chosen)
        expected = route_json(route, org, info, claim.department_id)
        return {"expected": True, **expected, "tasks": []}
    tasks = runtime.round_tasks(session, claim)
    return {
        "expected": False,
        "round": instance.round,
        "instance_status": instance.status,
        **instance.route,
        "tasks": [
            {
                "id": str(t.id),
                "step": t.step,
                "step_name": t.step_name,
                "status": t.status,
                "assignee_id": str(t.assignee_id) if t.assignee_id else None,
                "candidate_role": t.candidate_role,
                "acting_for_id": str(t.acting_for_id) if t.acting_for_id else None,
                "origin": t.origin,
                "comment": t.comment,
                "decided_at": t.decided_at.isoformat() if t.decided_at else None,
            }
            for t in tasks
        ],
        "lines": [
            {
                "line_id": str(ln.id),
                "claimed": str(ln.amount_base),
                "approved_amount": None if ln.approved_amount is None else str(ln.approved_amount),
                "reason": ln.approval_note,
            }
            for ln in claim.lines
        ],
    }
