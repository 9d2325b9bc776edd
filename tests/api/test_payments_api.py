"""Payments: who may pay, paying once, failure and retry, idempotent success."""

from __future__ import annotations

import re
import uuid
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from baoxiao.kernel.db import Database
from baoxiao.models import OutboxEvent, RoleAssignment, User
from tests.api.conftest import LINE, Api
from tests.support.factories import World

CLAIMS = "/api/v1/claims"
PAYMENTS = "/api/v1/payments"


def _claim(client: TestClient, world: World, claim_id: str) -> dict[str, Any]:
    response = client.get(f"{CLAIMS}/{claim_id}", headers=world["claimant"].headers)
    assert response.status_code == 200
    return response.json()


def _request(client: TestClient, world: World, claim_id: str, who: str = "cashier") -> Any:
    return client.post(f"{CLAIMS}/{claim_id}/payments", headers=world[who].headers)


def _history(client: TestClient, world: World, claim_id: str) -> list[dict[str, Any]]:
    return client.get(f"{CLAIMS}/{claim_id}/history", headers=world["claimant"].headers).json()


def test_request_and_succeed(api: Api, client: TestClient, world: World) -> None:
    claim = api.approved_claim()
    response = _request(client, world, claim["id"])
    assert response.status_code == 201, response.text
    payment = response.json()
    assert payment["claim_id"] == claim["id"]
    assert (payment["amount"], payment["currency"]) == ("50.00", "CNY")
    assert (payment["status"], payment["method"]) == ("pending", "manual")
    assert re.fullmatch(rf"PAY-{world.company.code}-\d{{4}}-000001", payment["reference"])
    assert payment["completed_at"] is None
    paying = _claim(client, world, claim["id"])
    assert paying["status"] == "paying"
    assert paying["paid_at"] is None

    done = client.post(
        f"{PAYMENTS}/{payment['id']}/succeed",
        json={"external_reference": "BANK-77"},
        headers=world["cashier"].headers,
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "succeeded"
    assert done.json()["external_reference"] == "BANK-77"
    assert done.json()["completed_at"] is not None
    paid = _claim(client, world, claim["id"])
    assert paid["status"] == "paid"
    assert paid["paid_at"] is not None
    assert paid["allowed_actions"] == []


def test_payment_amount_is_the_converted_total(api: Api, client: TestClient, world: World) -> None:
    claim = api.create(
        lines=[{**LINE, "amount": "12.80"}, {**LINE, "amount": "100", "currency": "USD"}]
    )
    api.submit(claim["id"])
    api.decide(claim["id"], "manager")
    api.decide(claim["id"], "finance")
    payment = _request(client, world, claim["id"]).json()
    assert payment["amount"] == "722.80"
    listed = client.get(f"{CLAIMS}/{claim['id']}/payments", headers=world["cashier"].headers).json()
    assert [p["amount"] for p in listed] == ["722.80"]


def test_the_approver_cannot_pay_but_the_cashier_can(
    api: Api, client: TestClient, world: World, db: Database
) -> None:
    claim = api.approved_claim()  # approved by manager, then by finance
    assert _claim(client, world, claim["id"])["status"] == "approved"
    # Paying is the cashier's right: make the approving reviewer a cashier too, so it is
    # segregation of duties, not the missing right, that refuses them.
    with db.transaction() as session:
        session.add(
            RoleAssignment(
                user_id=world["finance"].user.id, role="cashier", company_id=world.company.id
            )
        )
    for path in ("payments", "mark-paid"):
        response = client.post(f"{CLAIMS}/{claim['id']}/{path}", headers=world["finance"].headers)
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "payer_was_approver"
    assert _claim(client, world, claim["id"])["status"] == "approved"
    paid = client.post(
        f"{CLAIMS}/{claim['id']}/mark-paid",
        json={"external_reference": "TX-1"},
        headers=world["cashier"].headers,
    )
    assert paid.status_code == 201, paid.text
    assert paid.json()["status"] == "succeeded"
    assert paid.json()["external_reference"] == "TX-1"
    assert _claim(client, world, claim["id"])["status"] == "paid"


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("claimant", 403, "forbidden"),
        ("manager", 403, "forbidden"),
        ("admin", 403, "forbidden"),
        ("peer", 404, "claim_not_found"),
        ("foreign_finance", 404, "claim_not_found"),
    ],
)
def test_only_finance_of_the_company_pays(
    api: Api, client: TestClient, world: World, who: str, status: int, code: str
) -> None:
    claim = api.approved_claim()
    for path in ("payments", "mark-paid"):
        response = client.post(f"{CLAIMS}/{claim['id']}/{path}", headers=world[who].headers)
        assert response.status_code == status, (path, response.text)
        assert response.json()["code"] == code
    assert _claim(client, world, claim["id"])["status"] == "approved"


