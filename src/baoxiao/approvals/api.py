"""Approval task endpoints: the approver's inbox and decisions."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from baoxiao.approvals import actions, handover, service
from baoxiao.approvals.schemas import (
    AddSignerBody,
    ApproveBody,
    DecisionBody,
    ReturnBody,
    TaskRead,
    TransferBody,
)
from baoxiao.identity.deps import CurrentPrincipal, DbSession
from baoxiao.kernel.routing import TransactionalRoute
from baoxiao.models.approval import ApprovalTask, TaskStatus
from baoxiao.models.catalog import in_minor_units

router = APIRouter(prefix="/approval-tasks", route_class=TransactionalRoute, tags=["approvals"])


def _read(session: Session, task: ApprovalTask) -> TaskRead:
    claim = task.claim
    return TaskRead(
        id=task.id,
        claim_id=claim.id,
        claim_number=claim.number,
        claim_reason=claim.reason,
        claimant_name=claim.claimant.name,
        total_amount=in_minor_units(session, claim.total_amount, claim.currency),
        currency=claim.currency,
        round=task.round,
        step=task.step,
        step_name=task.step_name,
        assignee_id=task.assignee_id,
        candidate_role=task.candidate_role,
        status=task.status,
        comment=task.comment,
        decided_at=task.decided_at,
        created_at=task.created_at,
        kind=task.kind,
        acting_for_id=task.acting_for_id,
        origin=task.origin,
    )


@router.get("", response_model=list[TaskRead])
def my_tasks(
    principal: CurrentPrincipal,
    session: DbSession,
    status: TaskStatus = TaskStatus.PENDING,
    limit: int = Query(default=100, ge=1, le=500),
) -> list[TaskRead]:
    """Tasks waiting for the caller (directly or through a role), oldest first."""
    return [_read(session, t) for t in service.list_tasks(session, principal, status, limit)]


def _decide(
    task_id: uuid.UUID,
    decision: service.Decision,
    body: DecisionBody | None,
    principal: CurrentPrincipal,
    session: DbSession,
) -> TaskRead:
    lines = [
        service.LineDecision(d.line_id, d.approved_amount, d.reason)
        for d in (body.lines if isinstance(body, ApproveBody) else [])
    ]
    task = service.decide(
        session,
        principal,
        task_id,
        decision,
        body.comment if body else None,
        lines=lines,
        return_to=body.to_node if isinstance(body, ReturnBody) else None,
    )
    return _read(session, task)


@router.post("/{task_id}/approve", response_model=TaskRead)
def approve(
    task_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: DbSession,
    body: ApproveBody | None = None,
) -> TaskRead:
    """Approve: the claim goes to the next step, or is approved after the last.

    `lines` approves lines at a lower amount (0 refuses one), each with a reason.
    """
    return _decide(task_id, "approve", body, principal, session)


@router.post("/{task_id}/reject", response_model=TaskRead)
def reject(
    task_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: DbSession,
    body: DecisionBody | None = None,
) -> TaskRead:
    """Reject: the claim ends. A comment is required."""
    return _decide(task_id, "reject", body, principal, session)


@router.post("/{task_id}/return", response_model=TaskRead)
def return_to_claimant(
    task_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: DbSession,
    body: ReturnBody | None = None,
) -> TaskRead:
    """Return the claim to the claimant (or, with to_node, to an earlier node). Needs a comment."""
    return _decide(task_id, "return", body, principal, session)


@router.post("/{task_id}/transfer", response_model=TaskRead)
def transfer(
    task_id: uuid.UUID, body: TransferBody, principal: CurrentPrincipal, session: DbSession
) -> TaskRead:
    """Hand the task to another person (转交); returns the new task."""
    task = actions.transfer(session, principal, task_id, body.to_employee_id, body.comment)
    return _read(session, task)


@router.post("/{task_id}/add-signer", response_model=TaskRead)
def add_signer(
    task_id: uuid.UUID, body: AddSignerBody, principal: CurrentPrincipal, session: DbSession
) -> TaskRead:
    """Add a signer before or after this task (加签); returns the added task."""
    task = actions.add_signer(
        session, principal, task_id, body.employee_id, body.position, body.comment
    )
    return _read(session, task)


@router.post("/{task_id}/reassign", response_model=TaskRead)
def reassign(
    task_id: uuid.UUID, body: TransferBody, principal: CurrentPrincipal, session: DbSession
) -> TaskRead:
    """An approval admin gives someone else's open task to another person; returns the new task.

    For an approver on leave. Needs org:admin in the claim's company; never to the claimant.
    """
    task = handover.reassign(session, principal, task_id, body.to_employee_id, body.comment)
    return _read(session, task)
