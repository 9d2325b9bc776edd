"""The approval route of a claim and its decisions, run by the flow engine.

On submission the company's published flow that matches the claim (or the
built-in default: manager, then finance) is resolved into a route, pinned
on an ApprovalInstance with the flow document itself, and its first step is
opened. Decisions go through the pure engine's `advance`. Nobody ever
approves their own claim, also not as a delegate.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from baoxiao.approvals import delegation, engine, facts, runtime
from baoxiao.approvals.default_flow import DEFAULT_FLOW
from baoxiao.approvals.definition import FlowDefinition, parse
from baoxiao.approvals.errors import (
    CommentRequired,
    InvalidLineDecision,
    ReturnTargetUnknown,
    SecondApproverRequired,
    TaskAlreadyDecided,
    TaskNotActive,
    TaskNotFound,
)
from baoxiao.approvals.explain import route_json
from baoxiao.approvals.handover import hand_over_tasks as hand_over_tasks
from baoxiao.approvals.orgdb import DbOrgView
from baoxiao.claims import lifecycle
from baoxiao.identity import permissions
from baoxiao.identity.principal import Principal
from baoxiao.kernel.clock import utcnow
from baoxiao.models.approval import (
    ApprovalFlow,
    ApprovalFlowVersion,
    ApprovalInstance,
    ApprovalTask,
    FlowVersionStatus,
    TaskKind,
    TaskStatus,
)
from baoxiao.models.claim import Claim, ClaimAction
from baoxiao.outbox.service import publish
from baoxiao.payments import follow as finance

Decision = Literal["approve", "reject", "return"]
OPEN = runtime.OPEN


@dataclass(frozen=True)
class LineDecision:
    line_id: uuid.UUID
    approved_amount: Decimal
    reason: str | None


@dataclass(frozen=True)
class ChosenFlow:
    flow: FlowDefinition
    document: dict[str, Any]
    version_id: uuid.UUID | None
    version: int | None


def published_flows(session: Session, company_id: uuid.UUID) -> list[ChosenFlow]:
    rows = session.execute(
        select(ApprovalFlowVersion)
        .join(ApprovalFlow, ApprovalFlow.id == ApprovalFlowVersion.flow_id)
        .where(
            ApprovalFlowVersion.company_id == company_id,
            ApprovalFlowVersion.status == FlowVersionStatus.PUBLISHED,
            ApprovalFlow.active.is_(True),
        )
    ).scalars()
    return [ChosenFlow(parse(v.document), v.document, v.id, v.version) for v in rows]


def choose_flow(session: Session, claim: Claim, claim_facts: engine.Facts) -> ChosenFlow:
    """The published flow of highest priority that matches; else the built-in default."""
    candidates = published_flows(session, claim.company_id)
    chosen = engine.choose([(c.flow, c) for c in candidates], claim_facts)
    if chosen is not None:
        found = chosen[1]
        assert isinstance(found, ChosenFlow)
        return found
    return ChosenFlow(parse(DEFAULT_FLOW), DEFAULT_FLOW, None, None)


def flow_info(chosen: ChosenFlow) -> dict[str, Any]:
    return {
        "key": chosen.flow.key,
        "name": chosen.flow.name,
        "version": chosen.version,
        "version_id": str(chosen.version_id) if chosen.version_id else None,
        "builtin": chosen.version_id is None,
    }


def start_route(session: Session, claim: Claim, *, actor: str) -> None:
    """Resolve and pin this round's route, create its tasks, and open the first step."""
    round_no = runtime.current_round(session, claim) + 1
    delegate = delegation.delegate_of(session, claim.company_id)
    if delegate is not None:
        delegation.start(session, claim, round_no, delegate, actor=actor)
        return
    claim_facts = facts.facts_for(session, claim)
    chosen = choose_flow(session, claim, claim_facts)
    org = DbOrgView(session, claim.company_id)
    route = engine.resolve(chosen.flow, claim_facts, org, utcnow())
    instance = ApprovalInstance(
        id=uuid.uuid4(),
        claim_id=claim.id,
        company_id=claim.company_id,
        round=round_no,
        flow_version_id=chosen.version_id,
        definition=chosen.document,
        route=route_json(route, org, flow_info(chosen), claim.department_id),
        status="running",
        created_at=utcnow(),
    )
    session.add(instance)
    session.flush()
    for step in route.steps:
        for a in step.assignees:
            session.add(
                runtime.new_task(
                    claim,
                    round_no,
                    step.number,
                    step.node_id,
                    assignee_id=a.employee_id,
                    candidate_role=a.role,
                    acting_for_id=a.acting_for,
                    mode=step.mode,
                    status=TaskStatus.WAITING,
                    instance_id=instance.id,
                )
            )
    for person in route.cc:
        cc = runtime.new_task(
            claim,
            round_no,
            0,
            "cc",
            assignee_id=person,
            kind=TaskKind.CC,
            status=TaskStatus.NOTIFIED,
            instance_id=instance.id,
        )
        session.add(cc)
        session.flush()
        publish(session, runtime.task_event("approval.cc", cc, claim))
    session.flush()
    lifecycle.apply(
        session,
        claim,
        ClaimAction.START_APPROVAL,
        actor=actor,
        extra={
            "round": round_no,
            "flow": route.flow_key,
            "steps": [s.node_id for s in route.steps],
        },
    )
    runtime.proceed(session, claim, actor=actor)