def test_pay_twice_is_an_invalid_transition(api: Api, client: TestClient, world: World) -> None:
    claim = api.approved_claim()
    first = client.post(f"{CLAIMS}/{claim['id']}/mark-paid", headers=world["cashier"].headers)
    assert first.status_code == 201
    for path in ("mark-paid", "payments"):
        again = client.post(f"{CLAIMS}/{claim['id']}/{path}", headers=world["cashier"].headers)
        assert again.status_code == 409
        assert again.json()["code"] == "invalid_transition"
        assert again.json()["current_status"] == "paid"
    listed = client.get(f"{CLAIMS}/{claim['id']}/payments", headers=world["cashier"].headers).json()
    assert [p["status"] for p in listed] == ["succeeded"]


def test_second_request_while_paying_is_refused(api: Api, client: TestClient, world: World) -> None:
    claim = api.approved_claim()
    first = _request(client, world, claim["id"])
    assert first.status_code == 201
    again = _request(client, world, claim["id"])
    assert again.status_code == 409
    # The first payment's outcome is unknown: no second reference, query or resend it instead.
    assert again.json()["code"] == "payment_outcome_unknown"
    assert again.json()["reference"] == first.json()["reference"]


@pytest.mark.parametrize("stage", ["draft", "approving", "returned"])
def test_an_unapproved_claim_cannot_be_paid(
    api: Api, client: TestClient, world: World, stage: str
) -> None:
    claim = api.create()
    if stage != "draft":
        api.submit(claim["id"])
    if stage == "returned":
        api.decide(claim["id"], "manager", "return", comment="fix it")
    for path in ("payments", "mark-paid"):
        response = client.post(f"{CLAIMS}/{claim['id']}/{path}", headers=world["cashier"].headers)
        assert response.status_code == 409
        assert response.json()["code"] == "invalid_transition"
        assert response.json()["current_status"] == stage
    assert (
        client.get(f"{CLAIMS}/{claim['id']}/payments", headers=world["cashier"].headers).json()
        == []
    )


def test_failed_payment_returns_the_claim_to_approved_and_it_can_be_paid_again(
    api: Api, client: TestClient, world: World
) -> None:
    claim = api.approved_claim()
    first = _request(client, world, claim["id"]).json()
    failed = client.post(
        f"{PAYMENTS}/{first['id']}/fail",
        json={"reason": "账户已冻结 account frozen"},
        headers=world["cashier"].headers,
    )
    assert failed.status_code == 200, failed.text
    assert failed.json()["status"] == "failed"
    assert failed.json()["failure_reason"] == "账户已冻结 account frozen"
    assert failed.json()["completed_at"] is not None
    back = _claim(client, world, claim["id"])
    assert back["status"] == "approved"
    last = _history(client, world, claim["id"])[-1]
    assert (last["action"], last["from_status"], last["to_status"]) == (
        "claim:fail_payment",
        "paying",
        "approved",
    )
    assert last["comment"] == "账户已冻结 account frozen"

    second = _request(client, world, claim["id"])
    assert second.status_code == 201, second.text
    assert second.json()["id"] != first["id"]
    assert second.json()["reference"] != first["reference"]
    done = client.post(
        f"{PAYMENTS}/{second.json()['id']}/succeed", headers=world["cashier"].headers
    )
    assert done.status_code == 200
    assert _claim(client, world, claim["id"])["status"] == "paid"
    listed = client.get(
        f"{CLAIMS}/{claim['id']}/payments", headers=world["claimant"].headers
    ).json()
    assert [(p["id"], p["status"]) for p in listed] == [
        (first["id"], "failed"),
        (second.json()["id"], "succeeded"),
    ]


