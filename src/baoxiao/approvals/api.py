"""Approval task endpoints: the approver's inbox and decisions."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from baoxiao.approvals import service
from baoxiao.approvals.schemas import DecisionBody, TaskRead
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
    task = service.decide(session, principal, task_id, decision, body.comment if body else None)
    return _read(session, task)


@router.post("/{task_id}/approve", response_model=TaskRead)
def approve(
    task_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: DbSession,
    body: DecisionBody | None = None,
) -> TaskRead:
    """Approve: the claim goes to the next step, or is approved after the last."""
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
    body: DecisionBody | None = None,
) -> TaskRead:
    """Return the claim to the claimant for changes. A comment is required."""
    return _decide(task_id, "return", body, principal, session)
