"""Approval tasks: inboxes, approve, reject, return, and segregation of duties."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import LINE, Api
from tests.support.factories import World

TASKS = "/api/v1/approval-tasks"
CLAIMS = "/api/v1/claims"


def _inbox(client: TestClient, world: World, who: str, **params: Any) -> list[dict[str, Any]]:
    response = client.get(TASKS, params=params, headers=world[who].headers)
    assert response.status_code == 200, response.text
    return response.json()


def _decide(
    client: TestClient,
    world: World,
    task_id: str,
    who: str,
    decision: str = "approve",
    body: dict[str, Any] | None = None,
) -> Any:
    return client.post(f"{TASKS}/{task_id}/{decision}", json=body, headers=world[who].headers)


def _claim(
    client: TestClient, world: World, claim_id: str, who: str = "claimant"
) -> dict[str, Any]:
    response = client.get(f"{CLAIMS}/{claim_id}", headers=world[who].headers)
    assert response.status_code == 200, response.text
    return response.json()


def _submitted(api: Api) -> dict[str, Any]:
    claim = api.create()
    api.submit(claim["id"])
    return claim


# ---- inboxes ----------------------------------------------------------------------


def test_the_manager_inbox_shows_the_pending_task(
    api: Api, client: TestClient, world: World
) -> None:
    claim = _submitted(api)
    [task] = _inbox(client, world, "manager")
    assert task["claim_id"] == claim["id"]
    assert task["claim_number"] == claim["number"]
    assert task["claim_reason"] == "client visit"
    assert task["claimant_name"] == world["claimant"].employee.name
    assert (task["total_amount"], task["currency"]) == ("50.00", "CNY")
    assert (task["round"], task["step"], task["step_name"]) == (1, 1, "manager")
    assert task["status"] == "pending"
    assert task["decided_at"] is None and task["comment"] is None
    for who in ("claimant", "peer", "boss", "outsider", "finance", "cashier", "admin", "foreigner"):
        assert _inbox(client, world, who) == [], who


def test_the_finance_step_waits_for_the_manager(api: Api, client: TestClient, world: World) -> None:
    claim = _submitted(api)
    [waiting] = _inbox(client, world, "finance", status="waiting")
    assert waiting["claim_id"] == claim["id"]
    assert (waiting["step"], waiting["step_name"], waiting["candidate_role"]) == (
        2,
        "finance_review",
        "finance",
    )
    # Not actionable before its turn.
    early = _decide(client, world, waiting["id"], "finance")
    assert early.status_code == 409
    assert early.json()["code"] == "task_not_active"

    api.decide(claim["id"], "manager")
    for who in ("finance", "cashier"):
        [task] = _inbox(client, world, who)
        assert task["id"] == waiting["id"]
        assert task["status"] == "pending"
    assert _inbox(client, world, "foreign_finance") == []
    assert _inbox(client, world, "manager") == []


def test_inbox_is_oldest_first(api: Api, client: TestClient, world: World) -> None:
    first = _submitted(api)
    second = api.create(who="peer")
    api.submit(second["id"], who="peer")
    assert [t["claim_id"] for t in _inbox(client, world, "manager")] == [first["id"], second["id"]]
    assert [t["claim_id"] for t in _inbox(client, world, "manager", limit=1)] == [first["id"]]


@pytest.mark.parametrize("params", [{"status": "bogus"}, {"limit": 0}, {"limit": 501}])
def test_inbox_refuses_bad_parameters(
    client: TestClient, world: World, params: dict[str, Any]
) -> None:
    response = client.get(TASKS, params=params, headers=world["manager"].headers)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


def test_inbox_needs_authentication(client: TestClient) -> None:
    response = client.get(TASKS)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


# ---- approve ------------------------------------------------------------------------


def test_two_approvals_approve_the_claim(api: Api, client: TestClient, world: World) -> None:
    claim = _submitted(api)
    task = api.task_for(claim["id"], "manager")
    first = _decide(client, world, task["id"], "manager", body={"comment": "ok by me"})
    assert first.status_code == 200, first.text
    decided = first.json()
    assert decided["status"] == "approved"
    assert decided["comment"] == "ok by me"
    assert decided["decided_at"] is not None
    assert _claim(client, world, claim["id"])["status"] == "approving"

    final = api.decide(claim["id"], "finance")
    assert final["step_name"] == "finance_review"
    assert final["status"] == "approved"
    approved = _claim(client, world, claim["id"])
    assert approved["status"] == "approved"
    assert approved["approved_at"] is not None
    assert _inbox(client, world, "cashier") == []
    done = _inbox(client, world, "manager", status="approved")
    assert [(t["id"], t["comment"]) for t in done] == [(task["id"], "ok by me")]
    # The cashier may now pay; the finance approver may not.
    assert _claim(client, world, claim["id"], "cashier")["allowed_actions"] == ["pay"]
    assert _claim(client, world, claim["id"], "finance")["allowed_actions"] == []


def test_approve_without_body(api: Api, client: TestClient, world: World) -> None:
    claim = _submitted(api)
    task = api.task_for(claim["id"], "manager")
    response = client.post(f"{TASKS}/{task['id']}/approve", headers=world["manager"].headers)
    assert response.status_code == 200
    assert response.json()["comment"] is None


def test_a_task_is_decided_once(api: Api, client: TestClient, world: World) -> None:
    claim = _submitted(api)
    task = api.task_for(claim["id"], "manager")
    assert _decide(client, world, task["id"], "manager").status_code == 200
    for decision in ("approve", "reject", "return"):
        again = _decide(client, world, task["id"], "manager", decision, {"comment": "again"})
        assert again.status_code == 409
        assert again.json()["code"] == "task_already_decided"
        assert again.json()["current_status"] == "approved"
    assert [t["claim_id"] for t in _inbox(client, world, "finance")] == [claim["id"]]


def test_unknown_task_is_not_found(client: TestClient, world: World) -> None:
    response = _decide(client, world, str(uuid.uuid4()), "manager")
    assert response.status_code == 404
    assert response.json()["code"] == "task_not_found"


@pytest.mark.parametrize("who", ["peer", "boss", "outsider", "finance", "admin", "foreigner"])
def test_someone_elses_task_is_not_found(
    api: Api, client: TestClient, world: World, who: str
) -> None:
    claim = _submitted(api)
    task = api.task_for(claim["id"], "manager")
    for decision in ("approve", "reject", "return"):
        response = _decide(client, world, task["id"], who, decision, {"comment": "mine?"})
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "task_not_found"
    assert _inbox(client, world, "manager")[0]["status"] == "pending"


def test_finance_of_another_company_cannot_take_the_finance_task(
    api: Api, client: TestClient, world: World
) -> None:
    claim = _submitted(api)
    api.decide(claim["id"], "manager")
    task = api.task_for(claim["id"], "finance")
    response = _decide(client, world, task["id"], "foreign_finance")
    assert response.status_code == 404
    assert response.json()["code"] == "task_not_found"
    assert _claim(client, world, claim["id"])["status"] == "approving"


@pytest.mark.parametrize(
    "body", [{"comment": "x", "status": "approved"}, {"comment": "x" * 501}, {"comment": 5}]
)
def test_decision_body_is_validated(
    api: Api, client: TestClient, world: World, body: dict[str, Any]
) -> None:
    claim = _submitted(api)
    task = api.task_for(claim["id"], "manager")
    response = _decide(client, world, task["id"], "manager", body=body)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert _inbox(client, world, "manager")[0]["status"] == "pending"


# ---- return ----------------------------------------------------------------------


@pytest.mark.parametrize("decision", ["return", "reject"])
@pytest.mark.parametrize(
    "body",
    [None, {}, {"comment": None}, {"comment": ""}, {"comment": "   "}],
    ids=["no-body", "empty", "null", "blank", "spaces"],
)
def test_return_and_reject_require_a_comment(
    api: Api, client: TestClient, world: World, decision: str, body: dict[str, Any] | None
) -> None:
    claim = _submitted(api)
    task = api.task_for(claim["id"], "manager")
    response = _decide(client, world, task["id"], "manager", decision, body)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "comment_required"
    assert response.json()["decision"] == decision
    assert _claim(client, world, claim["id"])["status"] == "approving"
    assert _inbox(client, world, "manager")[0]["status"] == "pending"


def test_returned_claim_is_edited_and_resubmitted_in_a_new_round(
    api: Api, client: TestClient, world: World
) -> None:
    claim = _submitted(api)
    returned = api.decide(claim["id"], "manager", "return", comment="attach the receipt")
    assert returned["status"] == "returned"
    assert returned["comment"] == "attach the receipt"
    view = _claim(client, world, claim["id"])
    assert view["status"] == "returned"
    assert view["allowed_actions"] == ["edit", "submit", "cancel"]
    assert _inbox(client, world, "manager") == []
    assert _inbox(client, world, "finance", status="waiting") == []
    assert [t["step_name"] for t in _inbox(client, world, "finance", status="cancelled")] == [
        "finance_review"
    ]

    h = world["claimant"].headers
    edit = client.patch(f"{CLAIMS}/{claim['id']}", json={"reason": "with receipt"}, headers=h)
    assert edit.status_code == 200
    add = client.post(f"{CLAIMS}/{claim['id']}/lines", json={**LINE, "amount": "8.00"}, headers=h)
    assert add.status_code == 201
    assert add.json()["total_amount"] == "58.00"
    resubmitted = api.submit(claim["id"])
    assert resubmitted["status"] == "approving"

    [task] = _inbox(client, world, "manager")
    assert (task["round"], task["step"], task["status"]) == (2, 1, "pending")
    assert task["id"] != returned["id"]
    assert task["claim_reason"] == "with receipt"
    assert task["total_amount"] == "58.00"
    # Withdrawal is possible again: nobody has acted in this round.
    assert _claim(client, world, claim["id"])["allowed_actions"] == ["withdraw"]
    api.decide(claim["id"], "manager")
    api.decide(claim["id"], "finance")
    assert _claim(client, world, claim["id"])["status"] == "approved"


def test_finance_can_return_after_the_manager_approved(
    api: Api, client: TestClient, world: World
) -> None:
    claim = _submitted(api)
    api.decide(claim["id"], "manager")
    api.decide(claim["id"], "finance", "return", comment="wrong category")
    assert _claim(client, world, claim["id"])["status"] == "returned"
    api.submit(claim["id"])
    # The new round starts at the manager again.
    [task] = _inbox(client, world, "manager")
    assert task["round"] == 2
    assert _inbox(client, world, "finance") == []


# ---- reject --------------------------------------------------------------------------


def test_reject_ends_the_claim(api: Api, client: TestClient, world: World) -> None:
    claim = _submitted(api)
    rejected = api.decide(claim["id"], "manager", "reject", comment="not a business expense")
    assert rejected["status"] == "rejected"
    view = _claim(client, world, claim["id"])
    assert view["status"] == "rejected"
    assert view["allowed_actions"] == []
    assert _inbox(client, world, "finance", status="waiting") == []
    h = world["claimant"].headers
    for path, code in (
        ("submit", "invalid_transition"),
        ("withdraw", "invalid_transition"),
        ("cancel", "invalid_transition"),
    ):
        response = client.post(f"{CLAIMS}/{claim['id']}/{path}", headers=h)
        assert response.status_code == 409, path
        assert response.json()["code"] == code
        assert response.json()["current_status"] == "rejected"
    edit = client.patch(f"{CLAIMS}/{claim['id']}", json={"reason": "please"}, headers=h)
    assert edit.status_code == 409
    assert edit.json()["code"] == "claim_not_editable"
    pay = client.post(f"{CLAIMS}/{claim['id']}/payments", headers=world["cashier"].headers)
    assert pay.status_code == 409
    assert pay.json()["code"] == "invalid_transition"
    history = client.get(f"{CLAIMS}/{claim['id']}/history", headers=h).json()
    assert history[-1]["action"] == "claim:reject"
    assert history[-1]["comment"] == "not a business expense"


def test_withdrawn_claims_task_cannot_be_decided(
    api: Api, client: TestClient, world: World
) -> None:
    claim = _submitted(api)
    task = api.task_for(claim["id"], "manager")
    client.post(f"{CLAIMS}/{claim['id']}/withdraw", headers=world["claimant"].headers)
    response = _decide(client, world, task["id"], "manager")
    assert response.status_code == 409
    assert response.json()["code"] == "task_already_decided"
    assert response.json()["current_status"] == "cancelled"
    assert _claim(client, world, claim["id"])["status"] == "withdrawn"


# ---- segregation of duties ---------------------------------------------------------------


def test_finance_claimant_never_approves_their_own_claim(
    api: Api, client: TestClient, world: World
) -> None:
    claim = api.create(who="finance")
    api.submit(claim["id"], who="finance")
    api.decide(claim["id"], "boss")  # finance's manager
    # The finance step is open to the finance role, but not to the claimant.
    assert _inbox(client, world, "finance") == []
    task = api.task_for(claim["id"], "cashier")
    assert task["step_name"] == "finance_review"
    assert _claim(client, world, claim["id"], "finance")["allowed_actions"] == []
    for decision in ("approve", "reject", "return"):
        response = _decide(client, world, task["id"], "finance", decision, {"comment": "self"})
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "self_approval_forbidden"
    assert _claim(client, world, claim["id"], "finance")["status"] == "approving"
    # Another finance person decides it.
    api.decide(claim["id"], "cashier")
    assert _claim(client, world, claim["id"], "finance")["status"] == "approved"
    # And the claimant cannot pay it either: since #5 a finance reviewer is no cashier
    # (a cashier paying their own claim: tests/api/test_access_matrix.py, rule "pay").
    pay = client.post(f"{CLAIMS}/{claim['id']}/mark-paid", headers=world["finance"].headers)
    assert pay.status_code == 403
    assert pay.json()["code"] == "forbidden"


def test_a_manager_claim_goes_to_their_own_manager(
    api: Api, client: TestClient, world: World
) -> None:
    claim = api.create(who="manager")
    api.submit(claim["id"], who="manager")
    assert _inbox(client, world, "manager") == []
    [task] = _inbox(client, world, "boss")
    assert task["claim_id"] == claim["id"]
    assert task["assignee_id"] == str(world["boss"].employee.id)
