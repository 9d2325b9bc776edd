"""Claims: create, read, edit the header, submit, withdraw, cancel, list and history."""

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from baoxiao.kernel.db import Database
from baoxiao.models import CostCenter, Department
from tests.api.conftest import LINE, Api
from tests.support.factories import World, make_person

CLAIMS = "/api/v1/claims"


def _get(client: TestClient, world: World, claim_id: str, who: str = "claimant") -> Any:
    return client.get(f"{CLAIMS}/{claim_id}", headers=world[who].headers)


def _inbox(client: TestClient, world: World, who: str) -> list[dict[str, Any]]:
    response = client.get("/api/v1/approval-tasks", headers=world[who].headers)
    assert response.status_code == 200, response.text
    return response.json()


# ---- create ---------------------------------------------------------------


def test_create_returns_the_draft_with_location_and_etag(client: TestClient, world: World) -> None:
    body = {"reason": "  client visit in Shanghai  ", "lines": [LINE]}
    response = client.post(CLAIMS, json=body, headers=world["claimant"].headers)
    assert response.status_code == 201, response.text
    claim = response.json()
    assert response.headers["location"] == f"{CLAIMS}/{claim['id']}"
    assert response.headers["etag"] == f'"{uuid.UUID(claim["id"]).hex}-{claim["version"]}"'
    assert claim["status"] == "draft"
    assert claim["reason"] == "client visit in Shanghai"
    assert claim["claim_type"] == "general"
    assert re.fullmatch(r"BX-\d{4}-\d{6}", claim["number"])
    assert claim["claimant"]["id"] == str(world["claimant"].employee.id)
    assert claim["claimant"]["employee_no"] == world["claimant"].employee.employee_no
    assert claim["company_id"] == str(world.company.id)
    assert claim["department_id"] == str(world.departments["RD"].id)
    assert claim["currency"] == "CNY"
    assert claim["total_amount"] == "50.00"
    assert claim["submitted_at"] is None and claim["approved_at"] is None
    assert claim["paid_at"] is None
    assert claim["attachments"] == []
    assert claim["allowed_actions"] == ["edit", "submit", "cancel"]
    [line] = claim["lines"]
    assert line["position"] == 1
    assert line["category_code"] == "TAXI"
    assert line["amount"] == "50.00"
    assert line["amount_base"] == "50.00"
    assert line["rate_source"] == "same"


def test_claim_numbers_are_sequential_per_company(api: Api) -> None:
    first = api.create()
    second = api.create(who="peer")
    foreign = api.create(who="foreigner")
    n1 = int(first["number"].rsplit("-", 1)[1])
    n2 = int(second["number"].rsplit("-", 1)[1])
    assert n2 == n1 + 1
    assert foreign["number"].rsplit("-", 1)[1] == "000001"


def test_create_without_lines_has_a_zero_total(api: Api) -> None:
    claim = api.create(lines=[])
    assert claim["lines"] == []
    assert claim["total_amount"] == "0.00"


def test_create_read_back_renders_the_same_amounts(
    api: Api, client: TestClient, world: World
) -> None:
    usd = {**LINE, "amount": "100", "currency": "USD"}
    created = api.create(lines=[{**LINE, "amount": "12.8"}, usd])
    read = _get(client, world, created["id"]).json()
    assert created["total_amount"] == read["total_amount"] == "722.80"
    for field in ("amount", "amount_base", "exchange_rate", "currency"):
        assert [line[field] for line in created["lines"]] == [line[field] for line in read["lines"]]
    assert [line["exchange_rate"] for line in read["lines"]] == ["1.00000000", "7.10000000"]


def test_create_with_department_and_cost_center(
    client: TestClient, world: World, db: Database
) -> None:
    with db.transaction() as session:
        cc_id = str(
            session.scalars(select(CostCenter).filter_by(company_id=world.company.id)).one().id
        )
    body = {
        "reason": "offsite",
        "department_id": str(world.departments["SALES"].id),
        "cost_center_id": cc_id,
        "claim_type": "travel",
        "lines": [LINE],
    }
    response = client.post(CLAIMS, json=body, headers=world["claimant"].headers)
    assert response.status_code == 201, response.text
    claim = response.json()
    assert claim["department_id"] == str(world.departments["SALES"].id)
    assert claim["cost_center_id"] == cc_id
    assert claim["claim_type"] == "travel"


