"""The access matrix: every role x every endpoint x object relation, from the permission table.

RULES (access_rules.py, access_finance.py) names how each endpoint is authorised; the
expected status of every cell comes from identity.permissions (ROLE_RIGHTS, data
scopes) through the oracle in access_world.py, never from a hand-written list of
answers. Every route of the application is classified (an API rule, a page rule, or
public with a reason), or test_every_route_is_classified fails. Writes run in a
savepoint that is rolled back, so one world serves the whole module.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from baoxiao.app import create_app
from baoxiao.identity.deps import SESSION_COOKIE
from baoxiao.identity.permissions import Right, rights_of
from baoxiao.identity.scopes import ENDPOINT_SCOPES, SCOPES, required_scope
from baoxiao.models import ApiToken, ApprovalTask
from baoxiao.settings import Settings
from tests.api.access_client import call
from tests.api.access_expect import (
    SIDES,
    cells,
    expected_claim_cell,
    expected_function,
    expected_page,
    refusal,
    related,
    sides,
    someone_elses,
)
from tests.api.access_finance import (
    FINANCE_RULES,
    build_finance,
    expected_advance,
    expected_advances,
    expected_bank_account,
    expected_budget,
    expected_budget_list,
)
from tests.api.access_lists import listed_ids, visible_ids
from tests.api.access_objects import seed
from tests.api.access_pages import (
    PAGE_ROUTES,
    PUBLIC_ROUTES,
    SCIM_PREFIX,
    Browser,
    open_page,
    sign_in_browsers,
)
from tests.api.access_rules import API_RULES, NOBODY, Rule
from tests.api.access_world import (
    ACTORS,
    POOL_TRAVELLERS,
    V1,
    AccessWorld,
    build,
    holds,
    holds_in,
    may_see,
    pool_reaches,
    refresh_claims,
    right_reaches,
)
from tests.support.db import rolled_back_database

RULES: dict[tuple[str, str], Rule] = {**API_RULES, **FINANCE_RULES}


@pytest.fixture(scope="module")
def aw(db_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AccessWorld]:
    settings = Settings(var_dir=tmp_path_factory.mktemp("matrix"), secret_key="x" * 40)
    with (
        rolled_back_database(db_engine) as database,
        TestClient(create_app(settings, database)) as client,
    ):
        aw = build(database, client)
        build_finance(aw)
        seed(aw)
        refresh_claims(aw)
        yield aw


def _rules(*kinds: str) -> list[tuple[str, str]]:
    return sorted(k for k, rule in RULES.items() if rule.kind in kinds)


def _ids(endpoint: tuple[str, str]) -> str:
    return f"{endpoint[0]} {endpoint[1]}"


# ---- every route is classified -------------------------------------------------------------------


def _app_routes(app: Any) -> set[tuple[str, str]]:
    """(method, path) of every route the application serves, mounts as (MOUNT, path)."""
    out = set()
    for route in iter_route_contexts(app.routes):
        methods = route.methods or {"MOUNT"}
        out |= {(m, str(route.path)) for m in methods if m != "HEAD"}
    return out


def test_every_route_is_classified(aw: AccessWorld) -> None:
    """Every route is an API rule, a page rule, a SCIM route or public with a reason."""
    served = _app_routes(aw.client.app)
    api = {(m, V1 + p) for m, p in RULES}
    scim = {r for r in served if r[1].startswith(SCIM_PREFIX)}
    unclassified = served - api - set(PAGE_ROUTES) - set(PUBLIC_ROUTES) - scim
    assert unclassified == set()
    gone = (api | set(PAGE_ROUTES) | set(PUBLIC_ROUTES)) - served
    assert gone == set()
    assert all(reason.strip() for reason in PUBLIC_ROUTES.values())


# Signature-authenticated callbacks and sign-in redirects: they never see a bearer token.
NO_TOKEN = {
    ("POST", "/integrations/{connector_id}/feishu/events"): "Feishu push, signed by Feishu",
    ("POST", "/integrations/{connector_id}/feishu/quick"): "a card click, signed by Feishu",
    ("GET", "/integrations/{connector_id}/feishu/login"): "OAuth redirect before sign-in",
    ("GET", "/integrations/{connector_id}/feishu/entry"): "the app's entry, before sign-in",
    ("GET", "/integrations/{connector_id}/feishu/callback"): "OAuth redirect before sign-in",
}


def test_every_api_route_has_a_token_scope(aw: AccessWorld) -> None:
    """identity/scopes.py: a route missing from ENDPOINT_SCOPES is refused to every scoped
    token; so each /api/v1 route is listed there, or takes no token at all (NO_TOKEN)."""
    served = {(m, p) for m, p in _app_routes(aw.client.app) if p.startswith(V1 + "/")}
    scoped = set(ENDPOINT_SCOPES)
    no_token = {(m, V1 + p) for m, p in NO_TOKEN}
    assert served - scoped - no_token == set()
    assert scoped & no_token == set()
    assert (scoped | no_token) - served == set()
    for method, path in no_token:
        assert RULES[(method, path.removeprefix(V1))].kind == "public"


def test_every_endpoint_resolves_to_its_own_scope() -> None:
    """Literal paths win over parameters (/budgets/export is not /budgets/{budget_id})."""
    for (method, path), scope in ENDPOINT_SCOPES.items():
        assert scope is None or scope in SCOPES, (method, path)
        concrete = re.sub(r"\{[^/]+\}", NOBODY, path)
        assert required_scope(method, concrete) == (True, scope), (method, path)


# ---- claims --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "endpoint", _rules("read", "owner", "visible", "takes_part", "pay"), ids=_ids
)
def test_claim_endpoints_by_role_and_relation(aw: AccessWorld, endpoint: tuple[str, str]) -> None:
    method, path = endpoint
    rule = RULES[endpoint]
    wrong = []
    for who in ACTORS:
        for relation, owner in related(aw, who):
            status, _body = call(aw, method, path, who, owner, rule.body)
            expected = expected_claim_cell(aw, rule, who, owner)
            if status != expected:
                wrong.append((who, relation, status, expected))
    assert wrong == [], wrong


@pytest.mark.parametrize("endpoint", _rules("payment"), ids=_ids)
def test_payment_endpoints_by_role_and_company(aw: AccessWorld, endpoint: tuple[str, str]) -> None:
    """A pending payment of each company: the payers its claim's scope reaches (never its
    claimant) act on it; its claim's other readers are refused; everyone else gets 404."""
    method, path = endpoint
    rule = RULES[endpoint]
    wrong = []
    for who in ACTORS:
        for side in SIDES:
            claim = aw.claims[_payment_claim(aw, side)]
            if not may_see(aw, who, claim):
                expected = 404
            elif right_reaches(aw.world, who, Right.CLAIM_PAY, claim):
                expected = rule.ok
            else:
                expected = 403
            status, _body = call(aw, method, path, who, None, rule.body, on="payment", side=side)
            if status != expected:
                wrong.append((who, side, status, expected))
    assert wrong == [], wrong


