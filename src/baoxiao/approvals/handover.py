"""Moving tasks away from their assignee: admin reassignment and hand-over of leavers.

- `reassign`: an approval admin (org:admin in the claim's company, the right
  that manages flows) gives someone else's open task to another person, e.g.
  when the approver is on leave.
- `hand_over_tasks`: when an employee is deactivated (by an admin or org
  sync), a task they held as a delegate goes back to the approver they acted
  for (if active); their other open tasks move per the node's fallback: `escalate` (and nodes
  with none) to their nearest active manager, `admin` to the company admins,
  `skip` drops the task when the step or round still has someone else to
  decide, else the admins. The identity issue calls it on deactivation.

Both go through runtime.move_task (delegation applied, the claimant never
chosen, events as for transfer), are noted on the claim's timeline and audited.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.approvals import delegation, runtime
from baoxiao.approvals.engine import ADMIN
from baoxiao.approvals.errors import InvalidAssignee, TaskAlreadyDecided, TaskNotFound
from baoxiao.approvals.orgdb import DbOrgView
from baoxiao.approvals.selectors import climb_manager
from baoxiao.audit.service import record as audit
from baoxiao.claims import lifecycle
from baoxiao.identity import permissions
from baoxiao.identity.permissions import Right
from baoxiao.identity.principal import Principal
from baoxiao.kernel.clock import utcnow
from baoxiao.models.approval import ApprovalTask, TaskKind, TaskStatus
from baoxiao.models.claim import Claim
from baoxiao.models.org import Employee

OPEN = runtime.OPEN
BATCH = 500  # open tasks read (and locked) per round


def _lock(session: Session, task_id: uuid.UUID) -> tuple[Claim, ApprovalTask]:
    claim_id = session.scalar(select(ApprovalTask.claim_id).where(ApprovalTask.id == task_id))
    if claim_id is None:
        raise TaskNotFound()
    claim = session.scalars(select(Claim).where(Claim.id == claim_id).with_for_update()).one()
    task = session.scalars(
        select(ApprovalTask).where(ApprovalTask.id == task_id).with_for_update()
    ).one()
    return claim, task


def _audit(session: Session, actor: str, action: str, claim: Claim, **data: object) -> None:
    audit(
        session,
        actor=actor,
        action=action,
        subject_type="claim",
        subject_id=str(claim.id),
        company_id=str(claim.company_id),
        at=utcnow(),
        data={k: str(v) if v is not None else None for k, v in data.items()},
    )


def reassign(
    session: Session,
    principal: Principal,
    task_id: uuid.UUID,
    to_employee_id: uuid.UUID,
    comment: str | None,
) -> ApprovalTask:
    """An approval admin moves someone else's open task to another active employee."""
    claim, task = _lock(session, task_id)
    if task.kind != TaskKind.APPROVE or not permissions.has_right(
        principal, Right.ORG_ADMIN, claim.company_id
    ):
        raise TaskNotFound()
    permissions.require_not_claimant(principal, claim)  # nobody steers their own claim
    delegation.require_not_delegated(runtime.instance_of(session, claim), claim)
    if task.status not in OPEN:
        raise TaskAlreadyDecided(current_status=task.status)
    person = session.get(Employee, to_employee_id)
    if person is None or person.company_id != claim.company_id or not person.active:
        raise InvalidAssignee(field="to_employee_id", reason="no active employee of this company")
    if person.id == claim.claimant_id:
        raise InvalidAssignee(
            field="to_employee_id", reason="the claimant never approves their own claim"
        )
    if person.id == task.assignee_id:
        raise InvalidAssignee(field="to_employee_id", reason="the task is already theirs")
    moved = runtime.move_task(session, claim, task, person.id, None, principal.actor,
                              principal.user_id, comment, "reassign")  # fmt: skip
    _audit(session, principal.actor, "approval_task:reassign", claim,
           task_id=task.id, new_task_id=moved.id, from_employee_id=task.assignee_id,
           from_role=task.candidate_role, to_employee_id=moved.assignee_id,
           acting_for_id=moved.acting_for_id)  # fmt: skip
    return moved


def _others_remain(session: Session, claim: Claim, task: ApprovalTask) -> bool:
    """Does the round keep someone else who approved or will decide, besides `task`?"""
    return any(
        other.id != task.id and other.status in (*OPEN, TaskStatus.APPROVED)
        for other in runtime.round_tasks(session, claim)
    )


