"""Org lookups, always scoped to the caller's company."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.factories import World

API = "/api/v1"


def test_company_is_the_callers(client: TestClient, world: World) -> None:
    response = client.get(f"{API}/company", headers=world["claimant"].headers)
    assert response.status_code == 200
    company = response.json()
    assert company["id"] == str(world.company.id)
    assert company["code"] == world.company.code
    assert company["name"] == f"{world.company.code} 有限公司"
    assert company["base_currency"] == "CNY"
    assert company["timezone"] == "Asia/Shanghai"
    assert world.other_company is not None
    foreign = client.get(f"{API}/company", headers=world["foreigner"].headers).json()
    assert foreign["id"] == str(world.other_company.id)


def test_departments_of_the_callers_company(client: TestClient, world: World) -> None:
    response = client.get(f"{API}/departments", headers=world["claimant"].headers)
    assert response.status_code == 200
    departments = response.json()
    assert [d["code"] for d in departments] == ["FIN", "RD", "ROOT", "SALES"]
    assert {d["id"] for d in departments} == {str(d.id) for d in world.departments.values()}
    root = str(world.departments["ROOT"].id)
    by_code = {d["code"]: d for d in departments}
    assert by_code["ROOT"]["parent_id"] is None
    assert {by_code[c]["parent_id"] for c in ("RD", "SALES", "FIN")} == {root}
    assert all(d["active"] for d in departments)


def test_departments_of_another_company_are_not_listed(client: TestClient, world: World) -> None:
    ours = {
        d["id"] for d in client.get(f"{API}/departments", headers=world["claimant"].headers).json()
    }
    theirs = {
        d["id"] for d in client.get(f"{API}/departments", headers=world["foreigner"].headers).json()
    }
    assert len(ours) == len(theirs) == 4
    assert ours.isdisjoint(theirs)


def test_cost_centers(client: TestClient, world: World) -> None:
    response = client.get(f"{API}/cost-centers", headers=world["claimant"].headers)
    assert response.status_code == 200
    [center] = response.json()
    assert (center["code"], center["name"], center["active"]) == ("CC1", "CC1", True)
    [foreign] = client.get(f"{API}/cost-centers", headers=world["foreigner"].headers).json()
    assert foreign["code"] == "CC1"
    assert foreign["id"] != center["id"]


def test_employees_of_the_callers_company(client: TestClient, world: World) -> None:
    response = client.get(f"{API}/employees", headers=world["peer"].headers)
    assert response.status_code == 200
    employees = response.json()
    expected = {
        name: world[name].employee
        for name in (
            "boss",
            "manager",
            "claimant",
            "peer",
            "outsider",
            "finance",
            "cashier",
            "admin",
        )
    }
    assert {e["id"] for e in employees} == {str(emp.id) for emp in expected.values() if emp}
    numbers = [e["employee_no"] for e in employees]
    assert numbers == sorted(numbers)
    claimant = next(e for e in employees if e["id"] == str(world["claimant"].employee.id))
    assert claimant["manager_id"] == str(world["manager"].employee.id)
    assert claimant["department_id"] == str(world.departments["RD"].id)
    assert claimant["email"] == f"{world['claimant'].user.username}@example.com"
    assert str(world["foreigner"].employee.id) not in {e["id"] for e in employees}


def test_employees_seen_from_the_other_company(client: TestClient, world: World) -> None:
    employees = client.get(f"{API}/employees", headers=world["foreign_finance"].headers).json()
    assert {e["id"] for e in employees} == {
        str(world["foreigner"].employee.id),
        str(world["foreign_finance"].employee.id),
    }


def test_expense_categories(client: TestClient, world: World) -> None:
    response = client.get(f"{API}/expense-categories", headers=world["claimant"].headers)
    assert response.status_code == 200
    active = response.json()
    assert [c["code"] for c in active] == ["HOTEL", "MEAL", "TAXI"]
    assert {c["id"] for c in active} == {
        str(world.categories[c].id) for c in ("HOTEL", "MEAL", "TAXI")
    }
    assert all(c["gl_account"] == "6602" and c["active"] for c in active)

    everything = client.get(
        f"{API}/expense-categories",
        params={"include_inactive": "true"},
        headers=world["claimant"].headers,
    ).json()
    assert [c["code"] for c in everything] == ["HOTEL", "MEAL", "OLD", "TAXI"]
    old = next(c for c in everything if c["code"] == "OLD")
    assert (old["active"], old["name_en"], old["name_zh"], old["gl_account"]) == (
        False,
        "Retired",
        "停用",
        "6699",
    )


def test_categories_are_per_company(client: TestClient, world: World) -> None:
    ours = client.get(f"{API}/expense-categories", headers=world["claimant"].headers).json()
    theirs = client.get(f"{API}/expense-categories", headers=world["foreigner"].headers).json()
    assert [c["code"] for c in ours] == [c["code"] for c in theirs]
    assert {c["id"] for c in ours}.isdisjoint({c["id"] for c in theirs})


def test_currencies(client: TestClient, world: World) -> None:
    response = client.get(f"{API}/currencies", headers=world["claimant"].headers)
    assert response.status_code == 200
    currencies = {c["code"]: c for c in response.json()}
    assert {"CNY", "USD", "JPY", "EUR"} <= set(currencies)
    assert currencies["CNY"]["minor_units"] == 2
    assert currencies["JPY"]["minor_units"] == 0
    assert all(c["active"] for c in currencies.values())
    codes = [c["code"] for c in response.json()]
    assert codes == sorted(codes)


def test_exchange_rates_of_the_callers_company(client: TestClient, world: World) -> None:
    response = client.get(f"{API}/exchange-rates", headers=world["claimant"].headers)
    assert response.status_code == 200
    assert response.json() == [
        {"base": "USD", "quote": "CNY", "rate": "7.10000000", "effective_date": "2026-01-01"}
    ]


@pytest.mark.parametrize(
    "path",
    [
        "company",
        "departments",
        "cost-centers",
        "employees",
        "expense-categories",
        "currencies",
        "exchange-rates",
    ],
)
def test_lookups_need_authentication(client: TestClient, path: str) -> None:
    response = client.get(f"{API}/{path}")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    bad = client.get(f"{API}/{path}", headers={"Authorization": "Bearer bx_nope"})
    assert bad.status_code == 401
    assert bad.json()["code"] == "invalid_token"


def test_lookups_are_read_only(client: TestClient, world: World) -> None:
    response = client.post(
        f"{API}/departments", json={"code": "NEW", "name": "New"}, headers=world["admin"].headers
    )
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
