"""Faults: Feishu down or throttling, lost acks, duplicates, reordering, forged pushes."""

from __future__ import annotations

import json

from sqlalchemy import select

from baoxiao.models.integration import Delivery, DeliveryStatus
from tests.connectors.feishu.harness import (
    ENCRYPT_KEY,
    VERIFICATION_TOKEN,
    Env,
    activities,
    inbox,
    open_id,
)
from tests.tools.feishu_sim import crypto
from tests.tools.feishu_sim.push import wire_body


def _approvals(env: Env, claim_id: str) -> int:
    return sum(1 for action, _ in activities(env, claim_id) if action == "claim:approve")


def test_feishu_down_during_submit_delivers_later_exactly_one_instance(feishu_mode: Env) -> None:
    env = feishu_mode
    env.sim.post("/faults", {"down": True})
    claim_id = env.new_claim()
    env.submit(claim_id)
    env.sim.wait_for(
        lambda: (
            any(c["path"].endswith("/instances") for c in env.sim.get("/calls")) or _attempted(env)
        ),
        10,
        "a failed attempt",
    )
    assert env.sim_instances() == []
    env.sim.post("/faults", {"down": False})
    inst = env.instance_of(claim_id)
    env.sim.post("/faults", {"fail_after_commit": 0})
    assert [i["uuid"] for i in env.sim_instances()] == [inst["uuid"]]


def _attempted(env: Env) -> bool:
    with env.db.transaction() as session:
        return any(d.attempts > 0 for d in session.scalars(select(Delivery)))


def test_lost_create_answer_is_found_by_uuid_not_created_twice(feishu_mode: Env) -> None:
    env = feishu_mode
    env.sim.post("/faults", {"fail_after_commit": 1})  # created, but the answer is a 500
    claim_id = env.new_claim()
    env.submit(claim_id)
    inst = env.instance_of(claim_id)
    env.sim.wait_for(
        lambda: (
            any("card" in (d or "") for d in _details(env)) or len(env.cards_for("claimant")) == 1
        ),
        20,
        "the submit delivery to finish",
    )
    assert len(env.sim_instances()) == 1 and inst["uuid"].startswith(claim_id.replace("-", ""))
    creates = [
        c
        for c in env.sim.get("/calls")
        if c["method"] == "POST" and c["path"] == "/open-apis/approval/v4/instances"
    ]
    assert len(creates) == 2  # the retry answered 60012 and looked the instance up


def _details(env: Env) -> list[str | None]:
    with env.db.transaction() as session:
        return [d.last_error for d in session.scalars(select(Delivery))]


def test_lost_ack_redelivers_and_the_event_applies_once(feishu_mode: Env) -> None:
    env = feishu_mode
    claim_id = env.new_claim()
    env.submit(claim_id)
    code = env.instance_of(claim_id)["instance_code"]
    env.sim.post("/faults", {"lose_acks": 3})  # Baoxiao committed, Feishu thinks it failed
    env.sim.post(f"/instances/{code}/approve", {"user": open_id("manager")})
    env.wait_status(claim_id, "approved")
    env.sim.wait_for(lambda: env.sim.get("/pushes")["pending"] == 0, 20, "retries to finish")
    pushes = env.sim.get("/pushes")["pushes"]
    assert any(p["attempt"] > 0 for p in pushes)  # really pushed again
    assert _approvals(env, claim_id) == 1


def test_duplicates_and_reversed_order_are_harmless(feishu_mode: Env) -> None:
    env = feishu_mode
    claim_id = env.new_claim()
    env.sim.post("/faults", {"duplicate": True, "hold": True})
    env.submit(claim_id)
    code = env.instance_of(claim_id)["instance_code"]
    env.sim.post(f"/instances/{code}/approve", {"user": open_id("manager")})
    released = env.sim.post("/release", {"order": "reverse"})["released"]
    assert released >= 4  # instance PENDING, task PENDING, task APPROVED, instance APPROVED
    env.wait_status(claim_id, "approved")
    env.sim.wait_for(lambda: env.sim.get("/pushes")["pending"] == 0, 20, "all pushes")
    assert _approvals(env, claim_id) == 1

    # "pending" counts queued pushes, not one in flight: wait until the last one is stored.
    def instance_messages() -> list[str]:
        return [s for t, s, _r in inbox(env) if t == "feishu.approval_instance"]

    env.sim.wait_for(lambda: len(instance_messages()) >= 2, 10, "both instance events stored")
    assert len(instance_messages()) == 2  # each event id stored once although pushed twice


