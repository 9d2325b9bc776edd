"""Mode "feishu" delegates the approval: Baoxiao creates no tasks and decides nothing."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from baoxiao.models.approval import ApprovalTask, TaskStatus
from tests.connectors.feishu.harness import Env, open_id


def _tasks(env: Env, claim_id: str) -> list[tuple[int, str]]:
    with env.db.transaction() as session:
        rows = session.scalars(
            select(ApprovalTask).where(ApprovalTask.claim_id == uuid.UUID(claim_id))
        )
        return [(t.round, t.status) for t in rows]


def _inbox(env: Env, who: str) -> list[str]:
    r = env.http.get("/api/v1/approval-tasks", headers=env.headers(who))
    assert r.status_code == 200, r.text
    return [t["claim_id"] for t in r.json()]


def _route(env: Env, claim_id: str) -> dict[str, Any]:
    r = env.http.get(f"/api/v1/claims/{claim_id}/route", headers=env.headers("claimant"))
    assert r.status_code == 200, r.text
    return dict(r.json())


def _enable(env: Env, enabled: bool) -> None:
    r = env.http.patch(
        f"/api/v1/connectors/{env.connector_id}",
        headers=env.headers("admin"),
        json={"enabled": enabled},
    )
    assert r.status_code == 200, r.text


def test_native_mode_creates_no_baoxiao_tasks_and_feishu_decides(feishu_mode: Env) -> None:
    env = feishu_mode
    claim_id = env.new_claim()
    env.submit(claim_id)
    assert env.claim_status(claim_id) == "approving"
    assert _tasks(env, claim_id) == []
    assert claim_id not in _inbox(env, "manager")
    route = _route(env, claim_id)
    assert route["instance_status"] == "delegated" and route["steps"] == []
    assert route["delegated_to"]["kind"] == "feishu"
    assert route["delegated_to"]["connector_id"] == env.connector_id
    assert "Feishu" in route["explanation"]["en"] and "审批" in route["explanation"]["zh"]
    code = env.instance_of(claim_id)["instance_code"]
    env.sim.post(f"/instances/{code}/approve", {"user": open_id("manager")})
    env.wait_status(claim_id, "approved")
    assert _tasks(env, claim_id) == []
    assert _route(env, claim_id)["instance_status"] == "approved"


def test_baoxiao_approve_of_a_delegated_claim_gets_409(feishu_mode: Env) -> None:
    env = feishu_mode
    _enable(env, False)  # connector off: Baoxiao runs round 1 and the manager gets a task
    claim_id = env.new_claim()
    env.submit(claim_id)
    assert (1, TaskStatus.PENDING) in _tasks(env, claim_id)
    old_task = _inbox_task(env, claim_id)
    r = env.http.post(f"/api/v1/claims/{claim_id}/withdraw", headers=env.headers("claimant"))
    assert r.status_code == 200, r.text
    _enable(env, True)  # round 2 runs in Feishu
    env.submit(claim_id)
    assert [s for n, s in _tasks(env, claim_id) if n == 2] == []
    assert claim_id not in _inbox(env, "manager")
    for decision in ("approve", "reject"):
        r = env.http.post(
            f"/api/v1/approval-tasks/{old_task}/{decision}",
            headers=env.headers("manager"),
            json={"comment": "trying"},
        )
        assert r.status_code == 409, r.text
        body = r.json()
        assert body["code"] == "approval_delegated", body
        assert "Feishu" in r.text
    r = env.http.post(
        f"/api/v1/approval-tasks/{old_task}/reassign",
        headers=env.headers("admin"),
        json={"to_employee_id": str(env.world["boss"].employee.id)},
    )
    assert r.status_code == 409 and r.json()["code"] == "approval_delegated", r.text
    assert env.claim_status(claim_id) == "approving"


def _inbox_task(env: Env, claim_id: str) -> str:
    r = env.http.get("/api/v1/approval-tasks", headers=env.headers("manager"))
    return next(str(t["id"]) for t in r.json() if t["claim_id"] == claim_id)


def test_external_approval_mode_still_runs_the_baoxiao_route(baoxiao_mode: Env) -> None:
    env = baoxiao_mode
    claim_id = env.new_claim()
    env.submit(claim_id)
    assert (1, TaskStatus.PENDING) in _tasks(env, claim_id)
    assert claim_id in _inbox(env, "manager")
    route = _route(env, claim_id)
    assert route["instance_status"] == "running" and "delegated_to" not in route
    r = env.http.post(
        f"/api/v1/approval-tasks/{_inbox_task(env, claim_id)}/approve",
        headers=env.headers("manager"),
    )
    assert r.status_code == 200, r.text