def test_success_repeated_changes_nothing(api: Api, client: TestClient, world: World) -> None:
    claim = api.approved_claim()
    payment = _request(client, world, claim["id"]).json()
    url = f"{PAYMENTS}/{payment['id']}/succeed"
    first = client.post(
        url, json={"external_reference": "BANK-1"}, headers=world["cashier"].headers
    )
    second = client.post(
        url, json={"external_reference": "BANK-2"}, headers=world["cashier"].headers
    )
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert second.json()["external_reference"] == "BANK-1"
    assert [a["action"] for a in _history(client, world, claim["id"])].count("claim:pay") == 1
    assert _claim(client, world, claim["id"])["status"] == "paid"


def test_failure_repeated_changes_nothing(api: Api, client: TestClient, world: World) -> None:
    claim = api.approved_claim()
    payment = _request(client, world, claim["id"]).json()
    url = f"{PAYMENTS}/{payment['id']}/fail"
    first = client.post(url, json={"reason": "timeout"}, headers=world["cashier"].headers)
    second = client.post(url, json={"reason": "again"}, headers=world["cashier"].headers)
    assert first.status_code == second.status_code == 200
    assert second.json()["failure_reason"] == "timeout"
    assert [a["action"] for a in _history(client, world, claim["id"])].count(
        "claim:fail_payment"
    ) == 1


def test_a_finished_payment_cannot_change_its_outcome(
    api: Api, client: TestClient, world: World
) -> None:
    claim = api.approved_claim()
    payment = _request(client, world, claim["id"]).json()
    client.post(f"{PAYMENTS}/{payment['id']}/succeed", headers=world["cashier"].headers)
    fail = client.post(
        f"{PAYMENTS}/{payment['id']}/fail",
        json={"reason": "late bounce"},
        headers=world["cashier"].headers,
    )
    assert fail.status_code == 409
    assert fail.json()["code"] == "payment_already_completed"
    assert fail.json()["current_status"] == "succeeded"
    assert _claim(client, world, claim["id"])["status"] == "paid"

    other = api.approved_claim()
    failed = _request(client, world, other["id"]).json()
    client.post(
        f"{PAYMENTS}/{failed['id']}/fail",
        json={"reason": "closed"},
        headers=world["cashier"].headers,
    )
    late = client.post(f"{PAYMENTS}/{failed['id']}/succeed", headers=world["cashier"].headers)
    assert late.status_code == 409
    assert late.json()["code"] == "payment_already_completed"
    assert late.json()["current_status"] == "failed"
    assert _claim(client, world, other["id"])["status"] == "approved"


@pytest.mark.parametrize(
    "body", [None, {}, {"reason": ""}, {"reason": "x" * 501}, {"reason": "x", "status": "ok"}]
)
def test_failure_needs_a_reason(
    api: Api, client: TestClient, world: World, body: dict[str, Any] | None
) -> None:
    claim = api.approved_claim()
    payment = _request(client, world, claim["id"]).json()
    response = client.post(
        f"{PAYMENTS}/{payment['id']}/fail", json=body, headers=world["cashier"].headers
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert _claim(client, world, claim["id"])["status"] == "paying"


def test_mark_paid_refuses_unknown_fields(api: Api, client: TestClient, world: World) -> None:
    claim = api.approved_claim()
    response = client.post(
        f"{CLAIMS}/{claim['id']}/mark-paid",
        json={"amount": "1.00"},
        headers=world["cashier"].headers,
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert _claim(client, world, claim["id"])["status"] == "approved"


def test_unknown_payment_is_not_found(client: TestClient, world: World) -> None:
    for outcome, body in (("succeed", None), ("fail", {"reason": "x"})):
        response = client.post(
            f"{PAYMENTS}/{uuid.uuid4()}/{outcome}", json=body, headers=world["cashier"].headers
        )
        assert response.status_code == 404
        assert response.json()["code"] == "payment_not_found"


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("claimant", 403, "forbidden"),
        ("manager", 403, "forbidden"),
        ("peer", 404, "claim_not_found"),
        ("foreign_finance", 404, "claim_not_found"),
    ],
)
def test_only_finance_reports_the_outcome(
    api: Api, client: TestClient, world: World, who: str, status: int, code: str
) -> None:
    claim = api.approved_claim()
    payment = _request(client, world, claim["id"]).json()
    for outcome, body in (("succeed", None), ("fail", {"reason": "x"})):
        response = client.post(
            f"{PAYMENTS}/{payment['id']}/{outcome}", json=body, headers=world[who].headers
        )
        assert response.status_code == status, response.text
        assert response.json()["code"] == code
    assert _claim(client, world, claim["id"])["status"] == "paying"


