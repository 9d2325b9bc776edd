"""One world for the access matrix, built once per module, and the oracle over it.

Company A (ROOT > RD, SALES, FIN) with every role of the permission table at every
data scope (company, department, self, all), each person with a draft claim (a line
and an invoice); company B with an employee and a finance reviewer. The claimant's
claim is submitted, so their manager holds a task. Two travellers without a manager
(one in RD, one in SALES) have submitted too: their claims wait in the finance pool,
for the finance grants whose data scope reaches them. The objects of every company
function (invoices, connectors, payments, ...) are seeded in both companies by
access_objects.py. Helpers (B's admin and clerk) act only while the world is built:
the matrix runs over ACTORS.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import Connection

from baoxiao.identity.permissions import READ_ONLY_ROLES, Right, rights_of
from baoxiao.kernel.db import Database
from baoxiao.models.identity import DataScope
from baoxiao.models.org import Department
from tests.support import invoice_samples as samples
from tests.support.factories import Person, World, build_world, make_person

V1 = "/api/v1"
LINE = {"category_code": "TAXI", "expense_date": "2026-11-01", "amount": "50.00"}


def invoice_file(number: int) -> bytes:
    """An e-invoice (XML) of its own number: a receipt a line can be backed by."""
    digital = samples.Sample(
        invoice_type="32", code="", number=f"2431200000{number:010d}", check=""
    )
    return samples.einvoice_xml(digital)


PASSWORD = "matrix-Pa55word!"  # everyone's, for the endpoints that ask for it again
POOL_TRAVELLERS = {"rd_traveller": "RD", "sales_traveller": "SALES"}  # no manager: finance next
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
    "self_cashier",
    "global_auditor",
    "integrator",
    "foreigner",
    "foreign_finance",
]
B_SIDE = ("foreigner", "foreign_finance")
# A claim of each relation, relative to the actor: the owner of one in the same team.
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
    "self_cashier": "finance",
    "global_auditor": "finance",
    "boss": "admin",
    "admin": "boss",
    "auditor": "boss",
    "foreigner": "foreign_finance",
    "foreign_finance": "foreigner",
}


@dataclass
class AccessWorld:
    world: World
    client: TestClient
    db: Database
    claims: dict[str, dict[str, Any]] = field(default_factory=dict)  # by owner name (or a label)
    lines: dict[str, str] = field(default_factory=dict)
    attachments: dict[str, str] = field(default_factory=dict)
    task_id: str = ""
    task_holder: str = "manager"
    pool_tasks: dict[str, str] = field(default_factory=dict)  # traveller -> finance pool task
    pooled: set[str] = field(default_factory=set)  # claims that went through the finance pool
    budgets: dict[str, str] = field(default_factory=dict)  # by code
    advance: dict[str, Any] = field(default_factory=dict)  # the claimant's
    budget_sheet: bytes = b""  # the budgets export: a valid import
    helpers: dict[str, Person] = field(default_factory=dict)  # seed the world, never asked
    # kind -> company ("A", "B") -> the path parameters naming that object
    objects: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    asgi: httpx.AsyncClient | None = None  # see send()

    def send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One request to the running application, without TestClient's per-request
        wrapping (about a third of the matrix's time); an app error answers 500."""
        if self.asgi is None:
            transport = httpx.ASGITransport(app=self.client.app, raise_app_exceptions=False)
            self.asgi = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        asgi = self.asgi
        try:
            return self.client.portal.call(  # type: ignore[union-attr]
                lambda: asgi.request(method, url, follow_redirects=False, **kwargs)
            )
        finally:
            asgi.cookies.clear()  # a page's session cookie never reaches the next request

    def headers(self, who: str) -> dict[str, str]:
        person = self.helpers.get(who) or self.world[who]
        return person.headers

    def company_of(self, who: str) -> str:
        """ "A" or "B": the company of an actor."""
        return "B" if who in B_SIDE else "A"

    def company_id(self, side: str) -> str:
        company = self.world.company if side == "A" else self.world.other_company
        assert company is not None
        return str(company.id)

    @contextmanager
    def undone(self) -> Iterator[None]:
        """Whatever a request changes is rolled back afterwards (a savepoint)."""
        connection: Connection = self.db.session_factory.kw["bind"]
        savepoint = connection.begin_nested()
        try:
            yield
        finally:
            savepoint.rollback()


