"""The finance part of the access matrix: budgets, advances, bank accounts (issue #7).

The world gets a payee bank account for everyone, two budgets of company A (one
owned by the budget owner, one unowned), one of company B and an advance of the claimant. The
expectations come from ROLE_RIGHTS and the data scopes through the oracle in
access_world.py, never from a list of answers per role.
"""

from __future__ import annotations

from typing import Any

from baoxiao.identity.permissions import Right
from tests.api.access_rules import Rule
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
FINANCE_RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/budgets"): Rule("budget_list"),
    ("GET", "/budgets/{budget_id}"): Rule("budget", right=Right.BUDGET_VIEW),
    ("GET", "/budgets/{budget_id}/entries"): Rule("budget", right=Right.BUDGET_VIEW),
    ("PATCH", "/budgets/{budget_id}"): Rule(
        "budget", right=Right.BUDGET_MANAGE, body={"name": "renamed"}
    ),
    ("POST", "/budgets/{budget_id}/adjustments"): Rule(
        "budget", right=Right.BUDGET_MANAGE, body={"amount": "10", "reason": "more"}
    ),
    ("GET", "/advances/{advance_id}"): Rule("advance"),
    # The advance is not paid out yet: after the checks of who may repay, a payer's
    # repayment is refused as invalid ("the advance is pending").
    ("POST", "/advances/{advance_id}/repayments"): Rule(
        "advance", right=Right.CLAIM_PAY, body={"amount": "1"}, ok=422
    ),
    ("GET", "/employees/{employee_id}/bank-account"): Rule("employee", body="bank_read"),
    ("PUT", "/employees/{employee_id}/bank-account"): Rule("employee", body="bank_write"),
    ("GET", "/employees/{employee_id}/advances"): Rule("employee", body="advances"),
}
BUDGETS = {"RD-2026": "A", "ALL-2026": "A", "B-2026": "B"}  # code -> company
OWNED = {"RD-2026": "budget_owner"}


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
    for code, side in BUDGETS.items():
        owner_id = str(owner.id) if code in OWNED else None
        body = {
            "code": code,
            "name": code,
            "period_kind": "year",
            "period": "2026",
            "amount": "10000",
            "department_code": "RD" if owner_id else None,
            "owner_id": owner_id,
        }
        maker = "finance" if side == "A" else "b_admin"
        made = client.post(f"{V1}/budgets", json=body, headers=aw.headers(maker))
        assert made.status_code == 201, made.text
        aw.budgets[code] = made.json()["id"]
    sheet = client.get(f"{V1}/budgets/export", headers=aw.headers("finance"))
    assert sheet.status_code == 200, sheet.text
    aw.budget_sheet = sheet.content  # a valid import: the company's budgets as they are
    advance = client.post(
        f"{V1}/advances", json={"amount": "100", "reason": "trip"}, headers=aw.headers("claimant")
    )
    assert advance.status_code == 201, advance.text
    aw.advance = advance.json()
    claim = client.get(f"{V1}/claims/{aw.advance['claim_id']}", headers=aw.headers("claimant"))
    assert claim.status_code == 200, claim.text
    aw.claims["advance"] = claim.json()  # an advance is a claim: the claim lists show it


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


def expected_budget(aw: AccessWorld, who: str, right: Right, code: str) -> bool:
    """May `who` reach that budget with `right`: held in its company, or (to read) owned?"""
    if holds_in(aw.world, who, right, aw.company_id(BUDGETS[code])):
        return True
    return right == Right.BUDGET_VIEW and OWNED.get(code) == who


def expected_budget_list(aw: AccessWorld, who: str) -> set[str]:
    """The caller's company's budgets: all for its viewers, else the ones they own."""
    side = aw.company_of(who)
    mine = {code for code, company in BUDGETS.items() if company == side}
    if not holds_in(aw.world, who, Right.BUDGET_VIEW, aw.company_id(side)):
        mine = {code for code in mine if OWNED.get(code) == who}
    return {aw.budgets[code] for code in mine}


def expected_advance(aw: AccessWorld, who: str, rule: Rule) -> int:
    """The claimant's advance: its claim's readers read it, a payer reaching it repays."""
    claim = aw.claims["advance"]
    if not may_see(aw, who, claim):
        return 404
    if rule.right is None:
        return rule.ok
    if who == "claimant" or not right_reaches(aw.world, who, rule.right, claim):
        return 403
    return rule.ok


def expected_employee(aw: AccessWorld, kind: str, who: str, owner: str) -> bool:
    """May `who` read or write `owner`'s bank account?"""
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


def expected_bank_account(aw: AccessWorld, kind: str, who: str, owner: str) -> int:
    """200 to whoever may; a payer reaching the owner who may read but not write gets 403;
    to anyone else the account does not exist (404)."""
    if expected_employee(aw, kind, who, owner):
        return 200
    readable = kind == "bank_write" and expected_employee(aw, "bank_read", who, owner)
    return 403 if readable else 404


def expected_advances(aw: AccessWorld, who: str, owner: str) -> tuple[int, set[str]]:
    """An employee's advances: the ones whose claim `who` may see, for anyone of their
    company or whose claim view reaches them; to others the employee does not exist."""
    seen = advances_seen(aw, who, owner)
    knows = aw.company_of(who) == aw.company_of(owner) or right_reaches(
        aw.world, who, Right.CLAIM_VIEW_ALL, _as_claim(aw, owner)
    )
    return (200, seen) if seen or knows else (404, set())


def advances_seen(aw: AccessWorld, who: str, owner: str) -> set[str]:
    """The ids of `owner`'s advances that `who` may see (only the claimant has one)."""
    if owner != "claimant" or not may_see(aw, who, aw.claims["advance"]):
        return set()
    return {aw.advance["id"]}