@pytest.mark.parametrize("field", ["department_id", "cost_center_id"])
def test_create_refuses_references_of_another_company(
    client: TestClient, world: World, db: Database, field: str
) -> None:
    model = Department if field == "department_id" else CostCenter
    assert world.other_company is not None
    with db.transaction() as session:
        foreign_id = str(
            session.scalars(select(model).filter_by(company_id=world.other_company.id)).first().id
        )
    for ref in (foreign_id, str(uuid.uuid4())):
        body = {"reason": "x", field: ref, "lines": [LINE]}
        response = client.post(CLAIMS, json=body, headers=world["claimant"].headers)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "unknown_reference"
        assert response.json()["field"] == field


@pytest.mark.parametrize(
    "extra",
    [
        {"status": "approved"},
        {"total_amount": "1.00"},
        {"claimant_id": str(uuid.uuid4())},
        {"number": "BX-2026-999999"},
        {"id": str(uuid.uuid4())},
        {"company_id": str(uuid.uuid4())},
        {"version": 7},
        {"currency": "USD"},
    ],
    ids=lambda extra: next(iter(extra)),
)
def test_create_refuses_server_owned_fields(
    client: TestClient, world: World, extra: dict[str, Any]
) -> None:
    body = {"reason": "x", "lines": [LINE], **extra}
    response = client.post(CLAIMS, json=body, headers=world["claimant"].headers)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "validation_error"
    [error] = problem["errors"]
    assert error["field"] == f"body.{next(iter(extra))}"
    assert error["type"] == "extra_forbidden"
    listing = client.get(CLAIMS, headers=world["claimant"].headers).json()
    assert listing["items"] == []


def test_create_refuses_server_owned_fields_on_lines(client: TestClient, world: World) -> None:
    body = {"reason": "x", "lines": [{**LINE, "amount_base": "1.00"}]}
    response = client.post(CLAIMS, json=body, headers=world["claimant"].headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.lines.0.amount_base"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"reason": ""},
        {"reason": "   "},
        {"reason": "x" * 501},
        {"reason": "x", "claim_type": "Bad Type"},
    ],
    ids=["missing", "empty", "blank", "too-long", "bad-type"],
)
def test_create_validates_the_header(
    client: TestClient, world: World, body: dict[str, Any]
) -> None:
    response = client.post(CLAIMS, json=body, headers=world["claimant"].headers)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