def test_bad_signature_and_bad_token_are_rejected(feishu_mode: Env) -> None:
    env = feishu_mode
    url = f"/api/v1/integrations/{env.connector_id}/feishu/events"
    envelope = {
        "ts": "1",
        "uuid": "forged-1",
        "token": VERIFICATION_TOKEN,
        "type": "event_callback",
        "event": {"type": "approval_instance", "instance_code": "X", "status": "APPROVED"},
    }
    body = wire_body(ENCRYPT_KEY, envelope)
    headers = crypto.signed_headers(ENCRYPT_KEY, body)
    headers["X-Lark-Signature"] = "f" * 64
    r = env.http.post(url, content=body, headers=headers)
    assert r.status_code == 401 and r.json()["code"] == "signature_invalid"
    forged = wire_body(ENCRYPT_KEY, {**envelope, "uuid": "forged-2", "token": "wrong"})
    r = env.http.post(url, content=forged, headers=crypto.signed_headers(ENCRYPT_KEY, forged))
    assert r.status_code == 401 and r.json()["code"] == "verification_token_invalid"
    plain = json.dumps(envelope).encode()  # not encrypted, not signed
    r = env.http.post(url, content=plain, headers=crypto.signed_headers(None, plain))
    assert r.status_code == 401
    good = wire_body(ENCRYPT_KEY, {**envelope, "uuid": "ok-1"})
    r = env.http.post(url, content=good, headers=crypto.signed_headers(ENCRYPT_KEY, good))
    assert r.status_code == 200 and r.json() == {"msg": "success"}
    assert [t for t, _s, _r in inbox(env)].count("feishu.approval_instance") == 1


def test_throttling_is_retried_after_the_reset_time(feishu_mode: Env) -> None:
    env = feishu_mode
    env.sim.post("/faults", {"throttle_count": 2, "throttle_reset": 1})
    claim_id = env.new_claim()
    env.submit(claim_id)
    env.instance_of(claim_id)
    with env.db.transaction() as session:
        rows = session.scalars(select(Delivery).where(Delivery.event_type == "claim.submitted"))
        row = next(iter(rows))
        assert row.attempts >= 2
        gap = (row.last_attempt_at - row.first_attempt_at).total_seconds()
    assert gap >= 0.9  # waited for x-ogw-ratelimit-reset, not the 50 ms test backoff
    env.sim.wait_for(lambda: _status(env) == DeliveryStatus.DELIVERED, 10, "delivered")


def _status(env: Env) -> str:
    with env.db.transaction() as session:
        rows = session.scalars(select(Delivery).where(Delivery.event_type == "claim.submitted"))
        return next(iter(rows)).status


def test_a_rejected_token_is_refreshed_once(feishu_mode: Env) -> None:
    env = feishu_mode
    env.sim.post("/tokens/expire")  # Feishu invalidated the cached tenant token
    claim_id = env.new_claim()
    env.submit(claim_id)
    env.instance_of(claim_id)
    token_calls = [
        c
        for c in env.sim.get("/calls")
        if c["path"] == "/open-apis/auth/v3/tenant_access_token/internal"
    ]
    assert len(token_calls) >= 2  # the first one at start-up, one more after 99991663


def test_connection_test_reports_the_subscription(feishu_mode: Env) -> None:
    env = feishu_mode
    r = env.http.post(f"/api/v1/connectors/{env.connector_id}/test", headers=env.headers("admin"))
    assert r.status_code == 200 and r.json()["ok"], r.text
    assert "BX_CLAIM" in r.json()["detail"]
    assert "BX_CLAIM" in env.sim.get("/state")["subscribed"]


def test_a_private_domain_is_refused_unless_the_instance_allows_it(feishu_mode: Env) -> None:
    """The app secret goes to the configured domain: on a loopback address (the
    simulator's) the SSRF guard refuses it until allow_private_network is set."""
    env = feishu_mode
    url = f"/api/v1/connectors/{env.connector_id}"
    off = env.http.patch(url, json={"allow_private_network": False}, headers=env.headers("admin"))
    assert off.status_code == 200, off.text
    calls_before = len(env.sim.get("/calls"))
    r = env.http.post(f"{url}/test", headers=env.headers("admin"))
    assert r.status_code == 200 and not r.json()["ok"], r.text
    assert "blocked destination" in r.json()["detail"]
    assert len(env.sim.get("/calls")) == calls_before  # nothing was sent
    on = env.http.patch(url, json={"allow_private_network": True}, headers=env.headers("admin"))
    assert on.status_code == 200
    assert env.http.post(f"{url}/test", headers=env.headers("admin")).json()["ok"]
