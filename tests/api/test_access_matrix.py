"""The access matrix: every role x every endpoint x object relation, from the permission table.

RULES names how each endpoint is authorised; the expected status of every cell
comes from identity.permissions (ROLE_RIGHTS, data scopes) through the oracle in
access_world.py, never from a hand-written list of answers. An endpoint missing
from RULES fails test_every_endpoint_has_a_rule. Writes run in a savepoint that
is rolled back, so one world serves the whole module.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from baoxiao.app import create_app
from baoxiao.identity.permissions import Right
from baoxiao.identity.scopes import ENDPOINT_SCOPES, SCOPES, required_scope
from baoxiao.settings import Settings
from tests.api.access_finance import (
    FINANCE_RULES,
    account_body,
    advances_seen,
    build_finance,
    expected_advance,
    expected_budget,
    expected_budget_list,
    expected_employee,
)
from tests.api.access_world import (
    PASSWORD,
    POOL_TRAVELLERS,
    AccessWorld,
    build,
    holds,
    holds_in,
    may_see,
    may_take_part,
    owner_of,
    pool_reaches,
    right_reaches,
)
from tests.support.db import rolled_back_database

V1 = "/api/v1"
NOBODY = "00000000-0000-7000-8000-000000000000"
DENIED = {403, 404}


class Params(dict[str, str]):
    """A rule argument sent as the query string rather than a JSON body."""


RAW = b"not a spreadsheet"  # a rule argument sent as the raw request body

# (method, path) -> (rule, argument). Rules:
#   public       no caller needed              signed_in  any caller
#   read         a claim: 200 if visible       owner      claim writes: the claimant only
#   visible      claim writes for any reader   pay        a cashier whose scope reaches it
#   right R      a company function right      task       the task's assignee
#   self         the caller's own things (tokens, delegations, password, two-factor)
# and the finance kinds of access_finance.py (budget, budget_list, advance, employee).
RULES: dict[tuple[str, str], tuple[Any, ...]] = {
    ("POST", "/auth/token"): ("public", None),
    ("GET", "/me"): ("signed_in", None),
    ("POST", "/tokens"): ("self", None),
    ("GET", "/tokens"): ("self", None),
    ("DELETE", "/tokens/{token_id}"): ("self", None),
    ("POST", "/claims"): ("signed_in", None),
    ("GET", "/claims"): ("signed_in", None),
    ("GET", "/claims/{claim_id}"): ("read", None),
    ("PATCH", "/claims/{claim_id}"): ("owner", {"reason": "changed"}),
    ("POST", "/claims/{claim_id}/lines"): (
        "owner",
        {"category_code": "TAXI", "expense_date": "2026-11-02", "amount": "9"},
    ),
    ("PATCH", "/claims/{claim_id}/lines/{line_id}"): ("owner", {"amount": "8.00"}),
    ("DELETE", "/claims/{claim_id}/lines/{line_id}"): ("owner", None),
    ("PUT", "/claims/{claim_id}/lines/{line_id}/invoice"): ("owner", "own_attachment"),
    ("DELETE", "/claims/{claim_id}/lines/{line_id}/invoice"): ("owner", None),
    ("POST", "/claims/{claim_id}/attachments"): ("owner", "upload"),
    ("GET", "/claims/{claim_id}/attachments/{attachment_id}"): ("read", None),
    ("GET", "/claims/{claim_id}/attachments/{attachment_id}/content"): ("read", None),
    ("DELETE", "/claims/{claim_id}/attachments/{attachment_id}"): ("owner", None),
    ("POST", "/claims/{claim_id}/submit"): ("owner", None),
    ("POST", "/claims/{claim_id}/withdraw"): ("owner", None),
    ("POST", "/claims/{claim_id}/cancel"): ("owner", None),
    ("GET", "/claims/{claim_id}/history"): ("read", None),
    ("GET", "/claims/{claim_id}/route"): ("read", None),
    ("POST", "/claims/{claim_id}/comments"): ("takes_part", {"comment": "a note"}),
    ("POST", "/claims/{claim_id}/urge"): ("owner", None),
    ("POST", "/claims/{claim_id}/mark-paid"): ("pay", None),
    ("POST", "/claims/{claim_id}/payments"): ("pay", None),
    ("GET", "/claims/{claim_id}/payments"): ("read", None),
    ("POST", "/payments/{payment_id}/succeed"): ("right", Right.CLAIM_PAY),
    ("POST", "/payments/{payment_id}/fail"): ("right", Right.CLAIM_PAY, {"reason": "bounced"}),
    ("GET", "/approval-tasks"): ("signed_in", None),
    ("POST", "/approval-tasks/{task_id}/approve"): ("task", {}),
    ("POST", "/approval-tasks/{task_id}/reject"): ("task", {"comment": "no"}),
    ("POST", "/approval-tasks/{task_id}/return"): ("task", {"comment": "fix it"}),
    ("POST", "/approval-tasks/{task_id}/transfer"): ("task", "transfer"),
    ("POST", "/approval-tasks/{task_id}/add-signer"): ("task", "add_signer"),
    ("POST", "/approval-tasks/{task_id}/reassign"): ("right", Right.ORG_ADMIN, "transfer"),
    ("GET", "/approval-flows/schema"): ("public", None),
    ("GET", "/approval-flows"): ("right", Right.ORG_ADMIN),
    ("POST", "/approval-flows"): ("right", Right.ORG_ADMIN),
    ("GET", "/approval-flows/{flow_id}"): ("right", Right.ORG_ADMIN),
    ("PUT", "/approval-flows/{flow_id}/draft"): ("right", Right.ORG_ADMIN),
    ("POST", "/approval-flows/{flow_id}/publish"): ("right", Right.ORG_ADMIN),
    ("POST", "/approval-flows/simulate"): ("right", Right.ORG_ADMIN),
    ("GET", "/approval-delegations"): ("self", None),
    ("POST", "/approval-delegations"): ("self", None),
    ("DELETE", "/approval-delegations/{delegation_id}"): ("self", None),
    ("GET", "/policy-standards"): ("right", Right.POLICY_MANAGE),
    ("POST", "/policy-standards"): ("right", Right.POLICY_MANAGE, {"name": "2027"}),
    ("GET", "/policy-standards/current"): ("signed_in", None),
    ("GET", "/policy-standards/{standard_id}"): ("right", Right.POLICY_MANAGE),
    ("PATCH", "/policy-standards/{standard_id}"): ("right", Right.POLICY_MANAGE),
    ("POST", "/policy-standards/{standard_id}/publish"): ("right", Right.POLICY_MANAGE),
    ("POST", "/policy-standards/{standard_id}/dry-run"): (
        "right",
        Right.POLICY_MANAGE,
        {"period_from": "2026-01-01", "period_to": "2026-01-31"},
    ),
    ("GET", "/invoices"): ("right", Right.INVOICE_MANAGE),
    ("GET", "/invoices/{invoice_id}"): ("right", Right.INVOICE_MANAGE),
    ("POST", "/invoices/{invoice_id}/void"): ("right", Right.INVOICE_MANAGE, {"reason": "x"}),
    ("GET", "/company"): ("right", Right.ORG_VIEW),
    ("GET", "/departments"): ("right", Right.ORG_VIEW),
    ("GET", "/cost-centers"): ("right", Right.ORG_VIEW),
    ("GET", "/employees"): ("right", Right.ORG_VIEW),
    ("GET", "/expense-categories"): ("right", Right.ORG_VIEW),
    ("GET", "/currencies"): ("signed_in", None),
    ("GET", "/exchange-rates"): ("right", Right.ORG_VIEW),
    ("GET", "/connector-kinds"): ("signed_in", None),  # the installed kinds: no company data
    ("POST", "/connectors"): (
        "right",
        Right.INTEGRATIONS_ADMIN,
        {"kind": "webhook", "name": "x", "config": {}},
    ),
    ("GET", "/connectors"): ("right", Right.INTEGRATIONS_ADMIN),
    ("GET", "/connectors/{connector_id}"): ("right", Right.INTEGRATIONS_ADMIN),
    ("PATCH", "/connectors/{connector_id}"): ("right", Right.INTEGRATIONS_ADMIN),
    ("DELETE", "/connectors/{connector_id}"): ("right", Right.INTEGRATIONS_ADMIN),
    ("POST", "/connectors/{connector_id}/test"): ("right", Right.INTEGRATIONS_ADMIN),
    ("GET", "/connectors/{connector_id}/deliveries"): ("right", Right.INTEGRATIONS_ADMIN),
    ("POST", "/connectors/{connector_id}/replay"): ("right", Right.INTEGRATIONS_ADMIN),
    ("GET", "/integrations/monitor"): ("right", Right.INTEGRATIONS_ADMIN),
    ("POST", "/integrations/{connector_id}/events"): ("public", None),
    # Feishu: pushes and quick-approval clicks are verified by their signature and token,
    # the sign-in routes are the OAuth redirects before anyone is signed in.
    ("POST", "/integrations/{connector_id}/feishu/events"): ("public", None),
    ("POST", "/integrations/{connector_id}/feishu/quick"): ("public", None),
    ("GET", "/integrations/{connector_id}/feishu/login"): ("public", None),
    ("GET", "/integrations/{connector_id}/feishu/entry"): ("public", None),
    ("GET", "/integrations/{connector_id}/feishu/callback"): ("public", None),
    ("GET", "/event-types"): ("public", None),
    ("GET", "/event-types/{event_type}"): ("public", None),
    ("GET", "/roles"): ("signed_in", None),
    ("GET", "/role-assignments"): ("right", Right.USER_ADMIN),
    ("POST", "/role-assignments"): (
        "right",
        Right.USER_ADMIN,
        {"user_id": NOBODY, "role": "cashier"},
    ),
    ("DELETE", "/role-assignments/{assignment_id}"): ("right", Right.USER_ADMIN),
    ("POST", "/users/{user_id}/totp/reset"): ("right", Right.USER_ADMIN),
    ("POST", "/users"): ("right", Right.USER_ADMIN, {"employee_id": NOBODY, "username": "nobody"}),
    ("POST", "/users/{user_id}/password-reset"): ("right", Right.USER_ADMIN),
    ("POST", "/users/{user_id}/deactivate"): ("right", Right.USER_ADMIN),
    ("GET", "/identity-settings"): ("right", Right.USER_ADMIN),
    ("GET", "/audit-records"): ("right", Right.AUDIT_READ),
    ("GET", "/audit-records/verification"): ("right", Right.AUDIT_READ),
    ("PUT", "/identity-settings"): (
        "right",
        Right.USER_ADMIN,
        {"leaver_fallback_employee_id": None},
    ),
    ("GET", "/service-users"): ("right", Right.SERVICE_ACCOUNTS),
    ("POST", "/service-users"): (
        "right",
        Right.SERVICE_ACCOUNTS,
        {"username": "svc", "display_name": "s"},
    ),
    ("POST", "/service-users/{user_id}/tokens"): (
        "right",
        Right.SERVICE_ACCOUNTS,
        {"name": "t", "scopes": ["scim"]},
    ),
    ("GET", "/service-users/{user_id}/tokens"): ("right", Right.SERVICE_ACCOUNTS),
    ("DELETE", "/service-users/{user_id}/tokens/{token_id}"): ("right", Right.SERVICE_ACCOUNTS),
    ("GET", "/claims/{claim_id}/budget"): ("read", None),
    ("GET", "/claims/{claim_id}/offsets"): ("read", None),
    ("PUT", "/claims/{claim_id}/offsets"): ("owner", {"offsets": []}),
    ("POST", "/advances"): ("signed_in", None),
    ("POST", "/payments/{payment_id}/resend"): ("right", Right.CLAIM_PAY),
    ("POST", "/payments/{payment_id}/query"): ("right", Right.CLAIM_PAY),
    ("POST", "/payment-batches"): ("right", Right.PAYMENT_BATCH, {"claim_ids": [NOBODY]}),
    ("GET", "/payment-batches"): ("right", Right.PAYMENT_BATCH),
    ("GET", "/payment-batches/{batch_id}"): ("right", Right.PAYMENT_BATCH),
    ("GET", "/payment-batches/{batch_id}/bank-file"): ("right", Right.PAYMENT_BATCH),
    ("POST", "/payment-batches/{batch_id}/results"): (
        "right",
        Right.PAYMENT_BATCH,
        {"results": [{"reference": "P-1", "status": "succeeded"}]},
    ),
    ("POST", "/budgets"): (
        "right",
        Right.BUDGET_MANAGE,
        {"code": "X", "name": "x", "period_kind": "month", "period": "2026-01", "amount": "1"},
    ),
    ("GET", "/budgets/export"): ("right", Right.BUDGET_VIEW),
    ("POST", "/budgets/import"): ("right", Right.BUDGET_MANAGE, RAW),
    ("GET", "/vouchers"): ("right", Right.VOUCHER_EXPORT),
    ("GET", "/vouchers/export"): ("right", Right.VOUCHER_EXPORT, Params(format="kingdee")),
    ("GET", "/account-mappings"): ("right", Right.VOUCHER_EXPORT),
    ("PUT", "/account-mappings"): (
        "right",
        Right.VOUCHER_EXPORT,
        {"key": "bank", "account": "1002"},
    ),
    ("GET", "/identity-providers"): ("right", Right.ORG_ADMIN),
    ("POST", "/identity-providers"): (
        "right",
        Right.ORG_ADMIN,
        {"key": "corp", "display_name": "Corp", "issuer": "https://idp.example", "client_id": "c"},
    ),
    ("GET", "/identity-providers/{provider_id}"): ("right", Right.ORG_ADMIN),
    ("PATCH", "/identity-providers/{provider_id}"): ("right", Right.ORG_ADMIN, {"jit": False}),
    ("DELETE", "/identity-providers/{provider_id}"): ("right", Right.ORG_ADMIN),
    ("POST", "/identity-providers/{provider_id}/test"): ("right", Right.ORG_ADMIN),
    ("POST", "/me/password"): ("self", None),
    ("GET", "/me/totp"): ("self", None),
    ("POST", "/me/totp"): ("self", None),
    ("POST", "/me/totp/confirm"): ("self", None),
    ("POST", "/me/totp/disable"): ("self", None),
    ("POST", "/me/totp/recovery-codes"): ("self", None),
    **FINANCE_RULES,
}
ACTORS = [
    "claimant",
    "peer",
    "manager",
    "boss",
    "outsider",
    "finance",
    "cashier",
    "admin",
    "auditor",
    "budget_owner",
    "sales_finance",
    "sales_cashier",
    "integrator",
    "foreigner",
    "foreign_finance",
]
RELATIONS = ["own", "same_team", "other_department", "other_company"]
# A claim of each relation, relative to the actor: (owner for actors in RD, SALES, FIN, ...).
TEAMMATE = {
    "claimant": "peer",
    "peer": "claimant",
    "manager": "claimant",
    "outsider": "budget_owner",
    "budget_owner": "outsider",
    "finance": "cashier",
    "cashier": "finance",
    "sales_finance": "finance",
    "sales_cashier": "finance",
    "boss": "admin",
    "admin": "boss",
    "auditor": "boss",
    "foreigner": "foreign_finance",
    "foreign_finance": "foreigner",
}


@pytest.fixture(scope="module")
def aw(db_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AccessWorld]:
    settings = Settings(var_dir=tmp_path_factory.mktemp("matrix"), secret_key="x" * 40)
    with (
        rolled_back_database(db_engine) as database,
        TestClient(create_app(settings, database)) as client,
    ):
        aw = build(database, client)
        build_finance(aw)
        yield aw


def _target(aw: AccessWorld, who: str, relation: str) -> str | None:
    """The owner of the claim that stands in `relation` to `who` (None: no such claim)."""
    person = aw.world[who]
    if relation == "own":
        return who if person.employee is not None else None
    if relation == "same_team":
        return TEAMMATE.get(who)
    b_side = who in ("foreigner", "foreign_finance")
    if relation == "other_department":
        return "foreign_finance" if b_side else ("outsider" if who != "outsider" else "claimant")
    return "claimant" if b_side else "foreigner"


def _request(aw: AccessWorld, method: str, path: str, who: str, owner: str | None, arg: Any) -> int:
    return _call(aw, method, path, who, owner, arg)[0]


def _call(
    aw: AccessWorld, method: str, path: str, who: str, owner: str | None, arg: Any
) -> tuple[int, Any]:
    claim = aw.claims[owner] if owner else None
    url = V1 + path.format(
        claim_id=claim["id"] if claim else NOBODY,
        line_id=aw.lines[owner] if owner else NOBODY,
        attachment_id=aw.attachments[owner] if owner else NOBODY,
        task_id=aw.task_id,
        token_id=NOBODY,
        payment_id=NOBODY,
        flow_id=NOBODY,
        standard_id=NOBODY,
        invoice_id=NOBODY,
        connector_id=NOBODY,
        event_type="claim.paid",
        delegation_id=NOBODY,
        assignment_id=NOBODY,
        user_id=NOBODY,
        budget_id=aw.budgets.get("RD-2026", NOBODY),
        advance_id=aw.advance.get("id", NOBODY),
        employee_id=str(aw.world[owner].employee.id) if owner else NOBODY,  # type: ignore[union-attr]
        batch_id=NOBODY,
        provider_id=NOBODY,
    )
    kwargs: dict[str, Any] = {"headers": aw.headers(who)}
    if arg == "upload":
        kwargs["files"] = {"file": ("r.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, "image/png")}
    elif arg == "own_attachment":
        kwargs["json"] = {"attachment_id": aw.attachments[owner] if owner else NOBODY}
    elif arg == "transfer":
        kwargs["json"] = {"to_employee_id": str(aw.world["peer"].employee.id)}  # type: ignore[union-attr]
    elif arg == "add_signer":
        kwargs["json"] = {"employee_id": str(aw.world["boss"].employee.id)}  # type: ignore[union-attr]
    elif arg == "account":
        kwargs["json"] = account_body(99, PASSWORD)
    elif isinstance(arg, Params):
        kwargs["params"] = dict(arg)
    elif isinstance(arg, bytes):
        kwargs["content"] = arg
    elif isinstance(arg, dict):
        kwargs["json"] = arg
    with aw.undone():
        response = aw.client.request(method, url, **kwargs)
    is_json = response.content and response.headers.get("content-type", "").endswith("json")
    body = response.json() if is_json else None
    return response.status_code, body


def _expected_claim_cell(aw: AccessWorld, rule: str, who: str, owner: str) -> set[int] | None:
    """The statuses allowed for a claim endpoint; None means "allowed, any non-denial"."""
    claim = aw.claims[owner]
    visible = may_see(aw, who, claim)
    if not visible:
        return {404}
    if rule == "read":
        return {200}
    if rule == "visible":
        return None
    if rule == "takes_part":  # an auditor reads but does not comment
        return None if may_take_part(aw, who, claim) else {403}
    if rule == "owner":
        return None if owner == who else DENIED
    if rule == "pay":
        if owner == who or not right_reaches(aw.world, who, Right.CLAIM_PAY, claim):
            return {403}
        return {409}  # every claim here is a draft or being approved: not payable yet
    raise AssertionError(rule)


def test_every_endpoint_has_a_rule(aw: AccessWorld) -> None:
    spec = aw.client.get("/openapi.json").json()
    listed = {
        (m.upper(), p.removeprefix(V1))
        for p, ops in spec["paths"].items()
        for m in ops
        if p.startswith(V1 + "/")
    }
    assert listed == set(RULES)


CLAIM_RULES = sorted(
    k
    for k, (rule, *_a) in RULES.items()
    if rule in ("read", "owner", "visible", "takes_part", "pay")
)


@pytest.mark.parametrize("endpoint", CLAIM_RULES, ids=lambda e: f"{e[0]} {e[1]}")
def test_claim_endpoints_by_role_and_relation(aw: AccessWorld, endpoint: tuple[str, str]) -> None:
    method, path = endpoint
    rule, arg = RULES[endpoint][:2]
    wrong: list[tuple[str, str, int, object]] = []
    for who in ACTORS:
        for relation in RELATIONS:
            owner = _target(aw, who, relation)
            if owner is None or owner not in aw.claims:
                continue
            status = _request(aw, method, path, who, owner, arg)
            expected = _expected_claim_cell(aw, rule, who, owner)
            ok = status not in DENIED | {401} if expected is None else status in expected
            if not ok:
                wrong.append((who, relation, status, expected))
    assert wrong == [], wrong


FUNCTION_RULES = sorted(k for k, (rule, *_a) in RULES.items() if rule == "right")


@pytest.mark.parametrize("endpoint", FUNCTION_RULES, ids=lambda e: f"{e[0]} {e[1]}")
def test_function_endpoints_by_role(aw: AccessWorld, endpoint: tuple[str, str]) -> None:
    """Without the right: 403/404 and never 2xx. With it: never 401/403."""
    method, path = endpoint
    _rule, right, *body = RULES[endpoint]
    arg = body[0] if body else ({} if method != "GET" else None)
    wrong = []
    for who in ACTORS:
        status, payload = _call(aw, method, path, who, None, arg)
        if holds(aw.world, who, right):
            if status in (401, 403):
                wrong.append((who, status, "has the right"))
        elif status not in DENIED and not (status == 200 and payload == []):
            wrong.append((who, status, "lacks the right"))  # a list may answer empty
    assert wrong == [], wrong


TASK_RULES = sorted(k for k, (rule, *_a) in RULES.items() if rule == "task")


@pytest.mark.parametrize("endpoint", TASK_RULES, ids=lambda e: f"{e[0]} {e[1]}")
def test_task_endpoints_only_for_the_assignee(aw: AccessWorld, endpoint: tuple[str, str]) -> None:
    method, path = endpoint
    arg = RULES[endpoint][1]
    got = {who: _request(aw, method, path, who, None, arg) for who in ACTORS}
    assert 200 <= got.pop(aw.task_holder) < 300
    assert {who: s for who, s in got.items() if s not in DENIED} == {}


@pytest.mark.parametrize("traveller", sorted(POOL_TRAVELLERS))
def test_pool_tasks_reach_only_the_grants_whose_scope_covers_the_claim(
    aw: AccessWorld, traveller: str
) -> None:
    """A finance pool task is in the inbox of, and decidable by, exactly the finance
    grants that reach the claim: company-wide ones, and SALES-scoped for a SALES claim."""
    task_id, claim = aw.pool_tasks[traveller], aw.claims[traveller]
    expected = {who for who in ACTORS if pool_reaches(aw.world, who, "finance", claim)}
    inbox = {who for who in ACTORS if any(t["id"] == task_id for t in _inbox(aw, who))}
    assert inbox == expected
    decided = set()
    for who in ACTORS:
        with aw.undone():
            status = aw.client.post(
                f"{V1}/approval-tasks/{task_id}/approve", json={}, headers=aw.headers(who)
            ).status_code
        if 200 <= status < 300:
            decided.add(who)
        else:
            assert status in DENIED, (who, status)
    assert decided == expected
    assert "finance" in expected and "foreign_finance" not in expected
    assert ("sales_finance" in expected) == (traveller == "sales_traveller")


def _inbox(aw: AccessWorld, who: str) -> list[dict[str, Any]]:
    got = aw.client.get(f"{V1}/approval-tasks", headers=aw.headers(who))
    assert got.status_code == 200, (who, got.text)
    return list(got.json())


def test_anonymous_gets_401_everywhere_but_public(aw: AccessWorld) -> None:
    wrong = []
    for (method, path), (rule, *_rest) in RULES.items():
        if rule == "public":
            continue
        url = V1 + path.replace("{", "").replace("}", "")
        url = "/".join(NOBODY if part.endswith("_id") else part for part in url.split("/"))
        with aw.undone():
            status = aw.client.request(method, url).status_code
        if status != 401:
            wrong.append((method, path, status))
    assert wrong == [], wrong


def test_lists_return_exactly_the_visible_claims(aw: AccessWorld) -> None:
    for who in ACTORS:
        got = aw.client.get(f"{V1}/claims", params={"limit": 100}, headers=aw.headers(who))
        assert got.status_code == 200
        ids = {c["id"] for c in got.json()["items"]}
        expected = {c["id"] for c in aw.claims.values() if may_see(aw, who, c)}
        assert ids == expected, who
        assert all(owner_of(aw.world, aw.claims[o]) for o in aw.claims)


def test_oracle_is_not_trivial(aw: AccessWorld) -> None:
    """The matrix above is only as good as its oracle: it must both grant and refuse."""
    counts = {True: 0, False: 0}
    for who in ACTORS:
        for claim in aw.claims.values():
            counts[may_see(aw, who, claim)] += 1
    assert counts[True] > 20 and counts[False] > 50
    assert uuid.UUID(aw.task_id)


# ---- finance (access_finance.py) ----------------------------------------------------------------


def _rules(kind: str) -> list[tuple[str, str]]:
    return sorted(k for k, (rule, *_a) in RULES.items() if rule == kind)


@pytest.mark.parametrize("endpoint", _rules("budget"), ids=lambda e: f"{e[0]} {e[1]}")
def test_budget_endpoints_by_role(aw: AccessWorld, endpoint: tuple[str, str]) -> None:
    """The owned budget of company A: 200 with the right (or, to read, as its owner), else 404."""
    method, path = endpoint
    _rule, right, *body = RULES[endpoint]
    got = {who: _request(aw, method, path, who, None, body[0] if body else None) for who in ACTORS}
    want = {who: 200 if expected_budget(aw, who, right) else 404 for who in ACTORS}
    assert got == want


def test_budget_list_by_role(aw: AccessWorld) -> None:
    for who in ACTORS:
        status, payload = _call(aw, "GET", "/budgets", who, None, None)
        assert status == 200, who
        assert {b["id"] for b in payload} == expected_budget_list(aw, who), who


@pytest.mark.parametrize("endpoint", _rules("advance"), ids=lambda e: f"{e[0]} {e[1]}")
def test_advance_endpoints_by_role(aw: AccessWorld, endpoint: tuple[str, str]) -> None:
    method, path = endpoint
    _rule, right, *body = RULES[endpoint]
    wrong = []
    for who in ACTORS:
        status = _request(aw, method, path, who, None, body[0] if body else None)
        expected = expected_advance(aw, who, right)
        ok = (
            (status >= 400 and status not in DENIED | {401})
            if expected is None
            else (status in expected)
        )
        if not ok:
            wrong.append((who, status, expected))
    assert wrong == [], wrong


@pytest.mark.parametrize("endpoint", _rules("employee"), ids=lambda e: f"{e[0]} {e[1]}")
def test_employee_endpoints_by_role_and_relation(
    aw: AccessWorld, endpoint: tuple[str, str]
) -> None:
    """Bank accounts (masked unless bank_account:reveal) and advances, per relation."""
    method, path = endpoint
    kind = RULES[endpoint][1]
    wrong: list[tuple[str, str, int, object]] = []
    for who in ACTORS:
        for relation in RELATIONS:
            owner = _target(aw, who, relation)
            if owner is None or aw.world[owner].employee is None:
                continue
            arg = "account" if kind == "bank_write" else None
            status, body = _call(aw, method, path, who, owner, arg)
            if kind == "advances":
                seen = advances_seen(aw, who, owner)
                same = str(aw.world[who].user.company_id) == str(aw.world[owner].user.company_id)
                ok = (status == 200 and {a["id"] for a in body["advances"]} == seen) or (
                    status == 404 and not seen and not same
                )
                expected: object = seen
            elif expected_employee(aw, kind, who, owner):
                company = str(aw.world[owner].user.company_id)
                reveal = holds_in(aw.world, who, Right.BANK_ACCOUNT_REVEAL, company)
                ok = status == 200 and body["masked"] is (not reveal)
                expected = {"status": 200, "masked": not reveal}
            else:
                ok = status in DENIED
                expected = DENIED
            if not ok:
                wrong.append((who, relation, status, expected))
    assert wrong == [], wrong


def test_every_endpoint_resolves_to_its_own_scope() -> None:
    """Literal paths win over parameters (/budgets/export is not /budgets/{budget_id})."""
    for (method, path), scope in ENDPOINT_SCOPES.items():
        assert scope is None or scope in SCOPES, (method, path)
        concrete = re.sub(r"\{[^/]+\}", NOBODY, path)
        assert required_scope(method, concrete) == (True, scope), (method, path)


def test_finance_and_profile_scopes_narrow_tokens(aw: AccessWorld) -> None:
    def token(who: str, scopes: list[str]) -> dict[str, str]:
        made = aw.client.post(
            f"{V1}/tokens", json={"name": "s", "scopes": scopes}, headers=aw.headers(who)
        )
        assert made.status_code == 201, made.text
        return {"Authorization": f"Bearer {made.json()['access_token']}"}

    budget = f"{V1}/budgets/{aw.budgets['RD-2026']}"
    with aw.undone():
        reader = token("finance", ["budgets:read"])
        assert aw.client.get(budget, headers=reader).status_code == 200
        refused = aw.client.patch(budget, json={"name": "x"}, headers=reader)
        assert (refused.status_code, refused.json()["required"]) == (403, "budgets:manage")
        claims = token("claimant", ["claims:read", "claims:write"])
        for method, path in (("GET", "/me/totp"), ("POST", "/me/password")):
            refused = aw.client.request(method, V1 + path, json={}, headers=claims)
            assert (refused.status_code, refused.json()["required"]) == (403, "profile")
        profile = token("claimant", ["profile"])
        assert aw.client.get(f"{V1}/me/totp", headers=profile).status_code == 200
        assert aw.client.get(f"{V1}/vouchers", headers=profile).status_code == 403
