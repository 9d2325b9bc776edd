"""Budgets: the ledger follows the claim life cycle; block, warn, track; positions; Excel."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from baoxiao.budgets import excel
from baoxiao.kernel.db import Database
from baoxiao.models import Budget, BudgetEntry
from tests.api.conftest import LINE, Api
from tests.support.factories import World
from tests.support.finance import BUDGETS, create_budget, entries, figures, position

CLAIMS = "/api/v1/claims"


def _submit(client: TestClient, world: World, claim_id: str) -> Any:
    return client.post(f"{CLAIMS}/{claim_id}/submit", headers=world["claimant"].headers)


def _ledger_matches_counters(db: Database) -> None:
    """The running figures are exactly the sums of the ledger's deltas."""
    with db.transaction() as session:
        for budget in session.scalars(select(Budget)):
            sums = session.execute(
                select(
                    func.sum(BudgetEntry.amount_delta),
                    func.sum(BudgetEntry.occupied_delta),
                    func.sum(BudgetEntry.consumed_delta),
                    func.count(),
                ).where(BudgetEntry.budget_id == budget.id)
            ).one()
            amount, occupied, consumed, count = (Decimal(x or 0) for x in sums)
            assert (budget.amount, budget.occupied, budget.consumed) == (amount, occupied, consumed)
            assert budget.entries == count


def test_submit_occupies_and_pay_consumes(
    api: Api, client: TestClient, world: World, db: Database
) -> None:
    budget = create_budget(client, world)
    assert figures(client, world, budget["id"]) == ("100.00", "0.00", "0.00", "100.00")
    claim = api.create(lines=[LINE, {**LINE, "amount": "20.00"}])
    api.submit(claim["id"])
    assert figures(client, world, budget["id"]) == ("100.00", "70.00", "0.00", "30.00")
    seen = client.get(f"{CLAIMS}/{claim['id']}/budget", headers=world["manager"].headers).json()
    assert seen["status"] == "ok"  # 70% used
    assert [b["code"] for b in seen["budgets"]] == ["RD-2026-11"]
    assert sorted(line["held"] for line in seen["lines"]) == ["20.00", "50.00"]
    api.decide(claim["id"], "manager")
    api.decide(claim["id"], "finance")
    paid = client.post(f"{CLAIMS}/{claim['id']}/mark-paid", headers=world["cashier"].headers)
    assert paid.status_code == 201, paid.text
    assert figures(client, world, budget["id"]) == ("100.00", "0.00", "70.00", "30.00")
    kinds = [
        (e["kind"], e["occupied_delta"], e["consumed_delta"])
        for e in entries(client, world, budget["id"])
    ]
    assert [k for k, _o, _c in kinds] == ["adjust", "occupy", "occupy", "consume", "consume"]
    last = entries(client, world, budget["id"])[-1]
    assert Decimal(last["consumed_after"]) == Decimal("70")
    assert Decimal(last["occupied_after"]) == 0
    _ledger_matches_counters(db)


def test_block_mode_refuses_what_is_not_left(
    api: Api, client: TestClient, world: World, db: Database
) -> None:
    budget = create_budget(client, world, amount="60.00")
    first = api.create()
    api.submit(first["id"])
    second = api.create()
    refused = _submit(client, world, second["id"])
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["code"] == "budget_exceeded"
    assert (body["budget"], body["available"], body["requested"]) == (
        "RD-2026-11",
        "10.00",
        "50.00",
    )
    zh = _submit_zh(client, world, second["id"])
    assert "超出预算" in zh["detail"]
    assert (
        client.get(f"{CLAIMS}/{second['id']}", headers=world["claimant"].headers).json()["status"]
        == "draft"
    )
    assert figures(client, world, budget["id"])[1] == "50.00"
    _ledger_matches_counters(db)


def _submit_zh(client: TestClient, world: World, claim_id: str) -> dict[str, Any]:
    response = client.post(
        f"{CLAIMS}/{claim_id}/submit",
        headers={**world["claimant"].headers, "Accept-Language": "zh-CN"},
    )
    assert response.status_code == 422
    return dict(response.json())


def test_warn_mode_lets_it_through_and_says_over(
    api: Api, client: TestClient, world: World
) -> None:
    budget = create_budget(client, world, amount="40.00", control="warn")
    claim = api.create()
    api.submit(claim["id"])
    p = position(client, world, budget["id"])
    assert (p["available"], p["status"]) == ("-10.00", "over")
    seen = client.get(f"{CLAIMS}/{claim['id']}/budget", headers=world["claimant"].headers).json()
    assert seen["status"] == "over"
    last = entries(client, world, budget["id"])[-1]
    assert last["over_budget"] is True