def test_payments_are_listed_to_those_who_see_the_claim(
    api: Api, client: TestClient, world: World
) -> None:
    claim = api.approved_claim()
    payment = _request(client, world, claim["id"]).json()
    for who in ("claimant", "manager", "finance", "cashier", "admin"):
        response = client.get(f"{CLAIMS}/{claim['id']}/payments", headers=world[who].headers)
        assert response.status_code == 200, who
        assert [p["id"] for p in response.json()] == [payment["id"]]
    for who in ("peer", "foreigner", "foreign_finance"):
        response = client.get(f"{CLAIMS}/{claim['id']}/payments", headers=world[who].headers)
        assert response.status_code == 404, who
        assert response.json()["code"] == "claim_not_found"


def test_history_records_payment_steps(api: Api, client: TestClient, world: World) -> None:
    claim = api.approved_claim()
    payment = _request(client, world, claim["id"]).json()
    client.post(f"{PAYMENTS}/{payment['id']}/succeed", headers=world["cashier"].headers)
    tail = [
        (a["action"], a["from_status"], a["to_status"])
        for a in _history(client, world, claim["id"])
    ][-3:]
    assert tail == [
        ("claim:approve", "approving", "approved"),
        ("claim:start_payment", "approved", "paying"),
        ("claim:pay", "paying", "paid"),
    ]


def test_success_publishes_payment_succeeded_after_claim_paid(
    api: Api, client: TestClient, world: World, db: Database
) -> None:
    claim = api.approved_claim()
    payment = client.post(
        f"/api/v1/claims/{claim['id']}/mark-paid",
        json={"external_reference": "BANK-42"},
        headers=world["cashier"].headers,
    ).json()
    with db.transaction() as session:
        events = list(
            session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.subject_id == claim["id"])
                .order_by(OutboxEvent.sequence)
            )
        )
    types = [e.type for e in events]
    assert types[-3:] == ["payment.requested", "claim.paid", "payment.succeeded"]
    succeeded = events[-1]
    assert succeeded.data["payment_id"] == payment["id"]
    assert succeeded.data["amount"] == "50.0000"
    assert succeeded.data["external_reference"] == "BANK-42"
    assert succeeded.data["status"] == "paid"
    schema = client.get("/api/v1/event-types/payment.succeeded").json()
    envelope = {
        "id": succeeded.id,
        "type": succeeded.type,
        "occurred_at": succeeded.occurred_at.isoformat(),
        "company_id": succeeded.company_id,
        "subject": {"type": "claim", "id": succeeded.subject_id},
        "subject_type": "claim",
        "subject_id": succeeded.subject_id,
        "sequence": succeeded.sequence,
        "schema_version": 1,
        "data": succeeded.data,
    }
    jsonschema.validate(envelope, schema)


def test_nobody_records_the_bank_answer_for_their_own_or_approved_claim(
    api: Api, client: TestClient, world: World, db: Database
) -> None:
    """Recording a result is paying too: a cashier who is the claimant could otherwise mark
    a transfer that went through "failed" and be paid twice."""
    claim = api.approved_claim()
    payment = _request(client, world, claim["id"]).json()
    with db.transaction() as session:
        for who in ("claimant", "manager"):  # the claimant; the approver of the claim
            user = session.get(User, world[who].user.id)
            assert user is not None
            user.roles.append(RoleAssignment(role="cashier", company_id=world.company.id))
    expected = {"claimant": "self_approval_forbidden", "manager": "payer_was_approver"}
    for who, code in expected.items():
        for outcome, body in (("fail", {"reason": "bounced"}), ("succeed", None)):
            response = client.post(
                f"{PAYMENTS}/{payment['id']}/{outcome}", json=body, headers=world[who].headers
            )
            assert (response.status_code, response.json()["code"]) == (403, code)
        queried = client.post(f"{PAYMENTS}/{payment['id']}/query", headers=world[who].headers)
        assert queried.status_code == 403
    assert _claim(client, world, claim["id"])["status"] == "paying"
