"""Timers the worker runs: remind after X hours, escalate after Y hours (per node)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.approvals import runtime
from baoxiao.approvals.engine import ADMIN
from baoxiao.approvals.orgdb import DbOrgView
from baoxiao.approvals.selectors import climb_manager
from baoxiao.models.approval import ApprovalTask, TaskStatus
from baoxiao.models.claim import Claim
from baoxiao.outbox.service import publish

ACTOR = "system:approval-timers"


@dataclass(frozen=True)
class TimerRun:
    reminded: int
    escalated: int


def run_timers(session: Session, now: datetime, *, limit: int = 500) -> TimerRun:
    """Send due reminders and escalate overdue tasks; safe to run again (idempotent)."""
    reminded = escalated = 0
    due = session.scalars(
        select(ApprovalTask)
        .where(
            ApprovalTask.status == TaskStatus.PENDING,
            ApprovalTask.remind_at <= now,
            ApprovalTask.reminded_at.is_(None),
        )
        .limit(limit)
    )
    for task in due:
        claim = session.scalars(
            select(Claim).where(Claim.id == task.claim_id).with_for_update()
        ).one()
        task.reminded_at = now
        publish(session, runtime.task_event("approval.task.reminded", task, claim))
        reminded += 1
    overdue = list(
        session.scalars(
            select(ApprovalTask)
            .where(ApprovalTask.status == TaskStatus.PENDING, ApprovalTask.escalate_at <= now)
            .limit(limit)
        )
    )
    for task in overdue:
        claim = session.scalars(
            select(Claim).where(Claim.id == task.claim_id).with_for_update()
        ).one()
        org = DbOrgView(session, claim.company_id)
        boss = None
        if task.assignee_id is not None:
            boss = climb_manager(
                org, task.assignee_id, 1, exclude={claim.claimant_id}, climb_past=True
            )
        runtime.move_task(
            session,
            claim,
            task,
            boss,
            None if boss else ADMIN,
            ACTOR,
            None,
            "overdue: escalated",
            "escalation",
        )
        escalated += 1
    session.flush()
    return TimerRun(reminded, escalated)