def test_track_mode_only_records(api: Api, client: TestClient, world: World) -> None:
    budget = create_budget(client, world, amount="0", control="track")
    claim = api.create()
    api.submit(claim["id"])
    assert figures(client, world, budget["id"]) == ("0.00", "50.00", "0.00", "-50.00")


def test_reject_return_and_withdraw_release(
    api: Api, client: TestClient, world: World, db: Database
) -> None:
    budget = create_budget(client, world, amount="500.00")
    rejected, returned, withdrawn = api.create(), api.create(), api.create()
    for claim in (rejected, returned, withdrawn):
        api.submit(claim["id"])
    assert figures(client, world, budget["id"])[1] == "150.00"
    api.decide(rejected["id"], "manager", "reject", "not business")
    api.decide(returned["id"], "manager", "return", "add receipts")
    response = client.post(
        f"{CLAIMS}/{withdrawn['id']}/withdraw",
        json={"comment": "typo"},
        headers=world["claimant"].headers,
    )
    assert response.status_code == 200, response.text
    assert figures(client, world, budget["id"])[1:] == ("0.00", "0.00", "500.00")
    reasons = sorted(
        e["reason"] for e in entries(client, world, budget["id"]) if e["kind"] == "release"
    )
    assert reasons == ["rejected", "returned", "withdrawn"]
    api.submit(returned["id"])  # resubmitted: occupies again
    assert figures(client, world, budget["id"])[1] == "50.00"
    _ledger_matches_counters(db)


def test_lowered_and_refused_lines_release_at_once(
    api: Api, client: TestClient, world: World
) -> None:
    budget = create_budget(client, world, amount="500.00")
    claim = api.create(lines=[LINE, {**LINE, "amount": "30.00"}])
    api.submit(claim["id"])
    full = client.get(f"{CLAIMS}/{claim['id']}", headers=world["manager"].headers).json()
    first, second = full["lines"][0]["id"], full["lines"][1]["id"]
    task = api.task_for(claim["id"], "manager")
    body = {
        "lines": [
            {"line_id": first, "approved_amount": "35.00", "reason": "taxi cap"},
            {"line_id": second, "approved_amount": "0", "reason": "personal"},
        ]
    }
    response = client.post(
        f"/api/v1/approval-tasks/{task['id']}/approve", json=body, headers=world["manager"].headers
    )
    assert response.status_code == 200, response.text
    # Still approving (finance next), but the budget already holds only 35.00.
    assert figures(client, world, budget["id"])[1] == "35.00"
    api.decide(claim["id"], "finance")
    paid = client.post(f"{CLAIMS}/{claim['id']}/mark-paid", headers=world["cashier"].headers)
    assert paid.json()["amount"] == "35.00"
    assert figures(client, world, budget["id"]) == ("500.00", "0.00", "35.00", "465.00")


def test_every_dimension_must_match(api: Api, client: TestClient, world: World) -> None:
    hotel = create_budget(client, world, code="HOTEL", category_code="HOTEL")
    sales = create_budget(client, world, code="SALES", department_code="SALES")
    project = create_budget(client, world, code="P1", department_code=None, project_code="P-1")
    year = create_budget(
        client,
        world,
        code="Y",
        department_code=None,
        period_kind="year",
        period="2026",
        amount="1000",
    )
    q4 = create_budget(
        client,
        world,
        code="Q",
        department_code=None,
        period_kind="quarter",
        period="2026-Q4",
        category_code="TAXI",
    )
    q1 = create_budget(
        client, world, code="Q1", department_code=None, period_kind="quarter", period="2026-Q1"
    )
    claim = api.create()
    api.submit(claim["id"])
    held = {
        b["code"]: b["occupied"]
        for b in (position(client, world, x["id"]) for x in (hotel, sales, project, year, q4, q1))
    }
    assert held == {
        "HOTEL": "0.00",
        "SALES": "0.00",
        "P1": "0.00",
        "Y": "50.00",
        "Q": "50.00",
        "Q1": "0.00",
    }
    with_project = client.post(
        CLAIMS,
        json={"reason": "project trip", "project_code": "P-1", "lines": [LINE]},
        headers=world["claimant"].headers,
    ).json()
    assert with_project["project_code"] == "P-1"
    api.submit(with_project["id"])
    assert position(client, world, project["id"])["occupied"] == "50.00"


def test_adjustments_are_entries_and_never_undercut(
    api: Api, client: TestClient, world: World
) -> None:
    budget = create_budget(client, world, amount="100.00")
    claim = api.create()
    api.submit(claim["id"])
    url = f"{BUDGETS}/{budget['id']}/adjustments"
    raised = client.post(
        url, json={"amount": "25.50", "reason": "Q4 top-up"}, headers=world["finance"].headers
    )
    assert raised.status_code == 200, raised.text
    assert Decimal(raised.json()["amount_after"]) == Decimal("125.5")
    too_low = client.post(
        url, json={"amount": "-80", "reason": "cut"}, headers=world["finance"].headers
    )
    assert too_low.status_code == 409
    assert too_low.json()["code"] == "budget_below_committed"
    bad = client.post(
        url, json={"amount": "0.001", "reason": "x"}, headers=world["finance"].headers
    )
    assert bad.status_code == 422
    assert figures(client, world, budget["id"]) == ("125.50", "50.00", "0.00", "75.50")