def _payment_claim(aw: AccessWorld, side: str) -> str:
    claim_id = aw.objects["payment"][side]["claim_id"]
    return next(label for label, c in aw.claims.items() if c["id"] == claim_id)


def test_lists_return_exactly_the_visible_claims(aw: AccessWorld) -> None:
    for who in ACTORS:
        got = aw.client.get(f"{V1}/claims", params={"limit": 100}, headers=aw.headers(who))
        assert got.status_code == 200
        ids = {c["id"] for c in got.json()["items"]}
        expected = {c["id"] for c in aw.claims.values() if may_see(aw, who, c)}
        assert ids == expected, who


def test_oracle_is_not_trivial(aw: AccessWorld) -> None:
    """The matrix is only as good as its oracle: it must both grant and refuse, at every
    data scope: a self-scoped cashier sees only their own claim, an all-scoped auditor
    every company's, a department-scoped reviewer only their subtree's."""
    seen = {who: {o for o, c in aw.claims.items() if may_see(aw, who, c)} for who in ACTORS}
    assert seen["self_cashier"] == {"self_cashier"}
    assert {"foreigner", "foreign_finance", "claimant"} <= seen["global_auditor"]
    assert "foreigner" not in seen["auditor"] and "claimant" in seen["auditor"]
    assert "sales_traveller" in seen["sales_finance"] and "claimant" not in seen["sales_finance"]
    assert seen["integrator"] == set()  # no employee, no claim right
    counts = [len(s) for s in seen.values()]
    assert max(counts) == len(aw.claims) and sum(counts) > 60


