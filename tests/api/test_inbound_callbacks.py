"""Inbound callbacks: verified, stored once, acknowledged, then applied by the worker."""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import func, select

from baoxiao.connectors.webhook import crypto
from baoxiao.integrations import inbound
from baoxiao.kernel.db import Database
from baoxiao.models.audit import AuditRecord
from baoxiao.models.integration import InboxMessage
from tests.api.conftest import Api
from tests.support.integrations import create_webhook, post_callback


@pytest.fixture
def secret() -> str:
    return crypto.new_secret()


@pytest.fixture
def hook(api: Api, secret: str) -> dict[str, object]:
    return create_webhook(
        api.client,
        api.world["admin"].headers,
        "https://erp.example.com/hooks",
        secret,
        # The acting user records bank results, so it is a cashier (paying is cashier-only, #5).
        actor_user_id=str(api.world["cashier"].user.id),
        event_types=[],
        enabled=True,
    )


def claim_status(api: Api, claim_id: str) -> str:
    response = api.client.get(f"/api/v1/claims/{claim_id}", headers=api.world["claimant"].headers)
    return str(response.json()["status"])


def audit_count(db: Database) -> int:
    with db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(AuditRecord)) or 0)


def test_external_approval_decision_is_applied_once(
    api: Api, db: Database, hook: dict[str, object], secret: str
) -> None:
    claim = api.create()
    api.submit(claim["id"])
    api.decide(claim["id"], "manager")  # the finance step is next; finance decides externally
    payload = {"type": "approval.decision", "claim_id": claim["id"], "decision": "approve"}
    first = post_callback(api.client, str(hook["id"]), secret, payload, msg_id="ext-1")
    assert first.status_code == 202 and first.json() == {"status": "accepted", "id": "ext-1"}
    assert claim_status(api, claim["id"]) == "approving"  # acknowledged before applying

    assert inbound.apply_pending(db) == 1
    assert claim_status(api, claim["id"]) == "approved"
    before = audit_count(db)

    again = post_callback(api.client, str(hook["id"]), secret, payload, msg_id="ext-1")
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert inbound.apply_pending(db) == 0
    assert audit_count(db) == before
    with db.transaction() as session:
        msg = session.scalars(select(InboxMessage)).one()
        assert (msg.status, msg.external_id, msg.attempts) == ("applied", "ext-1", 1)


def test_decision_by_a_named_approver_and_one_without_a_task(
    api: Api, db: Database, hook: dict[str, object], secret: str
) -> None:
    claim = api.create()
    api.submit(claim["id"])
    manager = api.world["manager"].user.username
    returned = {
        "type": "approval.decision",
        "claim_id": claim["id"],
        "decision": "return",
        "comment": "receipt missing",
        "decided_by": manager,
    }
    assert post_callback(api.client, str(hook["id"]), secret, returned).status_code == 202
    # A second, distinct event for the same claim: nothing pending any more, so ignored.
    assert post_callback(api.client, str(hook["id"]), secret, returned).status_code == 202
    assert inbound.apply_pending(db) == 2
    assert claim_status(api, claim["id"]) == "returned"
    with db.transaction() as session:
        rows = session.scalars(select(InboxMessage).order_by(InboxMessage.received_at)).all()
        assert [r.status for r in rows] == ["applied", "ignored"]


def test_payment_result_goes_through_the_payment_service(
    api: Api, db: Database, hook: dict[str, object], secret: str
) -> None:
    claim = api.approved_claim()
    payment = api.client.post(
        f"/api/v1/claims/{claim['id']}/payments", headers=api.world["cashier"].headers
    ).json()
    payload = {"type": "payment.succeeded", "payment_id": payment["id"], "external_reference": "B1"}
    assert post_callback(api.client, str(hook["id"]), secret, payload).status_code == 202
    inbound.apply_pending(db)
    assert claim_status(api, claim["id"]) == "paid"


def test_refused_by_the_domain_is_recorded_not_retried(
    api: Api, db: Database, hook: dict[str, object], secret: str
) -> None:
    payload = {"type": "payment.failed", "payment_id": str(uuid.uuid4()), "reason": "closed"}
    assert post_callback(api.client, str(hook["id"]), secret, payload).status_code == 202
    inbound.apply_pending(db)
    with db.transaction() as session:
        msg = session.scalars(select(InboxMessage)).one()
        assert msg.status == "failed" and msg.result is not None
        assert msg.result.startswith("payment_not_found")
    assert inbound.apply_pending(db) == 0


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"tamper": True}, "signature_invalid"),
        ({"timestamp": int(time.time()) - 301}, "timestamp_out_of_tolerance"),
        ({"timestamp": int(time.time()) + 3600}, "timestamp_out_of_tolerance"),
    ],
)
def test_tampered_or_stale_callbacks_are_401_and_change_nothing(
    api: Api, db: Database, hook: dict[str, object], secret: str, kwargs: dict, code: str
) -> None:
    claim = api.create()
    api.submit(claim["id"])
    payload = {
        "type": "approval.decision",
        "claim_id": claim["id"],
        "decision": "reject",
        "comment": "no",
        "decided_by": api.world["manager"].user.username,
    }
    response = post_callback(api.client, str(hook["id"]), secret, payload, **kwargs)
    assert response.status_code == 401 and response.json()["code"] == code
    wrong_key = post_callback(api.client, str(hook["id"]), crypto.new_secret(), payload)
    assert wrong_key.status_code == 401 and wrong_key.json()["code"] == "signature_invalid"
    assert inbound.apply_pending(db) == 0
    assert claim_status(api, claim["id"]) == "approving"
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(InboxMessage)) == 0


def test_unknown_connector_and_bad_payload(api: Api, hook: dict[str, object], secret: str) -> None:
    missing = post_callback(api.client, str(uuid.uuid4()), secret, {"type": "x"})
    assert missing.status_code == 404
    bad = post_callback(api.client, str(hook["id"]), secret, {"type": "claim.teleported"})
    assert bad.status_code == 400 and bad.json()["code"] == "callback_payload_invalid"
