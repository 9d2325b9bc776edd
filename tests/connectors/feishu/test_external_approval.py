"""Mode "baoxiao": Baoxiao's engine runs the route; Feishu's approval center mirrors it and
approvers decide there through the quick-approval callback, as themselves."""

from __future__ import annotations

import json
from typing import Any

from tests.connectors.feishu.harness import Env, open_id


def _current(env: Env, claim_id: str) -> dict[str, Any] | None:
    found = [
        i for i in env.sim.get("/external_instances")["current"] if i["instance_id"] == claim_id
    ]
    return found[0] if found else None


def _pending_task(env: Env, claim_id: str, role: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        inst = _current(env, claim_id)
        return next(
            (
                t
                for t in (inst or {}).get("task_list", [])
                if t["open_id"] == open_id(role) and t["status"] == "PENDING"
            ),
            None,
        )

    return env.sim.wait_for(find, 20, f"a pending task for {role} in the approval center")


def _click(
    env: Env, claim_id: str, task: dict[str, Any], who: str, action: str, reason: str = ""
) -> dict[str, Any]:
    return dict(
        env.sim.post(
            "/external/quick",
            {
                "approval_code": "BX_EXT",
                "instance_id": claim_id,
                "task_id": task["task_id"],
                "user": open_id(who),
                "action_type": action,
                "reason": reason,
            },
        )
    )


def test_quick_approval_as_the_approver_then_paid(baoxiao_mode: Env) -> None:
    env = baoxiao_mode
    claim_id = env.new_claim()
    env.submit(claim_id)
    task = _pending_task(env, claim_id, "manager")
    assert task["action_context"] == task["task_id"]
    answer = _click(env, claim_id, task, "manager", "APPROVE")
    assert answer["status"] == 200, answer
    env.sim.wait_for(
        lambda: (
            next(
                t for t in _current(env, claim_id)["task_list"] if t["task_id"] == task["task_id"]
            )["status"]
            == "APPROVED"
        ),
        20,
        "the approved task synced back",
    )
    finance_task = env.http.get("/api/v1/approval-tasks", headers=env.headers("finance")).json()
    mine = next(t for t in finance_task if t["claim_id"] == claim_id)
    r = env.http.post(
        f"/api/v1/approval-tasks/{mine['id']}/approve", headers=env.headers("finance")
    )
    assert r.status_code == 200, r.text
    env.wait_status(claim_id, "approved")
    env.sim.wait_for(lambda: _current(env, claim_id)["status"] == "APPROVED", 20, "APPROVED")
    r = env.http.post(f"/api/v1/claims/{claim_id}/mark-paid", headers=env.headers("cashier"))
    assert r.status_code == 201, r.text
    env.sim.wait_for(
        lambda: any("已支付" in m["content"] for m in env.cards_for("claimant")),
        20,
        "the paid card",
    )
    # the same click delivered again changes nothing
    again = _click(env, claim_id, task, "manager", "APPROVE")
    assert again["status"] in (200, 409), again


def test_quick_approval_refuses_the_claimant_and_other_people(baoxiao_mode: Env) -> None:
    env = baoxiao_mode
    claim_id = env.new_claim()
    env.submit(claim_id)
    task = _pending_task(env, claim_id, "manager")
    # The approvals service answers as for anyone without the task: not found (HTTP 404,
    # which Feishu shows with the message), and nothing happens.
    own = _click(env, claim_id, task, "claimant", "APPROVE")
    assert own["status"] == 404 and json.loads(own["body"])["message"], own
    peer = _click(env, claim_id, task, "peer", "APPROVE")
    assert peer["status"] == 404, peer
    assert env.claim_status(claim_id) == "approving"
    rejected = _click(env, claim_id, task, "manager", "REJECT", "missing receipt")
    assert rejected["status"] == 200, rejected
    env.wait_status(claim_id, "rejected")
    env.sim.wait_for(lambda: _current(env, claim_id)["status"] == "REJECTED", 20, "REJECTED")


def test_return_sends_a_card_and_ends_the_external_instance(baoxiao_mode: Env) -> None:
    env = baoxiao_mode
    claim_id = env.new_claim()
    env.submit(claim_id)
    _pending_task(env, claim_id, "manager")
    tasks = env.http.get("/api/v1/approval-tasks", headers=env.headers("manager")).json()
    mine = next(t for t in tasks if t["claim_id"] == claim_id)
    r = env.http.post(
        f"/api/v1/approval-tasks/{mine['id']}/return",
        json={"comment": "add the receipt"},
        headers=env.headers("manager"),
    )
    assert r.status_code == 200, r.text
    env.sim.wait_for(lambda: _current(env, claim_id)["status"] == "TERMINATED", 20, "ended")
    env.sim.wait_for(
        lambda: any("退回" in m["content"] for m in env.cards_for("claimant")),
        20,
        "the returned card",
    )
