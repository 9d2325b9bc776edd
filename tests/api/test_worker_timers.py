"""The worker runs approval reminders and escalations (issue #3 timers, issue #4 worker)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from baoxiao.integrations.dispatcher import Dispatcher
from baoxiao.kernel.db import Database
from baoxiao.models import ApprovalTask, OutboxEvent
from baoxiao.settings import Settings
from tests.api.conftest import Api
from tests.support.integrations import fast_settings


def _overdue_task(api: Api, db: Database) -> tuple[str, uuid.UUID]:
    claim = api.create()
    api.submit(claim["id"])
    task_id = uuid.UUID(api.task_for(claim["id"], "manager")["id"])
    with db.transaction() as session:
        task = session.get(ApprovalTask, task_id)
        assert task is not None
        task.remind_at = task.escalate_at = datetime.now(UTC) - timedelta(minutes=1)
    return claim["id"], task_id


def _event_types(db: Database, claim_id: str) -> list[str]:
    with db.transaction() as session:
        return list(
            session.scalars(
                select(OutboxEvent.type)
                .where(OutboxEvent.subject_id == claim_id)
                .order_by(OutboxEvent.sequence)
            )
        )


def test_a_dispatcher_pass_reminds_and_escalates(
    api: Api, db: Database, settings: Settings
) -> None:
    claim_id, task_id = _overdue_task(api, db)
    dispatcher = Dispatcher(db, fast_settings(settings))
    try:
        dispatcher.run_once()
    finally:
        dispatcher.close()
    with db.transaction() as session:
        task = session.get(ApprovalTask, task_id)
        assert task is not None and task.reminded_at is not None
    assert _event_types(db, claim_id).count("approval.task.reminded") == 1
    assert api.task_for(claim_id, "boss")["origin"] == "escalation"


def test_only_the_lease_holder_runs_the_timers(api: Api, db: Database, settings: Settings) -> None:
    first = Dispatcher(db, fast_settings(settings), owner="worker-a")
    second = Dispatcher(db, fast_settings(settings), owner="worker-b")
    try:
        first.run_once()  # takes the timer lease while nothing is due
        claim_id, _task_id = _overdue_task(api, db)
        second.run_once()  # the lease is worker-a's: worker-b leaves the timers alone
        assert "approval.task.reminded" not in _event_types(db, claim_id)
        first._last_timers = 0.0  # its next interval is due
        first.run_once()
    finally:
        first.close()
        second.close()
    assert _event_types(db, claim_id).count("approval.task.reminded") == 1
