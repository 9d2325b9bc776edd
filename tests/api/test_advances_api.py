"""Advances (借款): approved and paid like claims, offset on claims (核销), repaid."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from baoxiao.kernel.db import Database
from baoxiao.models import BudgetEntry
from tests.api.conftest import LINE, Api
from tests.support.factories import World
from tests.support.finance import create_budget, figures

ADVANCES = "/api/v1/advances"
CLAIMS = "/api/v1/claims"


def _paid_advance(
    api: Api, client: TestClient, world: World, amount: str = "300.00"
) -> dict[str, Any]:
    response = client.post(
        ADVANCES,
        json={"amount": amount, "reason": "Beijing trip advance"},
        headers=world["claimant"].headers,
    )
    assert response.status_code == 201, response.text
    advance = response.json()
    assert advance["status"] == "requested"
    api.decide(advance["claim_id"], "manager")
    api.decide(advance["claim_id"], "finance")
    paid = client.post(
        f"{CLAIMS}/{advance['claim_id']}/mark-paid", headers=world["cashier"].headers
    )
    assert paid.status_code == 201, paid.text
    return dict(client.get(f"{ADVANCES}/{advance['id']}", headers=world["claimant"].headers).json())


def _balance(client: TestClient, world: World) -> dict[str, Any]:
    employee = world["claimant"].employee
    assert employee is not None
    response = client.get(
        f"/api/v1/employees/{employee.id}/advances", headers=world["finance"].headers
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_advance_is_approved_paid_offset_and_repaid(
    api: Api, client: TestClient, world: World, db: Database
) -> None:
    budget = create_budget(client, world, amount="1000.00")
    advance = _paid_advance(api, client, world)
    assert (advance["status"], advance["outstanding"], advance["available"]) == (
        "open",
        "300.00",
        "300.00",
    )
    assert figures(client, world, budget["id"])[1:3] == ("0.00", "0.00")  # an advance is no expense
    assert _balance(client, world)["outstanding"] == "300.00"

    claim = api.create(lines=[{**LINE, "amount": "120.00"}, {**LINE, "amount": "80.00"}])
    url = f"{CLAIMS}/{claim['id']}/offsets"
    too_much = client.put(
        url,
        json={"offsets": [{"advance_id": advance["id"], "amount": "250.00"}]},
        headers=world["claimant"].headers,
    )
    assert too_much.status_code == 422
    assert too_much.json()["code"] == "offset_invalid"
    done = client.put(
        url,
        json={"offsets": [{"advance_id": advance["id"], "amount": "200.00"}]},
        headers=world["claimant"].headers,
    )
    assert done.status_code == 200, done.text
    assert (done.json()["offsets_total"], done.json()["payable"]) == ("200.00", "0.00")
    peer_claim = api.create(who="peer")
    stolen = client.put(
        f"{CLAIMS}/{peer_claim['id']}/offsets",
        json={"offsets": [{"advance_id": advance["id"], "amount": "10.00"}]},
        headers=world["peer"].headers,
    )
    assert stolen.status_code == 422  # not the peer's advance
    assert (
        client.get(f"{ADVANCES}/{advance['id']}", headers=world["claimant"].headers).json()[
            "available"
        ]
        == "100.00"
    )

    # A second claim cannot take more than is left after the first one's reservation.
    other = api.create(lines=[{**LINE, "amount": "150.00"}])
    over = client.put(
        f"{CLAIMS}/{other['id']}/offsets",
        json={"offsets": [{"advance_id": advance["id"], "amount": "100.01"}]},
        headers=world["claimant"].headers,
    )
    assert over.status_code == 422

    api.submit(claim["id"])
    # The manager lowers a line: payable shrinks, the offset is trimmed to what is approved.
    full = client.get(f"{CLAIMS}/{claim['id']}", headers=world["manager"].headers).json()
    task = api.task_for(claim["id"], "manager")
    body = {
        "lines": [{"line_id": full["lines"][0]["id"], "approved_amount": "100.00", "reason": "cap"}]
    }
    assert (
        client.post(
            f"/api/v1/approval-tasks/{task['id']}/approve",
            json=body,
            headers=world["manager"].headers,
        ).status_code
        == 200
    )
    api.decide(claim["id"], "finance")
    after = client.get(url, headers=world["claimant"].headers).json()
    assert (after["claim_total"], after["offsets_total"], after["payable"]) == (
        "180.00",
        "180.00",
        "0.00",
    )
    paid = client.post(f"{CLAIMS}/{claim['id']}/mark-paid", headers=world["cashier"].headers)
    assert paid.status_code == 201, paid.text
    assert (paid.json()["amount"], paid.json()["gross_amount"], paid.json()["offset_amount"]) == (
        "0.00",
        "180.00",
        "180.00",
    )
    advance = client.get(f"{ADVANCES}/{advance['id']}", headers=world["claimant"].headers).json()
    assert (advance["status"], advance["outstanding"]) == ("open", "120.00")
    assert figures(client, world, budget["id"])[2] == "180.00"  # the expense consumes budget

    vouchers = client.get(
        f"/api/v1/vouchers?claim_id={claim['id']}", headers=world["finance"].headers
    ).json()
    payment = vouchers[-1]
    assert [(x["account"], x["debit"], x["credit"]) for x in payment["lines"]] == [
        ("2241", "180.00", "0.00"),
        ("1221", "0.00", "180.00"),
    ]

    repay_url = f"{ADVANCES}/{advance['id']}/repayments"
    too_big = client.post(repay_url, json={"amount": "120.01"}, headers=world["cashier"].headers)
    assert too_big.status_code == 422
    assert (
        client.post(
            repay_url, json={"amount": "20.00"}, headers=world["claimant"].headers
        ).status_code
        == 403
    )
    repaid = client.post(
        repay_url,
        json={"amount": "120.00", "reference": "BANK-IN-1"},
        headers=world["cashier"].headers,
    )
    assert repaid.status_code == 200, repaid.text
    assert (repaid.json()["status"], repaid.json()["outstanding"]) == ("closed", "0.00")
    assert _balance(client, world)["outstanding"] == "0.00"
    with db.transaction() as session:
        assert session.scalars(select(BudgetEntry)).all()  # the expense claim used the ledger


def test_a_rejected_offset_claim_gives_the_advance_back(
    api: Api, client: TestClient, world: World
) -> None:
    advance = _paid_advance(api, client, world, "100.00")
    claim = api.create()
    client.put(
        f"{CLAIMS}/{claim['id']}/offsets",
        json={"offsets": [{"advance_id": advance["id"], "amount": "50.00"}]},
        headers=world["claimant"].headers,
    )
    assert (
        client.get(f"{ADVANCES}/{advance['id']}", headers=world["claimant"].headers).json()[
            "available"
        ]
        == "50.00"
    )
    api.submit(claim["id"])
    api.decide(claim["id"], "manager", "reject", "no")
    back = client.get(f"{ADVANCES}/{advance['id']}", headers=world["claimant"].headers).json()
    assert (back["outstanding"], back["available"]) == ("100.00", "100.00")


def test_a_rejected_advance_is_cancelled(api: Api, client: TestClient, world: World) -> None:
    advance = client.post(
        ADVANCES,
        json={"amount": "80.00", "reason": "taxi money"},
        headers=world["claimant"].headers,
    ).json()
    api.decide(advance["claim_id"], "manager", "reject", "use the corporate card")
    again = client.get(f"{ADVANCES}/{advance['id']}", headers=world["claimant"].headers).json()
    assert (again["status"], again["outstanding"]) == ("cancelled", "0.00")
    assert (
        client.get(f"{ADVANCES}/{advance['id']}", headers=world["peer"].headers).status_code == 404
    )
    assert Decimal(_balance(client, world)["outstanding"]) == 0