def test_create_refuses_a_malformed_json_body(client: TestClient, world: World) -> None:
    response = client.post(
        CLAIMS,
        content=b'{"reason": ',
        headers={**world["claimant"].headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


def test_an_account_without_employee_cannot_file_claims(
    client: TestClient, world: World, db: Database
) -> None:
    with db.transaction() as session:
        robot = make_person(
            session, world.company, f"robot-{world.company.code}", department=None, employee=False
        )
    response = client.post(CLAIMS, json={"reason": "x", "lines": [LINE]}, headers=robot.headers)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


# ---- read: who may see what --------------------------------------------------


@pytest.mark.parametrize("who", ["claimant", "manager", "finance", "cashier", "admin"])
def test_claim_is_visible_to_claimant_manager_finance_and_admin(
    api: Api, client: TestClient, world: World, who: str
) -> None:
    claim = api.create()
    response = _get(client, world, claim["id"], who)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == claim["id"]
    assert response.json()["total_amount"] == "50.00"


@pytest.mark.parametrize("who", ["peer", "outsider", "boss", "foreigner", "foreign_finance"])
def test_foreign_claim_is_not_found(api: Api, client: TestClient, world: World, who: str) -> None:
    claim = api.create()
    response = _get(client, world, claim["id"], who)
    assert response.status_code == 404
    assert response.json()["code"] == "claim_not_found"
    # The same answer as for a claim that does not exist: existence does not leak.
    missing = _get(client, world, str(uuid.uuid4()), who)
    assert missing.status_code == 404
    assert missing.json()["code"] == "claim_not_found"
    history = client.get(f"{CLAIMS}/{claim['id']}/history", headers=world[who].headers)
    assert history.status_code == 404
    assert history.json()["code"] == "claim_not_found"


def test_finance_reads_every_claim_of_its_own_company_only(
    api: Api, client: TestClient, world: World
) -> None:
    ours = [api.create(who=who)["id"] for who in ("claimant", "outsider", "boss")]
    theirs = api.create(who="foreigner")["id"]
    for claim_id in ours:
        assert _get(client, world, claim_id, "finance").status_code == 200
    response = _get(client, world, theirs, "finance")
    assert response.status_code == 404
    assert response.json()["code"] == "claim_not_found"
    assert _get(client, world, theirs, "foreign_finance").status_code == 200


def test_foreign_claim_cannot_be_changed(api: Api, client: TestClient, world: World) -> None:
    claim = api.create()
    cid = claim["id"]
    for who in ("peer", "foreigner"):
        h = world[who].headers
        attempts = [
            client.patch(f"{CLAIMS}/{cid}", json={"reason": "mine now"}, headers=h),
            client.post(f"{CLAIMS}/{cid}/submit", headers=h),
            client.post(f"{CLAIMS}/{cid}/cancel", headers=h),
            client.post(f"{CLAIMS}/{cid}/withdraw", headers=h),
        ]
        for response in attempts:
            assert response.status_code == 404, response.text
            assert response.json()["code"] == "claim_not_found"
    assert _get(client, world, cid).json()["status"] == "draft"
    assert _get(client, world, cid).json()["reason"] == "client visit"


def test_the_manager_can_read_but_not_act_as_claimant(
    api: Api, client: TestClient, world: World
) -> None:
    claim = api.create()
    cid = claim["id"]
    h = world["manager"].headers
    read = client.get(f"{CLAIMS}/{cid}", headers=h)
    assert read.status_code == 200
    assert read.json()["allowed_actions"] == []
    for response in (
        client.patch(f"{CLAIMS}/{cid}", json={"reason": "changed by boss"}, headers=h),
        client.post(f"{CLAIMS}/{cid}/submit", headers=h),
        client.post(f"{CLAIMS}/{cid}/cancel", headers=h),
    ):
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "not_claimant"


def test_get_with_a_malformed_id_is_a_validation_error(client: TestClient, world: World) -> None:
    response = client.get(f"{CLAIMS}/not-a-uuid", headers=world["claimant"].headers)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert response.json()["errors"][0]["field"] == "path.claim_id"


# ---- edit the header --------------------------------------------------------


def test_patch_changes_the_reason_and_the_version(
    api: Api, client: TestClient, world: World
) -> None:
    claim = api.create()
    response = client.patch(
        f"{CLAIMS}/{claim['id']}",
        json={"reason": "customer dinner"},
        headers=world["claimant"].headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["reason"] == "customer dinner"
    assert response.json()["version"] > claim["version"]
    assert response.headers["etag"] != f'"{uuid.UUID(claim["id"]).hex}-{claim["version"]}"'
    assert response.json()["total_amount"] == "50.00"
    assert _get(client, world, claim["id"]).json()["reason"] == "customer dinner"


def test_patch_department(api: Api, client: TestClient, world: World) -> None:
    claim = api.create()
    fin = str(world.departments["FIN"].id)
    response = client.patch(
        f"{CLAIMS}/{claim['id']}", json={"department_id": fin}, headers=world["claimant"].headers
    )
    assert response.status_code == 200
    assert response.json()["department_id"] == fin
    bad = client.patch(
        f"{CLAIMS}/{claim['id']}",
        json={"department_id": str(uuid.uuid4())},
        headers=world["claimant"].headers,
    )
    assert bad.status_code == 422
    assert bad.json()["code"] == "unknown_reference"


@pytest.mark.parametrize(
    "body",
    [
        {"status": "approved"},
        {"total_amount": "0.01"},
        {"claimant_id": str(uuid.uuid4())},
        {"number": "BX-1"},
        {"reason": "ok", "status": "paid"},
    ],
    ids=["status", "total_amount", "claimant_id", "number", "with-a-valid-field"],
)
def test_patch_refuses_server_owned_fields(
    api: Api, client: TestClient, world: World, body: dict[str, Any]
) -> None:
    claim = api.create()
    response = client.patch(f"{CLAIMS}/{claim['id']}", json=body, headers=world["claimant"].headers)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    after = _get(client, world, claim["id"]).json()
    assert (after["status"], after["total_amount"], after["number"], after["reason"]) == (
        "draft",
        "50.00",
        claim["number"],
        "client visit",
    )
    assert after["version"] == claim["version"]


def test_patch_refuses_a_null_reason(api: Api, client: TestClient, world: World) -> None:
    claim = api.create()
    response = client.patch(
        f"{CLAIMS}/{claim['id']}", json={"reason": None}, headers=world["claimant"].headers
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


def test_patch_of_a_submitted_claim_is_refused(api: Api, client: TestClient, world: World) -> None:
    claim = api.create()
    api.submit(claim["id"])
    response = client.patch(
        f"{CLAIMS}/{claim['id']}", json={"reason": "too late"}, headers=world["claimant"].headers
    )
    assert response.status_code == 409
    problem = response.json()
    assert problem["code"] == "claim_not_editable"
    assert problem["current_status"] == "approving"
    assert problem["number"] == claim["number"]


# ---- submit ---------------------------------------------------------------------


def test_submit_starts_the_route_at_the_manager(api: Api, client: TestClient, world: World) -> None:
    claim = api.create()
    submitted = api.submit(claim["id"])
    assert submitted["status"] == "approving"
    assert submitted["submitted_at"] is not None
    assert submitted["allowed_actions"] == ["withdraw"]
    [task] = [t for t in _inbox(client, world, "manager") if t["claim_id"] == claim["id"]]
    assert task["step_name"] == "manager"
    assert task["round"] == 1
    assert task["total_amount"] == "50.00"
    assert task["assignee_id"] == str(world["manager"].employee.id)
    assert _inbox(client, world, "finance") == []
    manager_view = _get(client, world, claim["id"], "manager").json()
    assert manager_view["allowed_actions"] == ["approve", "reject", "return"]


def test_submit_twice_is_an_invalid_transition(api: Api, client: TestClient, world: World) -> None:
    claim = api.create()
    api.submit(claim["id"])
    response = client.post(f"{CLAIMS}/{claim['id']}/submit", headers=world["claimant"].headers)
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert response.json()["current_status"] == "approving"
    assert response.json()["action"] == "submit"
    # Still exactly one open task.
    assert [t["claim_id"] for t in _inbox(client, world, "manager")] == [claim["id"]]


def test_an_empty_claim_cannot_be_submitted(api: Api, client: TestClient, world: World) -> None:
    claim = api.create(lines=[])
    response = client.post(f"{CLAIMS}/{claim['id']}/submit", headers=world["claimant"].headers)
    assert response.status_code == 409
    assert response.json()["code"] == "claim_empty"
    assert _get(client, world, claim["id"]).json()["status"] == "draft"


def test_a_claimant_without_manager_goes_straight_to_finance(
    client: TestClient, world: World, api: Api
) -> None:
    claim = api.create(who="boss")
    api.submit(claim["id"], who="boss")
    [task] = _inbox(client, world, "finance")
    assert task["claim_id"] == claim["id"]
    assert task["step_name"] == "finance_review"
    assert task["candidate_role"] == "finance"
    assert task["assignee_id"] is None


# ---- withdraw -------------------------------------------------------------------


def test_withdraw_before_anyone_acted(api: Api, client: TestClient, world: World) -> None:
    claim = api.create()
    api.submit(claim["id"])
    assert [t["claim_id"] for t in _inbox(client, world, "manager")] == [claim["id"]]
    response = client.post(
        f"{CLAIMS}/{claim['id']}/withdraw",
        json={"comment": "wrong receipt"},
        headers=world["claimant"].headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "withdrawn"
    assert response.json()["allowed_actions"] == ["edit", "submit", "cancel"]
    assert _inbox(client, world, "manager") == []
    cancelled = client.get(
        "/api/v1/approval-tasks", params={"status": "cancelled"}, headers=world["manager"].headers
    ).json()
    assert [t["claim_id"] for t in cancelled] == [claim["id"]]
    history = client.get(
        f"{CLAIMS}/{claim['id']}/history", headers=world["claimant"].headers
    ).json()
    assert history[-1]["action"] == "claim:withdraw"
    assert history[-1]["comment"] == "wrong receipt"
    assert (history[-1]["from_status"], history[-1]["to_status"]) == ("approving", "withdrawn")


def test_withdrawn_claim_can_be_edited_and_resubmitted(
    api: Api, client: TestClient, world: World
) -> None:
    claim = api.create()
    api.submit(claim["id"])
    client.post(f"{CLAIMS}/{claim['id']}/withdraw", headers=world["claimant"].headers)
    edited = client.patch(
        f"{CLAIMS}/{claim['id']}", json={"reason": "fixed"}, headers=world["claimant"].headers
    )
    assert edited.status_code == 200
    again = api.submit(claim["id"])
    assert again["status"] == "approving"
    [task] = _inbox(client, world, "manager")
    assert task["round"] == 2
    assert task["claim_reason"] == "fixed"


def test_withdraw_after_the_manager_approved_is_too_late(
    api: Api, client: TestClient, world: World
) -> None:
    claim = api.create()
    api.submit(claim["id"])
    api.decide(claim["id"], "manager")
    claimant_view = _get(client, world, claim["id"]).json()
    assert "withdraw" not in claimant_view["allowed_actions"]
    response = client.post(f"{CLAIMS}/{claim['id']}/withdraw", headers=world["claimant"].headers)
    assert response.status_code == 409
    assert response.json()["code"] == "withdraw_too_late"
    assert _get(client, world, claim["id"]).json()["status"] == "approving"
    assert [t["claim_id"] for t in _inbox(client, world, "finance")] == [claim["id"]]


@pytest.mark.parametrize("status", ["draft", "approved"])
def test_withdraw_outside_approval_is_an_invalid_transition(
    api: Api, client: TestClient, world: World, status: str
) -> None:
    claim = api.create() if status == "draft" else api.approved_claim()
    response = client.post(f"{CLAIMS}/{claim['id']}/withdraw", headers=world["claimant"].headers)
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert response.json()["current_status"] == status


# ---- cancel ---------------------------------------------------------------------


def test_cancel_a_draft(api: Api, client: TestClient, world: World) -> None:
    claim = api.create()
    response = client.post(
        f"{CLAIMS}/{claim['id']}/cancel",
        json={"comment": "trip called off"},
        headers=world["claimant"].headers,
    )
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["allowed_actions"] == []
    again = client.post(f"{CLAIMS}/{claim['id']}/cancel", headers=world["claimant"].headers)
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"
    edit = client.patch(
        f"{CLAIMS}/{claim['id']}", json={"reason": "x"}, headers=world["claimant"].headers
    )
    assert edit.status_code == 409
    assert edit.json()["code"] == "claim_not_editable"
    history = client.get(
        f"{CLAIMS}/{claim['id']}/history", headers=world["claimant"].headers
    ).json()
    assert history[-1]["action"] == "claim:cancel"
    assert history[-1]["comment"] == "trip called off"


def test_cancel_an_approving_claim_is_an_invalid_transition(
    api: Api, client: TestClient, world: World
) -> None:
    claim = api.create()
    api.submit(claim["id"])
    response = client.post(f"{CLAIMS}/{claim['id']}/cancel", headers=world["claimant"].headers)
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert response.json()["current_status"] == "approving"
    assert response.json()["action"] == "cancel"
    assert _get(client, world, claim["id"]).json()["status"] == "approving"


def test_cancel_refuses_unknown_fields(api: Api, client: TestClient, world: World) -> None:
    claim = api.create()
    response = client.post(
        f"{CLAIMS}/{claim['id']}/cancel",
        json={"comment": "x", "status": "paid"},
        headers=world["claimant"].headers,
    )
    assert response.status_code == 422
    assert _get(client, world, claim["id"]).json()["status"] == "draft"


# ---- history --------------------------------------------------------------------


def test_history_shows_every_step_in_order(api: Api, client: TestClient, world: World) -> None:
    claim = api.create()
    cid = claim["id"]
    client.patch(f"{CLAIMS}/{cid}", json={"reason": "dinner"}, headers=world["claimant"].headers)
    api.submit(cid)
    api.decide(cid, "manager", "return", comment="add the hotel")
    client.post(
        f"{CLAIMS}/{cid}/lines",
        json={**LINE, "category_code": "HOTEL", "amount": "300"},
        headers=world["claimant"].headers,
    )
    api.submit(cid)
    api.decide(cid, "manager")
    api.decide(cid, "finance")
    paid = client.post(f"{CLAIMS}/{cid}/mark-paid", headers=world["cashier"].headers)
    assert paid.status_code == 201, paid.text

    response = client.get(f"{CLAIMS}/{cid}/history", headers=world["claimant"].headers)
    assert response.status_code == 200
    steps = [(a["action"], a["from_status"], a["to_status"]) for a in response.json()]
    assert steps == [
        ("claim:create", None, "draft"),
        ("claim:update", None, None),
        ("claim:submit", "draft", "submitted"),
        ("claim:start_approval", "submitted", "approving"),
        ("approval:return", None, None),
        ("claim:return", "approving", "returned"),
        ("claim:add_line", None, None),
        ("claim:submit", "returned", "submitted"),
        ("claim:start_approval", "submitted", "approving"),
        ("approval:approve", None, None),
        ("approval:approve", None, None),
        ("claim:approve", "approving", "approved"),
        ("claim:start_payment", "approved", "paying"),
        ("claim:pay", "paying", "paid"),
    ]
    history = response.json()
    times = [a["at"] for a in history]
    assert times == sorted(times)
    by_action = {a["action"]: a for a in history}
    assert by_action["approval:return"]["comment"] == "add the hotel"
    assert by_action["claim:create"]["actor_user_id"] == str(world["claimant"].user.id)
    assert by_action["claim:pay"]["actor_user_id"] == str(world["cashier"].user.id)
    assert _get(client, world, cid).json()["total_amount"] == "350.00"


def test_history_is_visible_to_the_manager(api: Api, client: TestClient, world: World) -> None:
    claim = api.create()
    response = client.get(f"{CLAIMS}/{claim['id']}/history", headers=world["manager"].headers)
    assert response.status_code == 200
    assert [a["action"] for a in response.json()] == ["claim:create"]


# ---- list, filters, pagination ----------------------------------------------------


def _list(client: TestClient, world: World, who: str = "claimant", **params: Any) -> Any:
    response = client.get(CLAIMS, params=params, headers=world[who].headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_list_shows_only_visible_claims(api: Api, client: TestClient, world: World) -> None:
    mine = api.create()
    peers = api.create(who="peer")
    outsiders = api.create(who="outsider")
    foreign = api.create(who="foreigner")

    def ids(who: str) -> set[str]:
        return {c["id"] for c in _list(client, world, who)["items"]}

    assert ids("claimant") == {mine["id"]}
    assert ids("peer") == {peers["id"]}
    assert ids("manager") == {mine["id"], peers["id"]}
    assert ids("boss") == {outsiders["id"]}
    assert ids("finance") == {mine["id"], peers["id"], outsiders["id"]}
    assert ids("admin") == {mine["id"], peers["id"], outsiders["id"]}
    assert ids("foreigner") == {foreign["id"]}
    assert ids("foreign_finance") == {foreign["id"]}


def test_list_items_are_summaries(api: Api, client: TestClient, world: World) -> None:
    claim = api.create()
    [item] = _list(client, world)["items"]
    assert item["id"] == claim["id"]
    assert item["number"] == claim["number"]
    assert item["total_amount"] == "50.00"
    assert item["claimant"]["name"] == world["claimant"].employee.name
    assert "lines" not in item and "allowed_actions" not in item


def test_list_filters_by_status(api: Api, client: TestClient, world: World) -> None:
    draft = api.create()
    approving = api.create()
    api.submit(approving["id"])
    cancelled = api.create()
    client.post(f"{CLAIMS}/{cancelled['id']}/cancel", headers=world["claimant"].headers)

    def ids(*statuses: str) -> set[str]:
        return {c["id"] for c in _list(client, world, status=list(statuses))["items"]}

    assert ids("draft") == {draft["id"]}
    assert ids("approving") == {approving["id"]}
    assert ids("draft", "cancelled") == {draft["id"], cancelled["id"]}
    assert ids("paid") == set()


def test_list_filters_mine_and_claimant(api: Api, client: TestClient, world: World) -> None:
    own = api.create(who="manager")
    report = api.create()
    other_report = api.create(who="peer")
    everything = {c["id"] for c in _list(client, world, "manager")["items"]}
    assert everything == {own["id"], report["id"], other_report["id"]}
    mine = _list(client, world, "manager", mine="true")["items"]
    assert [c["id"] for c in mine] == [own["id"]]
    by_claimant = _list(client, world, "manager", claimant_id=str(world["peer"].employee.id))
    assert [c["id"] for c in by_claimant["items"]] == [other_report["id"]]
    # A filter never widens what the caller may see.
    outsider = _list(client, world, "manager", claimant_id=str(world["outsider"].employee.id))
    assert outsider["items"] == []


def test_list_filters_by_department(api: Api, client: TestClient, world: World) -> None:
    rd = api.create()
    sales = api.create(who="outsider")
    dept = str(world.departments["SALES"].id)
    items = _list(client, world, "finance", department_id=dept)["items"]
    assert [c["id"] for c in items] == [sales["id"]]
    assert rd["id"] not in {c["id"] for c in items}


def test_list_search_matches_reason_and_number(api: Api, client: TestClient, world: World) -> None:
    taxi = api.create(reason="Airport taxi")
    dinner = api.create(reason="Team dinner")
    assert [c["id"] for c in _list(client, world, q="TAXI")["items"]] == [taxi["id"]]
    assert [c["id"] for c in _list(client, world, q="dinner")["items"]] == [dinner["id"]]
    assert [c["id"] for c in _list(client, world, q=dinner["number"])["items"]] == [dinner["id"]]
    assert _list(client, world, q="nothing like this")["items"] == []


def test_list_filters_by_creation_time(api: Api, client: TestClient, world: World) -> None:
    claim = api.create()
    created = claim["created_at"].replace("Z", "+00:00")
    assert [c["id"] for c in _list(client, world, created_from=created)["items"]] == [claim["id"]]
    assert _list(client, world, created_to=created)["items"] == []
    assert _list(client, world, created_from="2999-01-01T00:00:00Z")["items"] == []


def test_list_refuses_a_time_without_offset(client: TestClient, world: World) -> None:
    response = client.get(
        CLAIMS, params={"created_from": "2026-01-01T00:00:00"}, headers=world["claimant"].headers
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert response.json()["errors"][0]["field"] == "query.created_from"


def test_cursor_pagination_walks_every_claim_once_newest_first(
    api: Api, client: TestClient, world: World
) -> None:
    created = [api.create(reason=f"trip {i}")["id"] for i in range(5)]
    seen: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = _list(client, world, **params)
        pages += 1
        assert len(page["items"]) <= 2
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 10
    assert pages == 3
    ids = [c["id"] for c in seen]
    assert len(ids) == len(set(ids))  # no duplicates
    assert ids == list(reversed(created))  # no gaps, newest first
    stamps = [c["created_at"] for c in seen]
    assert stamps == sorted(stamps, reverse=True)


def test_cursor_keeps_the_filters(api: Api, client: TestClient, world: World) -> None:
    drafts = [api.create()["id"] for _ in range(3)]
    submitted = api.create()
    api.submit(submitted["id"])
    first = _list(client, world, status="draft", limit=2)
    second = _list(client, world, status="draft", limit=2, cursor=first["next_cursor"])
    assert [c["id"] for c in first["items"] + second["items"]] == list(reversed(drafts))
    assert second["next_cursor"] is None


def test_exactly_full_last_page_has_no_next_cursor(
    api: Api, client: TestClient, world: World
) -> None:
    for _ in range(2):
        api.create()
    page = _list(client, world, limit=2)
    assert len(page["items"]) == 2
    assert page["next_cursor"] is None


def _cursor(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!!",
        "bm90IGpzb24",  # "not json"
        _cursor({"a": 1}),
        _cursor([1, 2]),
        _cursor(["yesterday", str(uuid.uuid4())]),
        _cursor(["2026-01-01T00:00:00+00:00", "not-a-uuid"]),
        _cursor(["2026-01-01T00:00:00+00:00", 5]),
        _cursor(["2026-01-01T00:00:00", str(uuid.uuid4())]),  # no offset: we never issue that
    ],
    ids=["garbage", "not-json", "object", "numbers", "bad-time", "bad-id", "int-id", "naive"],
)
def test_garbage_cursor_is_refused(client: TestClient, world: World, cursor: str) -> None:
    response = client.get(CLAIMS, params={"cursor": cursor}, headers=world["claimant"].headers)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_cursor"


@pytest.mark.parametrize("limit", [0, -1, 101, "many"])
def test_limit_out_of_range_is_refused(client: TestClient, world: World, limit: object) -> None:
    response = client.get(CLAIMS, params={"limit": limit}, headers=world["claimant"].headers)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