# ---- company functions ---------------------------------------------------------------------------


FUNCTIONS = sorted(k for k, r in RULES.items() if r.kind == "right" and r.lists is None)


@pytest.mark.parametrize("endpoint", FUNCTIONS, ids=_ids)
def test_function_endpoints_by_role_and_company(aw: AccessWorld, endpoint: tuple[str, str]) -> None:
    """With the right: the exact answer of a valid request, on the caller's company's object.
    Without it: `refused`. Another company's object: 404, though the caller holds the right."""
    method, path = endpoint
    rule = RULES[endpoint]
    wrong = []
    for who in ACTORS:
        for side in sides(aw, rule, who):
            status, _body = call(aw, method, path, who, None, rule.body, on=rule.on, side=side)
            expected = expected_function(aw, rule, who, side)
            if status != expected:
                wrong.append((who, side, status, expected))
    assert wrong == [], wrong


LISTS = sorted(k for k, r in RULES.items() if r.kind == "right" and r.lists is not None)


@pytest.mark.parametrize("endpoint", LISTS, ids=_ids)
def test_lists_return_exactly_what_the_right_reaches(
    aw: AccessWorld, endpoint: tuple[str, str]
) -> None:
    """A holder gets exactly the rows of its companies (both companies hold some); a caller
    without the right gets 403 or an empty list, never a row."""
    method, path = endpoint
    rule = RULES[endpoint]
    assert rule.lists is not None and rule.right is not None
    for who in ACTORS:
        status, body = call(aw, method, path, who, None, rule.body)
        expected = visible_ids(aw, rule.lists, rule.right, who)
        if holds(aw.world, who, rule.right):
            assert status == 200, (who, status)
            assert expected, (who, "the world holds nothing to list")
            assert listed_ids(rule.lists, body) == expected, who
        else:
            assert not expected
            assert status == 403 or (status == 200 and body == []), (who, status, body)


# ---- the caller's own things, and anyone signed in ----------------------------------------------


# One's own account: no right and no relation takes part, so one account of each kind
# asks (an employee, a system account without one, someone of company B).
ACCOUNT_KINDS = ("claimant", "integrator", "foreigner")
OWN_THINGS = [e for e in _rules("self", "signed_in") if RULES[e].on is None]


@pytest.mark.parametrize("endpoint", OWN_THINGS, ids=_ids)
def test_own_and_signed_in_endpoints_answer_everyone(
    aw: AccessWorld, endpoint: tuple[str, str]
) -> None:
    """Anyone signed in: every actor gets `ok` (lists and the inbox are built from their
    grants); their own account (`self`): each kind of account gets `ok`."""
    method, path = endpoint
    rule = RULES[endpoint]
    wrong = []
    for who in ACTORS if rule.kind == "signed_in" else ACCOUNT_KINDS:
        status, _body = call(aw, method, path, who, None, rule.body)
        no_employee = aw.world[who].employee is None and rule.no_employee is not None
        expected = rule.no_employee if no_employee else rule.ok
        if status != expected:
            wrong.append((who, status, expected))
    assert wrong == [], wrong