def _target(
    session: Session,
    claim: Claim,
    task: ApprovalTask,
    leaver: uuid.UUID,
    configured: uuid.UUID | None = None,
) -> tuple[uuid.UUID | None, str | None, str]:
    """(person, role, why) to take the leaver's task; (None, None, why) drops it."""
    if task.acting_for_id is not None and task.acting_for_id != claim.claimant_id:
        principal_approver = session.get(Employee, task.acting_for_id)
        if principal_approver is not None and principal_approver.active:
            return principal_approver.id, None, "back to the approver the leaver acted for"
    flow = runtime.pinned_flow(runtime.instance_of(session, claim))
    node = next((n for n in flow.nodes if n.id == task.step_name), None) if flow else None
    fallback = node.fallback if node is not None else None
    if fallback == "admin":
        return None, ADMIN, "node fallback: company admins"
    if fallback == "skip":
        if _others_remain(session, claim, task):
            return None, None, "node fallback: skip"
        return None, ADMIN, "node fallback skip, but nobody else decides: company admins"
    if configured is not None and configured not in (claim.claimant_id, leaver):
        return configured, None, "the company's configured fallback for leavers"
    org = DbOrgView(session, claim.company_id)
    boss = climb_manager(org, leaver, 1, exclude={claim.claimant_id, leaver}, climb_past=True)
    if boss is not None:
        return boss, None, "the leaver's nearest active manager"
    return None, ADMIN, "no active manager above the leaver: company admins"


def _open_task_ids(session: Session, employee_id: uuid.UUID) -> list[uuid.UUID]:
    """The next batch of the employee's open approval tasks, oldest first."""
    return list(
        session.scalars(
            select(ApprovalTask.id)
            .where(
                ApprovalTask.assignee_id == employee_id,
                ApprovalTask.kind == TaskKind.APPROVE,
                ApprovalTask.status.in_(OPEN),
            )
            .order_by(ApprovalTask.created_at, ApprovalTask.id)
            .limit(BATCH)
        )
    )


def _hand_over_one(
    session: Session,
    task_id: uuid.UUID,
    employee_id: uuid.UUID,
    actor: str,
    fallback: uuid.UUID | None,
) -> ApprovalTask | None:
    """Move (or drop) one open task of the leaver; returns the task that replaces it."""
    claim, task = _lock(session, task_id)
    if task.status not in OPEN or task.assignee_id != employee_id:
        return None  # decided or moved meanwhile
    person, role, why = _target(session, claim, task, employee_id, fallback)
    comment = f"hand-over: the approver left ({why})"
    new: ApprovalTask | None = None
    if person is None and role is None:
        was_pending = task.status == TaskStatus.PENDING
        task.status, task.decided_at, task.comment = TaskStatus.CANCELLED, utcnow(), comment
        session.flush()
        lifecycle.note(session, claim, "approval:hand_over", actor=actor, comment=comment,
                       extra={"task_id": str(task.id), "to": None})  # fmt: skip
        if was_pending:
            runtime.proceed(session, claim, actor=actor)
    else:
        new = runtime.move_task(session, claim, task, person, role, actor, None, comment,
                                "hand_over")  # fmt: skip
    _audit(session, actor, "approval_task:hand_over", claim, task_id=task.id,
           new_task_id=new.id if new else None, from_employee_id=employee_id,
           reason=why)  # fmt: skip
    return new


def hand_over_tasks(
    session: Session, employee_id: uuid.UUID, actor: str, *, fallback: uuid.UUID | None = None
) -> list[ApprovalTask]:
    """Move every open approval task of `employee_id` elsewhere; safe to call again.

    `fallback` (the company's configured person for leavers) replaces the nearest
    active manager; node fallbacks `admin` and `skip` still apply. Tasks are read
    in batches of BATCH until none is left, however many the leaver held.

    Returns the tasks that replace them (a dropped `skip` task has none).
    """
    moved: list[ApprovalTask] = []
    seen: set[uuid.UUID] = set()
    while batch := [t for t in _open_task_ids(session, employee_id) if t not in seen]:
        seen.update(batch)  # a task still open after its turn is never taken twice
        for task_id in batch:
            new = _hand_over_one(session, task_id, employee_id, actor, fallback)
            if new is not None:
                moved.append(new)
        session.flush()
    return moved