def extend(world: World, session: Any) -> dict[str, Person]:
    """Add the roles build_world lacks: auditors at company and `all` scope, a budget owner
    (RD subtree), an integrator, a finance reviewer and a cashier scoped to SALES, a cashier
    scoped to themselves; and the helpers of company B. Returns the helpers."""
    company, depts = world.company, world.departments
    boss = world["boss"].employee
    people = world.people

    def scoped(name: str, dept: str, *grants: tuple[str, str, uuid.UUID | None]) -> Person:
        return make_person(
            session,
            company,
            f"{name}-{company.code}",
            department=depts[dept],
            manager=boss,
            scoped_roles=grants,
        )

    people["auditor"] = make_person(
        session, company, f"auditor-{company.code}", department=depts["ROOT"], roles=("auditor",)
    )
    people["budget_owner"] = scoped(
        "bo", "SALES", ("budget_owner", DataScope.DEPARTMENT.value, depts["RD"].id)
    )
    people["sales_finance"] = scoped(
        "sfin", "FIN", ("finance", DataScope.DEPARTMENT.value, depts["SALES"].id)
    )
    people["sales_cashier"] = scoped(
        "scash", "FIN", ("cashier", DataScope.DEPARTMENT.value, depts["SALES"].id)
    )
    people["self_cashier"] = scoped("selfcash", "FIN", ("cashier", DataScope.SELF.value, None))
    people["global_auditor"] = scoped("gaud", "FIN", ("auditor", DataScope.ALL.value, None))
    for name, dept in POOL_TRAVELLERS.items():
        people[name] = make_person(
            session, company, f"{name}-{company.code}", department=depts[dept]
        )
    people["integrator"] = make_person(
        session,
        company,
        f"int-{company.code}",
        department=None,
        employee=False,
        roles=("integrator",),
    )
    other = world.other_company
    assert other is not None
    foreigner = world["foreigner"].employee
    assert foreigner is not None
    foreign_dept = session.get(Department, foreigner.department_id)
    helpers = {
        "b_admin": make_person(
            session,
            other,
            f"badmin-{other.code}",
            department=None,
            employee=False,
            roles=("admin", "finance", "cashier", "integrator"),
        ),
        "b_clerk": make_person(session, other, f"bclerk-{other.code}", department=foreign_dept),
    }
    # Cheap Argon2 parameters (verification reads them from the hash): the matrix checks
    # who may change what, not the cost of hashing.
    password_hash = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
    for person in [*people.values(), *helpers.values()]:
        person.user.password_hash = password_hash
    return helpers


def _draft(aw: AccessWorld, name: str, label: str) -> dict[str, Any]:
    body = {"reason": f"claim of {label}", "lines": [LINE]}
    claim = aw.client.post(f"{V1}/claims", json=body, headers=aw.headers(name))
    assert claim.status_code == 201, claim.text
    aw.claims[label] = claim.json()
    return dict(claim.json())


def _submit(aw: AccessWorld, name: str, claim_id: str) -> None:
    sent = aw.client.post(f"{V1}/claims/{claim_id}/submit", headers=aw.headers(name))
    assert sent.status_code == 200, sent.text


def pool_task(aw: AccessWorld, reviewer: str, claim_id: str) -> str:
    """The finance pool task on this claim, as the reviewer's inbox shows it."""
    inbox = aw.client.get(f"{V1}/approval-tasks", headers=aw.headers(reviewer)).json()
    return str(next(t["id"] for t in inbox if t["claim_id"] == claim_id))


def approved_claim(aw: AccessWorld, owner: str, reviewer: str, label: str) -> str:
    """A claim of `owner` (no manager) through the finance pool, approved by `reviewer`."""
    claim_id = str(_draft(aw, owner, label)["id"])
    _submit(aw, owner, claim_id)
    aw.pooled.add(claim_id)
    task = pool_task(aw, reviewer, claim_id)
    approved = aw.client.post(
        f"{V1}/approval-tasks/{task}/approve", json={}, headers=aw.headers(reviewer)
    )
    assert approved.status_code == 200, approved.text
    return claim_id


def refresh_claims(aw: AccessWorld) -> None:
    """Read every claim again as its owner, so the oracle sees today's status."""
    for label, claim in aw.claims.items():
        owner = owner_of(aw.world, claim)
        got = aw.client.get(f"{V1}/claims/{claim['id']}", headers=aw.headers(owner))
        assert got.status_code == 200, got.text
        aw.claims[label] = got.json()


