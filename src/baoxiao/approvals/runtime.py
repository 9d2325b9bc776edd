"""Shared runtime pieces: loading the pinned flow, task events, opening steps, advancing.

service.py (decisions), actions.py (transfer, add signer, urge...) and
tasks.py (timers) all move an instance forward through `proceed`, which asks
the pure engine what follows and persists it.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baoxiao.approvals import engine
from baoxiao.approvals.definition import FlowDefinition, parse
from baoxiao.approvals.orgdb import DbOrgView
from baoxiao.approvals.selectors import climb_manager
from baoxiao.claims import lifecycle
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.events import DomainEvent
from baoxiao.models.approval import ApprovalInstance, ApprovalTask, TaskKind, TaskStatus
from baoxiao.models.claim import Claim, ClaimAction
from baoxiao.models.identity import User
from baoxiao.outbox.service import publish

OPEN = (TaskStatus.WAITING, TaskStatus.PENDING)


def current_round(session: Session, claim: Claim) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.max(ApprovalTask.round), 0)).where(
                ApprovalTask.claim_id == claim.id
            )
        )
        or 0
    )


def round_tasks(
    session: Session, claim: Claim, *, kind: str = TaskKind.APPROVE
) -> list[ApprovalTask]:
    """The claim's tasks of one kind in its current round, in step order (one statement)."""
    latest = (
        select(func.coalesce(func.max(ApprovalTask.round), 0))
        .where(ApprovalTask.claim_id == claim.id)
        .scalar_subquery()
    )
    return list(
        session.scalars(
            select(ApprovalTask)
            .where(
                ApprovalTask.claim_id == claim.id,
                ApprovalTask.round == latest,
                ApprovalTask.kind == kind,
            )
            .order_by(ApprovalTask.step, ApprovalTask.created_at, ApprovalTask.id)
        )
    )


def instance_of(session: Session, claim: Claim) -> ApprovalInstance | None:
    return session.scalars(
        select(ApprovalInstance)
        .where(ApprovalInstance.claim_id == claim.id)
        .order_by(ApprovalInstance.round.desc())
        .limit(1)
    ).first()


def pinned_flow(instance: ApprovalInstance | None) -> FlowDefinition | None:
    return parse(instance.definition) if instance is not None else None


def task_event(kind: str, task: ApprovalTask, claim: Claim, **data: object) -> DomainEvent:
    return DomainEvent(
        type=kind,
        subject_type="claim",
        subject_id=str(claim.id),
        company_id=str(claim.company_id),
        data={
            "task_id": str(task.id),
            "claim_id": str(claim.id),
            "number": claim.number,
            "step": task.step,
            "step_name": task.step_name,
            "kind": task.kind,
            "assignee_id": str(task.assignee_id) if task.assignee_id else None,
            "candidate_role": task.candidate_role,
            "acting_for_id": str(task.acting_for_id) if task.acting_for_id else None,
            "status": task.status,
            **{k: str(v) if v is not None else None for k, v in data.items()},
        },
    )


def _timers(task: ApprovalTask, flow: FlowDefinition | None, now: datetime) -> None:
    node = next((n for n in flow.nodes if n.id == task.step_name), None) if flow else None
    if node is None:
        return
    if node.remind_after_hours:
        task.remind_at = now + timedelta(hours=node.remind_after_hours)
    if node.escalate_after_hours:
        task.escalate_at = now + timedelta(hours=node.escalate_after_hours)


def activate(
    session: Session, claim: Claim, tasks: list[ApprovalTask], flow: FlowDefinition | None
) -> None:
    now = utcnow()
    for task in tasks:
        task.status = TaskStatus.PENDING
        _timers(task, flow, now)
    session.flush()
    for task in tasks:
        publish(session, task_event("approval.task.created", task, claim))


def new_task(claim: Claim, round_no: int, step: int, name: str, **fields: Any) -> ApprovalTask:
    return ApprovalTask(
        id=uuid.uuid4(),
        claim_id=claim.id,
        company_id=claim.company_id,
        round=round_no,
        step=step,
        step_name=name,
        created_at=utcnow(),
        **fields,
    )