def round_tasks(session: Session, claim: Claim) -> list[ApprovalTask]:
    """The approval tasks of the claim's current round."""
    return runtime.round_tasks(session, claim)


def anyone_acted(session: Session, claim: Claim, tasks: list[ApprovalTask] | None = None) -> bool:
    """Has an approver decided anything in the current round? (`tasks`: its tasks, if known)"""
    if tasks is None:
        tasks = runtime.round_tasks(session, claim)
    return any(t.decided_at is not None for t in tasks)


def close_open_tasks(session: Session, claim: Claim, *, outcome: str = "closed") -> None:
    """Cancel the round's open tasks and finish its running (or delegated) instance."""
    for task in runtime.round_tasks(session, claim):
        if task.status in OPEN:
            task.status = TaskStatus.CANCELLED
    instance = runtime.instance_of(session, claim)
    if instance is not None and instance.status in ("running", delegation.DELEGATED):
        instance.status, instance.finished_at = outcome, utcnow()


def open_task_for(
    session: Session,
    principal: Principal,
    claim: Claim,
    tasks: list[ApprovalTask] | None = None,
) -> ApprovalTask | None:
    """The caller's pending task in the claim's current round (`tasks`: its tasks, if known)."""
    for task in runtime.round_tasks(session, claim) if tasks is None else tasks:
        if task.status == TaskStatus.PENDING and permissions.can_act_on_task(
            session, principal, task, claim
        ):
            return task
    return None


def list_tasks(
    session: Session, principal: Principal, status: str = TaskStatus.PENDING, limit: int = 100
) -> list[ApprovalTask]:
    """Tasks assigned to the caller, directly or through a role, excluding their own claims."""
    stmt = (
        select(ApprovalTask)
        .join(Claim, Claim.id == ApprovalTask.claim_id)
        .where(ApprovalTask.status == status, permissions.task_for_me(principal))
        # The inbox shows each task's claim and claimant: load them with the list, not per row.
        .options(selectinload(ApprovalTask.claim).selectinload(Claim.claimant))
        .order_by(ApprovalTask.created_at, ApprovalTask.step)
        .limit(max(1, min(limit, 500)))
    )
    if principal.employee_id is not None:
        stmt = stmt.where(Claim.claimant_id != principal.employee_id)
    return list(session.scalars(stmt))


def load_for_action(
    session: Session, principal: Principal, task_id: uuid.UUID
) -> tuple[Claim, ApprovalTask]:
    """Lock the claim then the task; 404 unless the caller may act on it; never own claims."""
    claim_id = session.scalar(select(ApprovalTask.claim_id).where(ApprovalTask.id == task_id))
    if claim_id is None:
        raise TaskNotFound()
    claim = session.scalars(select(Claim).where(Claim.id == claim_id).with_for_update()).one()
    task = session.scalars(
        select(ApprovalTask).where(ApprovalTask.id == task_id).with_for_update()
    ).one()
    if task.kind != TaskKind.APPROVE or not permissions.can_act_on_task(
        session, principal, task, claim
    ):
        raise TaskNotFound()
    permissions.require_not_claimant(principal, claim)
    delegation.require_not_delegated(runtime.instance_of(session, claim), claim)
    if task.status != TaskStatus.PENDING:
        if task.status == TaskStatus.WAITING:
            raise TaskNotActive()
        raise TaskAlreadyDecided(current_status=task.status)
    return claim, task


def _apply_lines(claim: Claim, decisions: list[LineDecision]) -> list[dict[str, str]]:
    by_id = {line.id: line for line in claim.lines}
    changed = []
    for index, d in enumerate(decisions):
        line = by_id.get(d.line_id)
        where = f"lines[{index}]"
        if line is None:
            raise InvalidLineDecision(field=f"{where}.line_id", reason="not a line of this claim")
        if d.approved_amount < 0 or d.approved_amount > line.amount_base:
            raise InvalidLineDecision(
                field=f"{where}.approved_amount",
                reason=f"must be between 0 and the claimed {line.amount_base}",
            )
        if d.approved_amount < line.amount_base and not d.reason:
            raise InvalidLineDecision(field=f"{where}.reason", reason="a reason is required")
        line.approved_amount = d.approved_amount
        line.approval_note = d.reason
        changed.append({"line_id": str(line.id), "approved_amount": str(d.approved_amount)})
    if changed and claim.recompute_approved() == 0:
        raise InvalidLineDecision(
            field="lines", reason="every line refused: reject the claim instead"
        )
    return changed


