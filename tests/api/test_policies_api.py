"""Expense standards through the API: versions, publish, dry-run, checks on claims."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from baoxiao.kernel.db import Database
from baoxiao.models import Claim, Employee
from baoxiao.policies.service import facts_for
from tests.api.conftest import Api
from tests.support.factories import World

STANDARDS = "/api/v1/policy-standards"
TODAY = date.today()
RULES: dict[str, Any] = {
    "city_tiers": {"1": ["北京", "上海"]},
    "caps": [
        {
            "category": "HOTEL",
            "grade": "P6",
            "tier": "1",
            "amount": "450",
            "per": "night",
            "over_cap": "reduce",
        },
        {"category": "MEAL", "amount": "200", "over_cap": "justify"},
        {"category": "TAXI", "amount": "300", "over_cap": "block"},
    ],
    "receipts": {"above": "1000", "outcome": "block"},
    "filing_deadline": {"days": 90, "outcome": "warn"},
}


def _publish(client: TestClient, world: World, rules: dict[str, Any], who: str = "finance") -> Any:
    h = world[who].headers
    created = client.post(STANDARDS, json={"name": "差旅标准", "rules": rules}, headers=h)
    assert created.status_code == 201, created.text
    published = client.post(f"{STANDARDS}/{created.json()['id']}/publish", headers=h)
    assert published.status_code == 200, published.text
    return published.json()


def _grade(db: Database, world: World, grade: str) -> None:
    with db.transaction() as session:
        emp = session.get(Employee, world["claimant"].employee.id)  # type: ignore[union-attr]
        assert emp is not None
        emp.grade = grade


def _line(**kw: Any) -> dict[str, Any]:
    return {
        "category_code": "HOTEL",
        "expense_date": str(TODAY),
        "amount": "520.00",
        "city": "北京市",
        **kw,
    }


def test_versions_draft_publish_retire(client: TestClient, world: World) -> None:
    h = world["finance"].headers
    first = _publish(client, world, RULES)
    assert (first["version"], first["status"]) == (1, "published")
    draft = client.post(STANDARDS, json={"name": "v2"}, headers=h).json()
    assert (draft["version"], draft["status"]) == (2, "draft")
    assert draft["rules"]["caps"] == first["rules"]["caps"]  # copied from the published one
    changed = client.patch(
        f"{STANDARDS}/{draft['id']}", json={"rules": {**RULES, "caps": []}}, headers=h
    )
    assert changed.status_code == 200 and changed.json()["rules"]["caps"] == []
    assert client.post(f"{STANDARDS}/{draft['id']}/publish", headers=h).status_code == 200
    listed = client.get(STANDARDS, headers=h).json()
    assert [(s["version"], s["status"]) for s in listed] == [(2, "published"), (1, "retired")]
    frozen = client.patch(f"{STANDARDS}/{first['id']}", json={"name": "x"}, headers=h)
    assert (frozen.status_code, frozen.json()["code"]) == (409, "standard_not_draft")
    current = client.get(f"{STANDARDS}/current", headers=world["claimant"].headers)
    assert current.status_code == 200 and current.json()["version"] == 2


def test_only_finance_and_admin_manage_standards(client: TestClient, world: World) -> None:
    for who in ("claimant", "manager"):
        response = client.post(STANDARDS, json={"name": "x"}, headers=world[who].headers)
        assert (response.status_code, response.json()["code"]) == (403, "forbidden")
        assert client.get(STANDARDS, headers=world[who].headers).status_code == 403
    assert (
        client.post(STANDARDS, json={"name": "x"}, headers=world["admin"].headers).status_code
        == 201
    )
    other = _publish(client, world, RULES)
    foreign = client.get(f"{STANDARDS}/{other['id']}", headers=world["foreign_finance"].headers)
    assert (foreign.status_code, foreign.json()["code"]) == (404, "standard_not_found")
    assert client.get(f"{STANDARDS}/current", headers=world["foreigner"].headers).status_code == 404


def test_invalid_rules_are_a_validation_error(client: TestClient, world: World) -> None:
    bad = {"name": "x", "rules": {"caps": [{"category": "HOTEL", "amount": "0"}]}}
    response = client.post(STANDARDS, json=bad, headers=world["finance"].headers)
    assert (response.status_code, response.json()["code"]) == (422, "validation_error")


def test_over_cap_hotel_is_reduced_with_its_trace(
    client: TestClient, world: World, api: Api, db: Database
) -> None:
    _grade(db, world, "P6")
    _publish(client, world, RULES)
    claim = api.create(lines=[_line()])
    line = claim["lines"][0]
    assert (line["amount"], line["amount_base"], line["capped_from"]) == (
        "520.00",
        "450.00",
        "520.00",
    )
    assert claim["total_amount"] == "450.00"
    check = next(c for c in line["policy"] if c["rule"] == "hotel_night")
    assert check["outcome"] == "warn"
    assert check["trace_en"].startswith(
        "capped at 450.00 CNY: grade P6, city tier 1, hotel per night"
    )
    assert check["message_zh"].startswith("超出标准(住宿每晚)")
    assert claim["policy"] == {"outcome": "warn", "warnings": 1, "blocks": 0, "standard_version": 1}
    # Lowering the amount under the cap restores the line as claimed.
    h = world["claimant"].headers
    updated = client.patch(
        f"/api/v1/claims/{claim['id']}/lines/{line['id']}", json={"amount": "400.00"}, headers=h
    ).json()
    assert (updated["lines"][0]["amount_base"], updated["lines"][0]["capped_from"]) == (
        "400.00",
        None,
    )
    assert updated["policy"]["outcome"] == "pass"
    submitted = api.submit(claim["id"])
    assert submitted["status"] == "approving"


def test_a_block_refuses_submission_until_fixed(client: TestClient, world: World, api: Api) -> None:
    _publish(client, world, RULES)
    claim = api.create(
        lines=[
            _line(category_code="MEAL", amount="260.00"),
            _line(category_code="TAXI", amount="50"),
        ]
    )
    h = {**world["claimant"].headers, "Accept-Language": "zh-CN"}
    refused = client.post(f"/api/v1/claims/{claim['id']}/submit", headers=h)
    assert refused.status_code == 422
    body = refused.json()
    assert body["code"] == "policy_blocked"
    assert body["detail"].startswith("报销单有 1 项不符合费用标准")
    assert [(e["position"], e["rule"]) for e in body["errors"]] == [(1, "cap")]
    assert "Give a reason on the line" in body["errors"][0]["message_en"]
    assert client.get(f"/api/v1/claims/{claim['id']}", headers=h).json()["status"] == "draft"
    fixed = client.patch(
        f"/api/v1/claims/{claim['id']}/lines/{claim['lines'][0]['id']}",
        json={"justification": "客户晚宴"},
        headers=h,
    ).json()
    meal = next(c for c in fixed["lines"][0]["policy"] if c["rule"] == "cap")
    assert meal["outcome"] == "warn" and meal["message_en"].endswith(
        "kept with the reason: 客户晚宴"
    )
    assert api.submit(claim["id"])["status"] == "approving"


def test_the_approver_sees_the_flags_and_facts_for_exposes_them(
    client: TestClient, world: World, api: Api, db: Database
) -> None:
    _grade(db, world, "P6")
    _publish(client, world, RULES)
    old = str(TODAY - timedelta(days=120))
    claim = api.create(lines=[_line(), _line(category_code="TAXI", amount="30", expense_date=old)])
    api.submit(claim["id"])
    seen = client.get(f"/api/v1/claims/{claim['id']}", headers=world["manager"].headers).json()
    assert seen["policy"]["warnings"] == 2
    rules = {
        c["rule"]: c["outcome"]
        for ln in seen["lines"]
        for c in ln["policy"]
        if c["outcome"] != "pass"
    }
    assert rules == {"hotel_night": "warn", "filing_deadline": "warn"}
    with db.transaction() as session:
        loaded = session.scalars(select(Claim).where(Claim.number == claim["number"])).one()
        facts = facts_for(loaded)
    assert facts == {
        "standard_version": 1,
        "outcome": "warn",
        "warnings": 2,
        "blocks": 0,
        "rules_flagged": ["filing_deadline", "hotel_night"],
        "over_cap": True,
        "over_cap_lines": 1,
        "reduced_amount": "70.0000",
        "late_filing": True,
        "missing_receipt": False,
        "weekend": False,
        "holiday": False,
        "title_mismatch": False,
    }


def test_dry_run_reports_lines_whose_outcome_would_change(
    client: TestClient, world: World, api: Api
) -> None:
    _publish(client, world, RULES)
    strict = client.post(
        STANDARDS,
        json={
            "name": "stricter",
            "rules": {**RULES, "caps": [{"category": "TAXI", "amount": "40", "over_cap": "block"}]},
        },
        headers=world["finance"].headers,
    ).json()
    kept = api.create(lines=[{"category_code": "TAXI", "expense_date": str(TODAY), "amount": "30"}])
    hit = api.create(lines=[{"category_code": "TAXI", "expense_date": str(TODAY), "amount": "50"}])
    api.create(
        lines=[{"category_code": "TAXI", "expense_date": str(TODAY), "amount": "90"}]
    )  # draft
    api.submit(kept["id"])
    api.submit(hit["id"])
    period = {
        "period_from": str(TODAY - timedelta(days=1)),
        "period_to": str(TODAY + timedelta(days=1)),
    }
    report = client.post(
        f"{STANDARDS}/{strict['id']}/dry-run", json=period, headers=world["finance"].headers
    ).json()
    assert (report["claims_checked"], report["lines_checked"], report["lines_changed"]) == (2, 2, 1)
    change = report["changes"][0]
    assert change["claim_number"] == hit["number"]
    assert change["before"]["outcome"] == "pass" and change["after"]["outcome"] == "block"
    assert change["after"]["rules"]["cap"] == "block"
    assert "cap 40.00 CNY" in change["after"]["messages_en"][0]
    assert report["compared_with_version"] == 1
    # The dry run wrote nothing: the draft is still a draft, claims unchanged.
    assert (
        client.get(f"{STANDARDS}/{strict['id']}", headers=world["finance"].headers).json()["status"]
        == "draft"
    )
    bad = client.post(
        f"{STANDARDS}/{strict['id']}/dry-run",
        json={"period_from": str(TODAY), "period_to": str(TODAY - timedelta(days=3))},
        headers=world["finance"].headers,
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "dry_run_period_invalid")