def _token_of(aw: AccessWorld, who: str) -> str:
    with aw.db.transaction() as session:
        user_id = aw.world[who].user.id
        return str(session.scalars(select(ApiToken.id).where(ApiToken.user_id == user_id)).one())


def test_tokens_and_delegations_are_their_owners(aw: AccessWorld) -> None:
    """One's own token is revocable by oneself only; a delegation by its delegator or an
    org admin of its company; anyone else gets 404 (existence does not leak)."""
    wrong = []
    for who in ACTORS:
        for owner in (who, "peer" if who == "claimant" else "claimant"):
            status, _b = call(aw, "DELETE", f"/tokens/{_token_of(aw, owner)}", who)
            if status != (204 if owner == who else 404):
                wrong.append((who, "token of", owner, status))
        for side in SIDES:
            delegation = aw.objects["delegation"][side]
            allowed = delegation["delegator"] == who or holds_in(
                aw.world, who, Right.ORG_ADMIN, aw.company_id(side)
            )
            rule = RULES[("DELETE", "/approval-delegations/{delegation_id}")]
            status, _b = call(
                aw,
                "DELETE",
                "/approval-delegations/{delegation_id}",
                who,
                None,
                on="delegation",
                side=side,
            )
            if status != (rule.ok if allowed else 404):
                wrong.append((who, "delegation", side, status))
    assert wrong == [], wrong


# ---- approval tasks ------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", _rules("task"), ids=_ids)
def test_task_endpoints_only_for_the_assignee(aw: AccessWorld, endpoint: tuple[str, str]) -> None:
    method, path = endpoint
    rule = RULES[endpoint]
    got = {who: call(aw, method, path, who, None, rule.body)[0] for who in ACTORS}
    assert got.pop(aw.task_holder) == rule.ok
    assert {who: s for who, s in got.items() if s != 404} == {}


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
    decided = {}
    for who in ACTORS:
        with aw.undone():
            decided[who] = aw.send(
                "POST", f"{V1}/approval-tasks/{task_id}/approve", json={}, headers=aw.headers(who)
            ).status_code
    assert decided == {who: 200 if who in expected else 404 for who in ACTORS}
    assert "finance" in expected and "foreign_finance" not in expected
    assert ("sales_finance" in expected) == (traveller == "sales_traveller")


def _inbox(aw: AccessWorld, who: str) -> list[dict[str, Any]]:
    got = aw.client.get(f"{V1}/approval-tasks", headers=aw.headers(who))
    assert got.status_code == 200, (who, got.text)
    return list(got.json())


def test_anonymous_gets_401_everywhere_but_public(aw: AccessWorld) -> None:
    wrong = []
    for (method, path), rule in RULES.items():
        if rule.kind == "public":
            continue
        url = V1 + path.replace("{", "").replace("}", "")
        url = "/".join(NOBODY if part.endswith("_id") else part for part in url.split("/"))
        with aw.undone():
            status = aw.send(method, url).status_code
        if status != 401:
            wrong.append((method, path, status))
    assert wrong == [], wrong


# ---- finance (access_finance.py) ----------------------------------------------------------------


@pytest.mark.parametrize("endpoint", _rules("budget"), ids=_ids)
def test_budget_endpoints_by_role_and_company(aw: AccessWorld, endpoint: tuple[str, str]) -> None:
    """A budget of each company: `ok` with the right there (or, to read, as its owner),
    else 404."""
    method, path = endpoint
    rule = RULES[endpoint]
    assert rule.right is not None
    wrong = []
    for code in ("RD-2026", "B-2026"):
        one = path.replace("{budget_id}", aw.budgets[code])
        for who in ACTORS:
            status, _body = call(aw, method, one, who, None, rule.body)
            expected = rule.ok if expected_budget(aw, who, rule.right, code) else 404
            if status != expected:
                wrong.append((who, code, status, expected))
    assert wrong == [], wrong