def build(db: Database, client: TestClient) -> AccessWorld:
    with db.transaction() as session:
        world = build_world(session)
        helpers = extend(world, session)
    aw = AccessWorld(world=world, client=client, db=db, helpers=helpers)
    for n, (name, person) in enumerate(world.people.items()):
        if person.employee is None:
            continue
        claim = _draft(aw, name, name)
        aw.lines[name] = claim["lines"][0]["id"]
        up = client.post(
            f"{V1}/claims/{claim['id']}/attachments",
            files={"file": ("e.xml", invoice_file(n), "application/xml")},
            headers=aw.headers(name),
        )
        assert up.status_code == 201, up.text
        aw.attachments[name] = up.json()["id"]
    _submit(aw, "claimant", aw.claims["claimant"]["id"])
    tasks = client.get(f"{V1}/approval-tasks", headers=aw.headers("manager")).json()
    aw.task_id = next(t["id"] for t in tasks if t["claim_id"] == aw.claims["claimant"]["id"])
    for name in POOL_TRAVELLERS:
        claim_id = aw.claims[name]["id"]
        _submit(aw, name, claim_id)
        aw.pooled.add(claim_id)
        aw.pool_tasks[name] = pool_task(aw, "finance", claim_id)
    return aw


# ---- the oracle: what the permission table says -------------------------------------------------


def _subtree(world: World, root: uuid.UUID) -> set[uuid.UUID]:
    out, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for d in world.departments.values():
            if d.parent_id == parent and d.id not in out:
                out.add(d.id)
                frontier.append(d.id)
    return out


def _grant_reaches(world: World, who: str, grant: Any, claim: dict[str, Any]) -> bool:
    """Does one grant's data scope reach this claim?"""
    if grant.scope == DataScope.ALL:
        return True
    if grant.scope == DataScope.COMPANY:
        return bool(str(grant.company_id) == claim["company_id"])
    if grant.scope == DataScope.DEPARTMENT:
        return grant.department_id is not None and uuid.UUID(claim["department_id"]) in _subtree(
            world, grant.department_id
        )
    return bool(grant.scope == DataScope.SELF and owner_of(world, claim) == who)


def right_reaches(world: World, who: str, right: Right, claim: dict[str, Any]) -> bool:
    """Does one of `who`'s role grants give `right` over this claim?"""
    return any(
        right in rights_of(g.role) and _grant_reaches(world, who, g, claim)
        for g in world[who].user.roles
    )


def pool_reaches(world: World, who: str, role: str, claim: dict[str, Any]) -> bool:
    """Is a task of `role`'s pool on this claim `who`'s? A grant of the role whose data
    scope reaches the claim (self scope never: nobody decides their own), not the claimant."""
    if owner_of(world, claim) == who:
        return False
    return any(
        g.role == role and g.scope != DataScope.SELF and _grant_reaches(world, who, g, claim)
        for g in world[who].user.roles
    )


def holds(world: World, who: str, right: Right) -> bool:
    """Does `who` hold `right` as a company function in their own company?"""
    return holds_in(world, who, right, str(world[who].user.company_id))


def holds_in(world: World, who: str, right: Right, company_id: str) -> bool:
    """Does `who` hold `right` as a company function in that company?"""
    return any(
        right in rights_of(g.role)
        and (g.scope == DataScope.ALL or (g.scope == "company" and str(g.company_id) == company_id))
        for g in world[who].user.roles
    )


def owner_of(world: World, claim: dict[str, Any]) -> str:
    return next(
        n
        for n, p in world.people.items()
        if p.employee is not None and str(p.employee.id) == claim["claimant"]["id"]
    )


def _takes_part(aw: AccessWorld, who: str, claim: dict[str, Any]) -> bool:
    """Sees the claim as its claimant, their manager or an approver (no role needed)."""
    world = aw.world
    me = world[who].employee
    owner = world[owner_of(world, claim)].employee
    assert owner is not None
    if me is not None and (me.id == owner.id or owner.manager_id == me.id):
        return True
    if claim["id"] == aw.claims["claimant"]["id"] and who == aw.task_holder:
        return True
    return claim["id"] in aw.pooled and pool_reaches(world, who, "finance", claim)


def may_see(aw: AccessWorld, who: str, claim: dict[str, Any]) -> bool:
    return _takes_part(aw, who, claim) or right_reaches(aw.world, who, Right.CLAIM_VIEW_ALL, claim)


def may_take_part(aw: AccessWorld, who: str, claim: dict[str, Any]) -> bool:
    """may_see, less what a read-only role (the auditor) alone reaches: who may comment."""
    return _takes_part(aw, who, claim) or any(
        Right.CLAIM_VIEW_ALL in rights_of(g.role)
        and g.role not in READ_ONLY_ROLES
        and _grant_reaches(aw.world, who, g, claim)
        for g in aw.world[who].user.roles
    )