def test_who_may_see_and_manage(api: Api, client: TestClient, world: World) -> None:
    denied = client.post(
        BUDGETS,
        json={"code": "X", "name": "x", "period_kind": "year", "period": "2026", "amount": "1"},
        headers=world["claimant"].headers,
    )
    assert denied.status_code == 403
    budget = create_budget(client, world)
    assert (
        client.get(f"{BUDGETS}/{budget['id']}", headers=world["claimant"].headers).status_code
        == 404
    )
    assert (
        client.get(f"{BUDGETS}/{budget['id']}", headers=world["admin"].headers).status_code == 200
    )
    assert (
        client.get(
            f"{BUDGETS}/{budget['id']}", headers=world["foreign_finance"].headers
        ).status_code
        == 404
    )
    assert client.get(BUDGETS, headers=world["claimant"].headers).json() == []
    owner = world["manager"].employee
    assert owner is not None
    patched = client.patch(
        f"{BUDGETS}/{budget['id']}",
        json={"owner_id": str(owner.id)},
        headers=world["finance"].headers,
    )
    assert patched.status_code == 200, patched.text
    mine = client.get(BUDGETS, headers=world["manager"].headers).json()
    assert [b["code"] for b in mine] == ["RD-2026-11"]
    dup = client.post(
        BUDGETS, json={**_body(budget), "code": "RD-2026-11"}, headers=world["finance"].headers
    )
    assert dup.status_code == 409
    assert dup.json()["code"] == "budget_code_taken"
    bad_period = client.post(
        BUDGETS,
        json={**_body(budget), "code": "Z", "period": "2026-13"},
        headers=world["finance"].headers,
    )
    assert bad_period.status_code == 422
    assert bad_period.json()["code"] == "budget_invalid"


def _body(read: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": read["code"],
        "name": read["name"],
        "period_kind": read["period_kind"],
        "period": read["period"],
        "amount": "1",
        "department_code": "RD",
    }


def _sheet(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


HEADER = excel.COLUMNS
TAXI_Q4 = ["TAXI-Q4", "Taxi Q4", "quarter", "2026-Q4", "5000.50", "warn", None, None, "TAXI", None]


def test_excel_import_and_export(api: Api, client: TestClient, world: World) -> None:
    headers = world["finance"].headers
    content = _sheet(
        [
            HEADER,
            ["RD-2026", "R&D 2026", "year", "2026", "120000", "block", "RD", None, None, None],
            TAXI_Q4,
        ]
    )
    done = client.post(f"{BUDGETS}/import", content=content, headers=headers)
    assert done.status_code == 200, done.text
    assert done.json() == {"created": 2, "adjusted": 0, "unchanged": 0}
    again = _sheet(
        [
            HEADER,
            ["RD-2026", "R&D 2026", "year", "2026", "150000", "block", "RD", None, None, None],
            TAXI_Q4,
        ]
    )
    assert client.post(f"{BUDGETS}/import", content=again, headers=headers).json() == {
        "created": 0,
        "adjusted": 1,
        "unchanged": 1,
    }
    broken = _sheet(
        [
            HEADER,
            ["NEW", "n", "month", "2026-13", "1", "block", None, None, None, None],
            ["NEW2", "n", "year", "2026", "abc", "block", None, None, None, None],
            ["NEW3", "n", "year", "2026", "1", "block", "NOPE", None, None, None],
        ]
    )
    refused = client.post(f"{BUDGETS}/import", content=broken, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["code"] == "budget_import_invalid"
    assert [e["field"] for e in refused.json()["errors"]][:2] == ["row 2", "row 3"]
    assert (
        client.post(f"{BUDGETS}/import", content=b"not a sheet", headers=headers).status_code == 422
    )
    codes = {b["code"] for b in client.get(BUDGETS, headers=headers).json()}
    assert codes == {"RD-2026", "TAXI-Q4"}  # nothing of the broken sheet
    exported = client.get(f"{BUDGETS}/export", headers=headers)
    assert exported.status_code == 200
    sheet = load_workbook(io.BytesIO(exported.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0][:5]) == HEADER[:5]
    assert {(r[0], r[4]) for r in rows[1:]} == {("RD-2026", "150000.00"), ("TAXI-Q4", "5000.50")}
    assert (
        client.post(
            f"{BUDGETS}/import", content=content, headers=world["claimant"].headers
        ).status_code
        == 403
    )
