"""The finance part of the access matrix: budgets, advances, bank accounts (issue #7).

The world gets a payee bank account for everyone, two budgets of company A (one
owned by the budget owner, one unowned) and an advance of the claimant. The
expectations come from ROLE_RIGHTS and the data scopes through the oracle in
access_world.py, never from a list of answers per role.
"""

from __future__ import annotations

from typing import Any

from baoxiao.identity.permissions import Right
from tests.api.access_world import (
    PASSWORD,
    AccessWorld,
    holds_in,
    may_see,
    right_reaches,
)

V1 = "/api/v1"

# Rule kinds (see test_access_matrix.py for the others):
#   budget R        one budget of company A: R in A as a company function, or (reads) its owner
#   budget_list     the list: every budget for BUDGET_VIEW holders, one's own for owners
#   advance R|None  the claimant's advance: its claim's readers; R: a payer reaching it, not them
#   employee kind   an employee's bank account or advances, by relation (own, team, ...)
FINANCE_RULES: dict[tuple[str, str], tuple[Any, ...]] = {
    ("GET", "/budgets"): ("budget_list", None),
    ("GET", "/budgets/{budget_id}"): ("budget", Right.BUDGET_VIEW),
    ("GET", "/budgets/{budget_id}/entries"): ("budget", Right.BUDGET_VIEW),
    ("PATCH", "/budgets/{budget_id}"): ("budget", Right.BUDGET_MANAGE, {"name": "renamed"}),
    ("POST", "/budgets/{budget_id}/adjustments"): (
        "budget",
        Right.BUDGET_MANAGE,
        {"amount": "10", "reason": "more"},
    ),
    ("GET", "/advances/{advance_id}"): ("advance", None),
    ("POST", "/advances/{advance_id}/repayments"): ("advance", Right.CLAIM_PAY, {"amount": "1"}),
    ("GET", "/employees/{employee_id}/bank-account"): ("employee", "bank_read"),
    ("PUT", "/employees/{employee_id}/bank-account"): ("employee", "bank_write"),
    ("GET", "/employees/{employee_id}/advances"): ("employee", "advances"),
}


def account_body(number: int, password: str = PASSWORD) -> dict[str, str]:
    return {
        "holder_name": "holder",
        "bank_name": "ICBC",
        "account_number": f"62220200{number:08d}",
        "current_password": password,
    }


def build_finance(aw: AccessWorld) -> None:
    client = aw.client
    for n, (name, person) in enumerate(aw.world.people.items()):
        if person.employee is None:
            continue
        put = client.put(
            f"{V1}/employees/{person.employee.id}/bank-account",
            json=account_body(n),
            headers=aw.headers(name),
        )
        assert put.status_code == 200, put.text
    owner = aw.world["budget_owner"].employee
    assert owner is not None
    for code, owner_id in (("RD-2026", str(owner.id)), ("ALL-2026", None)):
        body = {
            "code": code,
            "name": code,
            "period_kind": "year",
            "period": "2026",
            "amount": "10000",
            "department_code": "RD" if owner_id else None,
            "owner_id": owner_id,
        }
        made = client.post(f"{V1}/budgets", json=body, headers=aw.headers("finance"))
        assert made.status_code == 201, made.text
        aw.budgets[code] = made.json()["id"]
    advance = client.post(
        f"{V1}/advances", json={"amount": "100", "reason": "trip"}, headers=aw.headers("claimant")
    )
    assert advance.status_code == 201, advance.text
    aw.advance = advance.json()
    claim = client.get(f"{V1}/claims/{aw.advance['claim_id']}", headers=aw.headers("claimant"))
    assert claim.status_code == 200, claim.text
    aw.claims["advance"] = claim.json()  # an advance is a claim: the claim lists show it


def _company(aw: AccessWorld, who: str) -> str:
    return str(aw.world[who].user.company_id)


def _as_claim(aw: AccessWorld, owner: str) -> dict[str, Any]:
    """An employee as the oracle sees a claim of theirs: company, department, claimant."""
    employee = aw.world[owner].employee
    assert employee is not None
    return {
        "id": f"employee:{owner}",
        "company_id": str(employee.company_id),
        "department_id": str(employee.department_id),
        "claimant": {"id": str(employee.id)},
    }


def expected_budget(aw: AccessWorld, who: str, right: Right) -> bool:
    """May `who` reach the owned budget of company A with `right`?"""
    company = str(aw.world.company.id)
    if holds_in(aw.world, who, right, company):
        return True
    return right == Right.BUDGET_VIEW and who == "budget_owner"


def expected_budget_list(aw: AccessWorld, who: str) -> set[str]:
    if _company(aw, who) != str(aw.world.company.id):
        return set()  # company B has no budgets
    if holds_in(aw.world, who, Right.BUDGET_VIEW, _company(aw, who)):
        return set(aw.budgets.values())
    return {aw.budgets["RD-2026"]} if who == "budget_owner" else set()


def expected_advance(aw: AccessWorld, who: str, right: Right | None) -> set[int] | None:
    """Statuses for the claimant's advance; None: allowed (any non-denial, not 2xx for repay)."""
    claim = aw.claims["advance"]
    if not may_see(aw, who, claim):
        return {404}
    if right is None:
        return {200}
    if who == "claimant" or not right_reaches(aw.world, who, right, claim):
        return {403}
    return None  # the advance is not paid out yet: the repayment is refused as invalid


def expected_employee(aw: AccessWorld, kind: str, who: str, owner: str) -> bool:
    """May `who` read or write `owner`'s bank account, or see their advances?"""
    target = _as_claim(aw, owner)
    company = target["company_id"]
    if who == owner:
        return True
    if kind == "bank_write":
        return holds_in(aw.world, who, Right.ORG_ADMIN, company)
    if kind == "bank_read":
        return right_reaches(aw.world, who, Right.CLAIM_PAY, target) or holds_in(
            aw.world, who, Right.ORG_ADMIN, company
        )
    raise AssertionError(kind)


def advances_seen(aw: AccessWorld, who: str, owner: str) -> set[str]:
    """The ids of `owner`'s advances that `who` may see (only the claimant has one)."""
    if owner != "claimant" or not may_see(aw, who, aw.claims["advance"]):
        return set()
    return {aw.advance["id"]}