def test_budget_list_by_role(aw: AccessWorld) -> None:
    for who in ACTORS:
        status, payload = call(aw, "GET", "/budgets", who)
        assert status == 200, who
        assert {b["id"] for b in payload} == expected_budget_list(aw, who), who


@pytest.mark.parametrize("endpoint", _rules("advance"), ids=_ids)
def test_advance_endpoints_by_role(aw: AccessWorld, endpoint: tuple[str, str]) -> None:
    method, path = endpoint
    rule = RULES[endpoint]
    got = {who: call(aw, method, path, who, None, rule.body)[0] for who in ACTORS}
    assert got == {who: expected_advance(aw, who, rule) for who in ACTORS}


@pytest.mark.parametrize("endpoint", _rules("employee"), ids=_ids)
def test_employee_endpoints_by_role_and_relation(
    aw: AccessWorld, endpoint: tuple[str, str]
) -> None:
    """Bank accounts (masked unless bank_account:reveal) and advances, per relation."""
    method, path = endpoint
    kind = RULES[endpoint].body
    wrong: list[tuple[str, str, object, object]] = []
    for who in ACTORS:
        for relation, owner in related(aw, who):
            arg = "account" if kind == "bank_write" else None
            status, body = call(aw, method, path, who, owner, arg)
            got: object
            if kind == "advances":
                expected: object = expected_advances(aw, who, owner)
                got = (status, {a["id"] for a in body["advances"]} if status == 200 else set())
            else:
                expected = expected_bank_account(aw, kind, who, owner)
                got = status
                if status == 200:  # masked unless the caller may reveal it
                    company = aw.company_id(aw.company_of(owner))
                    reveal = holds_in(aw.world, who, Right.BANK_ACCOUNT_REVEAL, company)
                    got = status if body["masked"] is (not reveal) else (status, "masking")
            if got != expected:
                wrong.append((who, relation, got, expected))
    assert wrong == [], wrong


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


def test_rights_are_read_from_the_permission_table(aw: AccessWorld) -> None:
    """Each actor's grants are what the oracle reads: spot-check it against ROLE_RIGHTS."""
    assert holds(aw.world, "finance", Right.POLICY_MANAGE)
    assert not holds(aw.world, "sales_finance", Right.POLICY_MANAGE)  # department scope
    assert not holds(aw.world, "self_cashier", Right.PAYMENT_BATCH)  # self scope
    assert holds_in(aw.world, "global_auditor", Right.BUDGET_VIEW, aw.company_id("B"))
    assert Right.BUDGET_VIEW in rights_of("auditor")


# ---- pages (access_pages.py) ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def browsers(aw: AccessWorld) -> dict[str, Browser]:
    return sign_in_browsers(aw)


GET_PAGES = sorted(k for k in PAGE_ROUTES if k[0] == "GET")


@pytest.mark.parametrize("endpoint", GET_PAGES, ids=_ids)
def test_pages_by_role_and_relation(
    aw: AccessWorld, browsers: dict[str, Browser], endpoint: tuple[str, str]
) -> None:
    """Every GET page for every actor: 200, the 403 or 404 page, or (a finance reviewer who
    pays nothing on the workspace) a redirect to the vouchers, as the page's right says."""
    method, path = endpoint
    page = PAGE_ROUTES[endpoint]
    wrong = []
    for who in ACTORS:
        for owner, side in cells(aw, page, who):
            status, location = open_page(
                aw, browsers[who], method, path, owner=owner, page=page, side=side
            )
            expected = expected_page(aw, page, who, owner, side)
            if status != expected or (status == 303 and location != "/finance/vouchers"):
                wrong.append((who, owner or side, status, expected))
    assert wrong == [], wrong


