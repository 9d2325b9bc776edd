"""Mode "feishu" end to end: the simulator in its own process, Baoxiao as a real server."""

from __future__ import annotations

from tests.connectors.feishu.harness import Env, activities, inbox, open_id


def test_submit_approve_in_feishu_pay_and_cards(feishu_mode: Env) -> None:
    env = feishu_mode
    claim_id = env.new_claim()
    env.submit(claim_id)
    inst = env.instance_of(claim_id)
    assert inst["open_id"] == open_id("claimant") and inst["status"] == "PENDING"
    env.sim.post(f"/instances/{inst['instance_code']}/approve", {"user": open_id("manager")})
    env.wait_status(claim_id, "approved")
    paid = env.http.post(f"/api/v1/claims/{claim_id}/mark-paid", headers=env.headers("cashier"))
    assert paid.status_code == 201, paid.text
    env.sim.wait_for(lambda: len(env.cards_for("claimant")) >= 3, 20, "three cards")
    titles = [m["content"] for m in env.cards_for("claimant")]
    assert any("已提交" in t for t in titles) and any("审批通过" in t for t in titles)
    assert any("已支付" in t for t in titles)
    assert len(env.sim_instances()) == 1


def test_reject_in_feishu_rejects_the_claim_and_records_history(feishu_mode: Env) -> None:
    env = feishu_mode
    claim_id = env.new_claim()
    env.submit(claim_id)
    code = env.instance_of(claim_id)["instance_code"]
    env.sim.post(f"/instances/{code}/reject", {"user": open_id("manager"), "comment": "no"})
    env.wait_status(claim_id, "rejected")
    env.sim.wait_for(
        lambda: ("feishu:task_rejected", None) in activities(env, claim_id), 10, "task history"
    )
    assert ("claim:reject", "rejected") in activities(env, claim_id)
    env.sim.wait_for(lambda: any("驳回" in m["content"] for m in env.cards_for("claimant")), 10)


def test_withdraw_in_baoxiao_cancels_the_feishu_instance(feishu_mode: Env) -> None:
    env = feishu_mode
    claim_id = env.new_claim()
    env.submit(claim_id)
    code = env.instance_of(claim_id)["instance_code"]
    r = env.http.post(f"/api/v1/claims/{claim_id}/withdraw", headers=env.headers("claimant"))
    assert r.status_code == 200, r.text
    env.sim.wait_for(
        lambda: (
            next(i for i in env.sim_instances() if i["instance_code"] == code)["status"]
            == "CANCELED"
        ),
        20,
        "Feishu instance cancelled",
    )
    # The CANCELED event comes back: the claim is already withdrawn, nothing moves twice.
    env.sim.wait_for(lambda: any(r and "already withdrawn" in r for _t, _s, r in inbox(env)), 10)
    assert [a for a in activities(env, claim_id) if a[0] == "claim:withdraw"] == [
        ("claim:withdraw", "withdrawn")
    ]


def test_feishu_side_cancel_delete_and_revert(feishu_mode: Env) -> None:
    env = feishu_mode
    cancelled, deleted, reverted = env.new_claim(), env.new_claim(), env.new_claim()
    for claim_id in (cancelled, deleted, reverted):
        env.submit(claim_id)
    env.sim.post(
        f"/instances/{env.instance_of(cancelled)['instance_code']}/cancel",
        {"user": open_id("claimant")},
    )
    env.sim.post(f"/instances/{env.instance_of(deleted)['instance_code']}/delete")
    code = env.instance_of(reverted)["instance_code"]
    env.sim.post(f"/instances/{code}/approve", {"user": open_id("manager")})
    env.wait_status(cancelled, "withdrawn")
    env.wait_status(deleted, "withdrawn")
    env.wait_status(reverted, "approved")
    env.sim.post(f"/instances/{code}/revert")
    env.sim.wait_for(lambda: ("feishu:reverted", None) in activities(env, reverted), 10)
    assert env.claim_status(reverted) == "approved"  # state only moves forward