def _check_second_approver(session: Session, principal: Principal, task: ApprovalTask) -> None:
    if task.step_name != "dual_control":
        return
    earlier = session.scalar(
        select(ApprovalTask.id).where(
            ApprovalTask.claim_id == task.claim_id,
            ApprovalTask.round == task.round,
            ApprovalTask.status == TaskStatus.APPROVED,
            ApprovalTask.decided_by_id == principal.user_id,
        )
    )
    if earlier is not None:
        raise SecondApproverRequired()


def _return_to_step(session: Session, claim: Claim, task: ApprovalTask, target: str) -> None:
    tasks = runtime.round_tasks(session, claim)
    steps = sorted(
        {t.step for t in tasks if t.step < task.step and t.status != TaskStatus.CANCELLED}
    )
    number = next((t.step for t in tasks if t.step_name == target and t.step in steps), None)
    if number is None and target.isdigit() and int(target) in steps:
        number = int(target)
    if number is None:
        raise ReturnTargetUnknown(target=target)
    closed = (TaskStatus.CANCELLED, TaskStatus.TRANSFERRED)
    redo = [t for t in tasks if t.step >= number and t.status not in closed]
    for old in redo:
        if old.status in OPEN:
            old.status = TaskStatus.CANCELLED
        session.add(
            runtime.new_task(
                claim,
                old.round,
                old.step,
                old.step_name,
                assignee_id=old.assignee_id,
                candidate_role=old.candidate_role,
                acting_for_id=old.acting_for_id,
                mode=old.mode,
                status=TaskStatus.WAITING,
                instance_id=old.instance_id,
                origin="return_to_node",
            )
        )
    for old in redo:  # earlier decisions in the redone part no longer count
        if old.status == TaskStatus.APPROVED:
            old.status = TaskStatus.CANCELLED
    session.flush()


def decide(
    session: Session,
    principal: Principal,
    task_id: uuid.UUID,
    decision: Decision,
    comment: str | None,
    *,
    lines: list[LineDecision] | None = None,
    return_to: str | None = None,
) -> ApprovalTask:
    """Approve (optionally adjusting lines), reject, or return to the claimant or a node."""
    claim, task = load_for_action(session, principal, task_id)
    if decision != "approve" and not comment:
        raise CommentRequired(decision=decision)
    if decision == "approve":
        _check_second_approver(session, principal, task)
    changed = _apply_lines(claim, lines or []) if decision == "approve" else []
    if changed:
        finance.lines_decided(session, claim, actor=principal.actor)  # budget gives back now
    task.status = {
        "approve": TaskStatus.APPROVED,
        "reject": TaskStatus.REJECTED,
        "return": TaskStatus.RETURNED,
    }[decision]
    if decision == "return" and return_to:
        task.status = TaskStatus.SENT_BACK
    task.decided_by_id, task.decided_at, task.comment = principal.user_id, utcnow(), comment
    publish(
        session,
        runtime.task_event(
            "approval.task.completed", task, claim, decision=decision, decided_by=principal.user_id
        ),
    )
    lifecycle.note(
        session,
        claim,
        f"approval:{decision}",
        actor=principal.actor,
        actor_user_id=principal.user_id,
        comment=comment,
        extra={
            "task_id": str(task.id),
            "step_name": task.step_name,
            "lines": changed,
            "return_to": return_to,
        },
    )
    if decision == "approve":
        if task.mode == "any":
            for other in runtime.round_tasks(session, claim):
                if other.step == task.step and other.status in OPEN:
                    other.status = TaskStatus.CANCELLED
        runtime.proceed(session, claim, actor=principal.actor, actor_user_id=principal.user_id)
        return task
    if decision == "return" and return_to:
        _return_to_step(session, claim, task, return_to)
        runtime.proceed(session, claim, actor=principal.actor, actor_user_id=principal.user_id)
        return task
    close_open_tasks(session, claim)
    instance = runtime.instance_of(session, claim)
    if instance is not None:
        instance.status = "rejected" if decision == "reject" else "returned"
    action = ClaimAction.REJECT if decision == "reject" else ClaimAction.RETURN
    lifecycle.apply(
        session,
        claim,
        action,
        actor=principal.actor,
        actor_user_id=principal.user_id,
        comment=comment,
    )
    return task