def move_task(
    session: Session,
    claim: Claim,
    task: ApprovalTask,
    to_employee_id: uuid.UUID | None,
    to_role: str | None,
    actor: str,
    actor_user_id: uuid.UUID | None,
    comment: str | None,
    origin: str,
) -> ApprovalTask:
    """Close `task` as transferred and give its place to a person (or a role).

    Used by transfer, escalation, admin reassignment and hand-over. A person with
    an active delegation is replaced by their delegate (recorded as acting for
    them), following the chain as at submission: bounded, never round a cycle,
    never to the claimant. A waiting task's successor waits too; a pending one's
    is opened at once (approval.task.completed for the old, .created for the new).
    """
    acting_for = None
    if to_employee_id is not None:
        org = DbOrgView(session, claim.company_id)
        delegate = engine.delegate_for(org, to_employee_id, utcnow(), claim.claimant_id)
        if delegate is not None:
            acting_for, to_employee_id = to_employee_id, delegate
    was_pending = task.status == TaskStatus.PENDING
    task.status, task.decided_at, task.decided_by_id = (
        TaskStatus.TRANSFERRED,
        utcnow(),
        actor_user_id,
    )
    task.comment = comment
    moved = new_task(
        claim,
        task.round,
        task.step,
        task.step_name,
        assignee_id=to_employee_id,
        candidate_role=to_role,
        acting_for_id=acting_for,
        mode=task.mode,
        status=TaskStatus.WAITING,
        instance_id=task.instance_id,
        origin=origin,
    )
    session.add(moved)
    session.flush()
    if was_pending:
        publish(session, task_event("approval.task.completed", task, claim, decision=origin))
    lifecycle.note(
        session,
        claim,
        f"approval:{origin}",
        actor=actor,
        actor_user_id=actor_user_id,
        comment=comment,
        extra={
            "task_id": str(task.id),
            "new_task_id": str(moved.id),
            "to": str(to_employee_id or to_role),
            "acting_for": str(acting_for) if acting_for else None,
        },
    )
    if was_pending:
        activate(session, claim, [moved], pinned_flow(instance_of(session, claim)))
    return moved


def _second_approver(
    session: Session, claim: Claim, tasks: list[ApprovalTask], deciders: set[uuid.UUID]
) -> ApprovalTask:
    org = DbOrgView(session, claim.company_id)
    boss = climb_manager(
        org, claim.claimant_id, 1, exclude={claim.claimant_id, *deciders}, climb_past=True
    )
    return new_task(
        claim,
        tasks[0].round,
        max(t.step for t in tasks) + 1,
        "dual_control",
        assignee_id=boss,
        candidate_role=None if boss else engine.ADMIN,
        status=TaskStatus.WAITING,
        instance_id=tasks[0].instance_id,
        origin="dual_control",
    )


def proceed(session: Session, claim: Claim, *, actor: str, actor_user_id: Any = None) -> str:
    """Ask the engine what follows the current task states, and do it."""
    instance = instance_of(session, claim)
    flow = pinned_flow(instance)
    for _ in range(3):  # at most: open a step, or add the second approver and open it
        tasks = round_tasks(session, claim)
        states = [
            engine.TaskState(t.step, t.mode, t.status, t.decided_by_id)  # type: ignore[arg-type]
            for t in tasks
        ]
        decision = engine.advance(
            states,
            total=claim.payable_amount,
            dual_control_above=flow.dual_control_above if flow else None,
        )
        if decision.kind == "activate":
            activate(
                session,
                claim,
                [t for t in tasks if t.step == decision.step and t.status == TaskStatus.WAITING],
                flow,
            )
            return "activated"
        if decision.kind == "second_approver":
            session.add(
                _second_approver(session, claim, tasks, _approver_employees(session, tasks))
            )
            session.flush()
            continue
        if decision.kind == "approved":
            if instance is not None:
                instance.status, instance.finished_at = "approved", utcnow()
            lifecycle.apply(
                session, claim, ClaimAction.APPROVE, actor=actor, actor_user_id=actor_user_id
            )
        return decision.kind
    return "wait"


def _approver_employees(session: Session, tasks: list[ApprovalTask]) -> set[uuid.UUID]:
    from_users = {t.decided_by_id for t in tasks if t.status == TaskStatus.APPROVED}
    if not from_users:
        return set()
    rows = session.scalars(select(User.employee_id).where(User.id.in_(from_users)))
    return {r for r in rows if r is not None}
