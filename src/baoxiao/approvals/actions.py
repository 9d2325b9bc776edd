"""Task actions beside deciding: transfer (转交), add a signer (加签), comment, urge (催办),
and delegation. Each is authorised, audited on the claim's timeline, and emits events."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.approvals import runtime
from baoxiao.approvals.errors import (
    DelegationInvalid,
    DelegationNotFound,
    InvalidAssignee,
    NothingToUrge,
    UrgedTooOften,
)
from baoxiao.approvals.service import load_for_action
from baoxiao.audit.service import record as audit
from baoxiao.claims import lifecycle
from baoxiao.identity import permissions
from baoxiao.identity.permissions import Right
from baoxiao.identity.principal import Principal
from baoxiao.kernel.clock import utcnow
from baoxiao.models.approval import ApprovalDelegation, ApprovalTask, TaskStatus
from baoxiao.models.claim import Claim
from baoxiao.models.org import Employee
from baoxiao.outbox.service import publish

URGE_INTERVAL = timedelta(hours=1)
MAX_DELEGATION_CHAIN = 32


def _assignee(session: Session, claim: Claim, employee_id: uuid.UUID, field: str) -> Employee:
    person = session.get(Employee, employee_id)
    if person is None or person.company_id != claim.company_id or not person.active:
        raise InvalidAssignee(field=field, reason="no active employee of this company")
    if person.id == claim.claimant_id:
        raise InvalidAssignee(field=field, reason="the claimant never approves their own claim")
    return person


def transfer(
    session: Session,
    principal: Principal,
    task_id: uuid.UUID,
    to_employee_id: uuid.UUID,
    comment: str | None,
    *,
    origin: str = "transfer",
) -> ApprovalTask:
    """Hand a pending task to another person (or their delegate); the old one ends transferred."""
    claim, task = load_for_action(session, principal, task_id)
    _assignee(session, claim, to_employee_id, "to_employee_id")
    return runtime.move_task(session, claim, task, to_employee_id, None, principal.actor,
                             principal.user_id, comment, origin)  # fmt: skip


def add_signer(
    session: Session,
    principal: Principal,
    task_id: uuid.UUID,
    employee_id: uuid.UUID,
    position: Literal["before", "after"],
    comment: str | None,
) -> ApprovalTask:
    """加签: another person signs before this task comes back to you, or right after it."""
    claim, task = load_for_action(session, principal, task_id)
    _assignee(session, claim, employee_id, "employee_id")
    tasks = runtime.round_tasks(session, claim)
    pivot = task.step if position == "before" else task.step + 1
    for other in tasks:
        if other.step >= pivot:
            other.step += 1
    added = runtime.new_task(
        claim,
        task.round,
        pivot,
        f"{task.step_name}_{position}"[:64],
        assignee_id=employee_id,
        mode="all",
        status=TaskStatus.WAITING,
        instance_id=task.instance_id,
        origin="add_signer",
    )
    session.add(added)
    if position == "before":
        for other in tasks:
            if other.step == task.step and other.status == TaskStatus.PENDING:
                other.status = TaskStatus.WAITING
    session.flush()
    lifecycle.note(
        session,
        claim,
        "approval:add_signer",
        actor=principal.actor,
        actor_user_id=principal.user_id,
        comment=comment,
        extra={
            "task_id": str(task.id),
            "added_task_id": str(added.id),
            "position": position,
            "employee_id": str(employee_id),
        },
    )
    runtime.proceed(session, claim, actor=principal.actor, actor_user_id=principal.user_id)
    return added


def comment(session: Session, principal: Principal, claim_id: uuid.UUID, text: str) -> Claim:
    """A remark on the claim's timeline by anyone who takes part in it (an auditor, who
    only reads, may not)."""
    claim = permissions.load_claim_to_take_part(session, principal, claim_id, lock=True)
    lifecycle.note(
        session,
        claim,
        "approval:comment",
        actor=principal.actor,
        actor_user_id=principal.user_id,
        comment=text,
    )
    return claim


def urge(session: Session, principal: Principal, claim_id: uuid.UUID) -> list[ApprovalTask]:
    """催办: the claimant reminds the current approvers (at most once an hour)."""
    claim = permissions.load_visible_claim(session, principal, claim_id, lock=True)
    permissions.require_claimant(principal, claim)
    pending = [t for t in runtime.round_tasks(session, claim) if t.status == TaskStatus.PENDING]
    if not pending:
        raise NothingToUrge()
    now = utcnow()
    if any(t.urged_at and now - t.urged_at < URGE_INTERVAL for t in pending):
        raise UrgedTooOften()
    for task in pending:
        task.urged_at = now
        publish(session, runtime.task_event("approval.task.urged", task, claim))
    lifecycle.note(
        session,
        claim,
        "approval:urge",
        actor=principal.actor,
        actor_user_id=principal.user_id,
        extra={"tasks": [str(t.id) for t in pending]},
    )
    return pending


# ---- delegation --------------------------------------------------------------------------


def _overlapping_from(
    session: Session, person: uuid.UUID, starts: datetime, ends: datetime
) -> list[uuid.UUID]:
    return list(
        session.scalars(
            select(ApprovalDelegation.delegate_id).where(
                ApprovalDelegation.delegator_id == person,
                ApprovalDelegation.revoked_at.is_(None),
                ApprovalDelegation.starts_at < ends,
                ApprovalDelegation.ends_at > starts,
            )
        )
    )


def creates_cycle(
    session: Session, delegator: uuid.UUID, delegate: uuid.UUID, starts: datetime, ends: datetime
) -> bool:
    """Would delegator -> delegate close a loop of overlapping delegations?"""
    frontier, seen = [delegate], {delegate}
    for _ in range(MAX_DELEGATION_CHAIN):
        if not frontier:
            return False
        nxt: list[uuid.UUID] = []
        for person in frontier:
            for target in _overlapping_from(session, person, starts, ends):
                if target == delegator:
                    return True
                if target not in seen:
                    seen.add(target)
                    nxt.append(target)
        frontier = nxt
    return True  # too long a chain to trust


def delegate(
    session: Session,
    principal: Principal,
    *,
    delegate_id: uuid.UUID,
    starts_at: datetime,
    ends_at: datetime,
    delegator_id: uuid.UUID | None = None,
) -> ApprovalDelegation:
    """Name a delegate for a period; admins may set one for someone else."""
    delegator_id = delegator_id or principal.employee_id
    if delegator_id is None:
        raise DelegationInvalid(field="delegator_id", reason="this account has no employee")
    delegator = session.get(Employee, delegator_id)
    if delegator is None:
        raise DelegationInvalid(field="delegator_id", reason="unknown employee")
    if delegator_id != principal.employee_id:
        permissions.require_right(principal, Right.ORG_ADMIN, delegator.company_id)
    target = session.get(Employee, delegate_id)
    if target is None or target.company_id != delegator.company_id or not target.active:
        raise DelegationInvalid(field="delegate_id", reason="no active employee of this company")
    if delegate_id == delegator_id:
        raise DelegationInvalid(field="delegate_id", reason="nobody delegates to themselves")
    if ends_at <= starts_at:
        raise DelegationInvalid(field="ends_at", reason="must be after starts_at")
    if creates_cycle(session, delegator_id, delegate_id, starts_at, ends_at):
        raise DelegationInvalid(field="delegate_id", reason="this would make a delegation cycle")
    row = ApprovalDelegation(
        id=uuid.uuid4(),
        company_id=delegator.company_id,
        delegator_id=delegator_id,
        delegate_id=delegate_id,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by_id=principal.user_id,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    audit(
        session,
        actor=principal.actor,
        action="approval_delegation:create",
        subject_type="approval_delegation",
        subject_id=str(row.id),
        company_id=str(row.company_id),
        at=utcnow(),
        data={
            "delegator_id": str(delegator_id),
            "delegate_id": str(delegate_id),
            "starts_at": starts_at,
            "ends_at": ends_at,
        },
    )
    return row


def list_delegations(session: Session, principal: Principal) -> list[ApprovalDelegation]:
    me = principal.employee_id
    return list(
        session.scalars(
            select(ApprovalDelegation)
            .where((ApprovalDelegation.delegator_id == me) | (ApprovalDelegation.delegate_id == me))
            .order_by(ApprovalDelegation.starts_at)
        )
    )


def revoke_delegation(
    session: Session, principal: Principal, delegation_id: uuid.UUID
) -> ApprovalDelegation:
    row = session.get(ApprovalDelegation, delegation_id)
    if row is None or (
        row.delegator_id != principal.employee_id
        and not permissions.has_right(principal, Right.ORG_ADMIN, row.company_id)
    ):
        raise DelegationNotFound()
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit(
            session,
            actor=principal.actor,
            action="approval_delegation:revoke",
            subject_type="approval_delegation",
            subject_id=str(row.id),
            company_id=str(row.company_id),
            at=utcnow(),
            data={},
        )
    return row