REFUSABLE = sorted(
    k
    for k, p in PAGE_ROUTES.items()
    if k[0] == "POST" and p.kind in ("owner", "pay", "payment", "task", "right")
)


@pytest.mark.parametrize("endpoint", [e for e in REFUSABLE if e[1] != "/inbox/batch"], ids=_ids)
def test_page_forms_refuse_who_may_not(
    aw: AccessWorld, browsers: dict[str, Browser], endpoint: tuple[str, str]
) -> None:
    """A valid post with the session's CSRF token, by everyone the page's right refuses:
    the 403 or 404 page, never a change. (The claimant's forms call the services whose
    every relation the API matrix asks; here each actor posts to someone else's claim.)"""
    method, path = endpoint
    page = PAGE_ROUTES[endpoint]
    wrong = []
    for who in ACTORS:
        mine = someone_elses(aw, who) if page.kind == "owner" else cells(aw, page, who)
        for owner, side in mine:
            expected = refusal(aw, page, who, owner, side)
            if expected is None:
                continue
            status, _location = open_page(
                aw, browsers[who], method, path, owner=owner, page=page, side=side
            )
            if status != expected:
                wrong.append((who, owner or side, status, expected))
    assert wrong == [], wrong


def test_batch_approval_decides_only_the_callers_tasks(
    aw: AccessWorld, browsers: dict[str, Browser]
) -> None:
    """Ticking someone else's task in the inbox decides nothing (the page lists why)."""
    for who in ACTORS:
        browser = browsers[who]
        with aw.undone():
            response = aw.send(
                "POST",
                "/inbox/batch",
                data={"task_id": aw.task_id, "csrf_token": browser.csrf},
                headers={"Cookie": f"{SESSION_COOKIE}={browser.cookie}"},
            )
            with aw.db.transaction() as session:
                status = session.get(ApprovalTask, uuid.UUID(aw.task_id)).status  # type: ignore[union-attr]
        assert response.status_code == 200, who
        assert status == ("approved" if who == aw.task_holder else "pending"), who


def test_signed_out_browsers_go_to_the_sign_in_page(aw: AccessWorld) -> None:
    """Every page sends a browser without a session to /login; the session's own JSON
    routes (/auth/...) answer 401."""
    wrong = []
    for (method, path), page in PAGE_ROUTES.items():
        status, location = open_page(aw, None, method, path, owner="claimant", page=page)
        signed_out = (401, "") if path.startswith("/auth/") else (303, "/login?next=")
        if (status, location[: len(signed_out[1])]) != signed_out:
            wrong.append((method, path, status, location))
    assert wrong == [], wrong


def _scim_routes(aw: AccessWorld) -> list[tuple[str, str]]:
    served = _app_routes(aw.client.app)
    return sorted(r for r in served if r[1].startswith(SCIM_PREFIX) and r not in PUBLIC_ROUTES)


def test_scim_refuses_everyone_but_its_provisioning_client(aw: AccessWorld) -> None:
    """/scim/v2 asks for scim:provision (the integrator): no token gets 401, and another
    token 403 on every route (the check is each route's dependency), from every actor
    without the right on the list of users. What the integrator gets is the part of
    tests/api/test_scim_*.py."""
    routes = _scim_routes(aw)
    refused = [who for who in ACTORS if not holds(aw.world, who, Right.SCIM_PROVISION)]
    assert len(refused) < len(ACTORS)
    cells = [(m, p, who) for m, p in routes for who in (None, "claimant")]
    cells += [("GET", f"{SCIM_PREFIX}/Users", who) for who in refused]
    wrong = []
    for method, path, who in cells:
        url = re.sub(r"\{[^}]+\}", NOBODY, path)
        with aw.undone():
            headers = aw.headers(who) if who else {}
            status = aw.send(method, url, headers=headers).status_code
        if status != (403 if who else 401):
            wrong.append((method, path, who, status))
    assert wrong == [], wrong
