"""The approval route and its tasks.

Until the configurable engine (issue #3) lands, every claim follows a fixed
route: the claimant's direct manager, then any finance reviewer of the
claim's company. A step whose approver would be the claimant, or that has no
approver, is skipped; nobody ever approves their own claim.
"""

from __future__ import annotations

import uuid
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baoxiao.approvals.errors import (
    CommentRequired,
    TaskAlreadyDecided,
    TaskNotActive,
    TaskNotFound,
)
from baoxiao.claims import lifecycle
from baoxiao.identity import permissions
from baoxiao.identity.principal import Principal
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.events import DomainEvent
from baoxiao.models.approval import ApprovalTask, TaskStatus
from baoxiao.models.claim import Claim, ClaimAction
from baoxiao.models.identity import Role
from baoxiao.models.org import Employee
from baoxiao.outbox.service import publish

Decision = Literal["approve", "reject", "return"]
OPEN = (TaskStatus.WAITING, TaskStatus.PENDING)


def _current_round(session: Session, claim: Claim) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.max(ApprovalTask.round), 0)).where(
                ApprovalTask.claim_id == claim.id
            )
        )
        or 0
    )


def _fixed_route(session: Session, claim: Claim) -> list[tuple[str, uuid.UUID | None, str | None]]:
    steps: list[tuple[str, uuid.UUID | None, str | None]] = []
    claimant = session.get(Employee, claim.claimant_id)
    manager = (
        session.get(Employee, claimant.manager_id) if claimant and claimant.manager_id else None
    )
    if manager is not None and manager.active and manager.id != claim.claimant_id:
        steps.append(("manager", manager.id, None))
    steps.append(("finance_review", None, Role.FINANCE.value))
    return steps


def _task_event(kind: str, task: ApprovalTask, claim: Claim, **data: object) -> DomainEvent:
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
            "assignee_id": str(task.assignee_id) if task.assignee_id else None,
            "candidate_role": task.candidate_role,
            "status": task.status,
            **{k: str(v) if v is not None else None for k, v in data.items()},
        },
    )


def _activate(session: Session, task: ApprovalTask, claim: Claim) -> None:
    task.status = TaskStatus.PENDING
    session.flush()
    publish(session, _task_event("approval.task.created", task, claim))


def start_route(session: Session, claim: Claim, *, actor: str) -> None:
    """Create this round's tasks and move the claim into approval."""
    round_no = _current_round(session, claim) + 1
    steps = _fixed_route(session, claim)
    tasks = [
        ApprovalTask(
            claim_id=claim.id,
            company_id=claim.company_id,
            round=round_no,
            step=index,
            step_name=name,
            assignee_id=assignee,
            candidate_role=role,
            status=TaskStatus.WAITING,
            created_at=utcnow(),
        )
        for index, (name, assignee, role) in enumerate(steps, start=1)
    ]
    session.add_all(tasks)
    lifecycle.apply(
        session,
        claim,
        ClaimAction.START_APPROVAL,
        actor=actor,
        extra={"round": round_no, "steps": [t.step_name for t in tasks]},
    )
    _activate(session, tasks[0], claim)


def _round_tasks(session: Session, claim: Claim) -> list[ApprovalTask]:
    round_no = _current_round(session, claim)
    return list(
        session.scalars(
            select(ApprovalTask)
            .where(ApprovalTask.claim_id == claim.id, ApprovalTask.round == round_no)
            .order_by(ApprovalTask.step)
        )
    )


def anyone_acted(session: Session, claim: Claim) -> bool:
    """Has an approver decided anything in the current round?"""
    return any(t.decided_at is not None for t in _round_tasks(session, claim))


def close_open_tasks(session: Session, claim: Claim) -> None:
    for task in _round_tasks(session, claim):
        if task.status in OPEN:
            task.status = TaskStatus.CANCELLED


def open_task_for(session: Session, principal: Principal, claim: Claim) -> ApprovalTask | None:
    for task in _round_tasks(session, claim):
        if task.status == TaskStatus.PENDING and permissions.can_act_on_task(principal, task):
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
        .order_by(ApprovalTask.created_at)
        .limit(max(1, min(limit, 500)))
    )
    if principal.employee_id is not None:
        stmt = stmt.where(Claim.claimant_id != principal.employee_id)
    return list(session.scalars(stmt))


def decide(
    session: Session,
    principal: Principal,
    task_id: uuid.UUID,
    decision: Decision,
    comment: str | None,
) -> ApprovalTask:
    """Approve, reject or return: the claim moves on in the same transaction."""
    claim_id = session.scalar(select(ApprovalTask.claim_id).where(ApprovalTask.id == task_id))
    if claim_id is None:
        raise TaskNotFound()
    claim = session.scalars(select(Claim).where(Claim.id == claim_id).with_for_update()).one()
    task = session.scalars(
        select(ApprovalTask).where(ApprovalTask.id == task_id).with_for_update()
    ).one()
    if not permissions.can_act_on_task(principal, task):
        raise TaskNotFound()
    permissions.require_not_claimant(principal, claim)
    if task.status != TaskStatus.PENDING:
        if task.status == TaskStatus.WAITING:
            raise TaskNotActive()
        raise TaskAlreadyDecided(current_status=task.status)
    if decision != "approve" and not comment:
        raise CommentRequired(decision=decision)
    task.status = {
        "approve": TaskStatus.APPROVED,
        "reject": TaskStatus.REJECTED,
        "return": TaskStatus.RETURNED,
    }[decision]
    task.decided_by_id, task.decided_at, task.comment = principal.user_id, utcnow(), comment
    publish(
        session,
        _task_event(
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
        extra={"task_id": str(task.id), "step_name": task.step_name},
    )
    if decision == "approve":
        following = next(
            (t for t in _round_tasks(session, claim) if t.status == TaskStatus.WAITING), None
        )
        if following is not None:
            _activate(session, following, claim)
        else:
            lifecycle.apply(
                session,
                claim,
                ClaimAction.APPROVE,
                actor=principal.actor,
                actor_user_id=principal.user_id,
            )
        return task
    close_open_tasks(session, claim)
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
