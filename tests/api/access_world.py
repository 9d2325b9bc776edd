"""One world for the access matrix and the scope tests, built once per module.

Company A (ROOT > RD, SALES, FIN) with every role of the permission table, each
person with a draft claim (a line and a receipt); company B with an employee and
a finance reviewer. The claimant's claim is submitted, so their manager holds a task.
Two travellers without a manager (one in RD, one in SALES) have submitted too: their
claims wait in the finance pool, for the finance grants whose data scope reaches them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Connection

from baoxiao.identity.passwords import hash_password
from baoxiao.identity.permissions import READ_ONLY_ROLES, Right, rights_of
from baoxiao.kernel.db import Database
from baoxiao.models.identity import DataScope
from tests.support.factories import World, build_world, make_person
from tests.support.invoice_samples import receipt_image

LINE = {"category_code": "TAXI", "expense_date": "2026-11-01", "amount": "50.00"}
PNG = receipt_image("PNG")
PASSWORD = "matrix-Pa55word!"  # everyone's, for the endpoints that ask for it again
POOL_TRAVELLERS = {"rd_traveller": "RD", "sales_traveller": "SALES"}  # no manager: finance next


@dataclass
class AccessWorld:
    world: World
    client: TestClient
    db: Database
    claims: dict[str, dict[str, Any]] = field(default_factory=dict)  # by owner name
    lines: dict[str, str] = field(default_factory=dict)
    attachments: dict[str, str] = field(default_factory=dict)
    task_id: str = ""
    task_holder: str = "manager"
    pool_tasks: dict[str, str] = field(default_factory=dict)  # traveller -> finance pool task
    budgets: dict[str, str] = field(default_factory=dict)  # by code
    advance: dict[str, Any] = field(default_factory=dict)  # the claimant's

    def headers(self, who: str) -> dict[str, str]:
        return self.world[who].headers

    @contextmanager
    def undone(self) -> Iterator[None]:
        """Whatever a request changes is rolled back afterwards (a savepoint)."""
        connection: Connection = self.db.session_factory.kw["bind"]
        savepoint = connection.begin_nested()
        try:
            yield
        finally:
            savepoint.rollback()


def extend(world: World, session: Any) -> None:
    """Add the roles build_world lacks: auditor, budget owner (RD subtree), integrator, a
    finance reviewer and a cashier scoped to SALES."""
    company, depts = world.company, world.departments
    boss = world["boss"].employee
    world.people["auditor"] = make_person(
        session, company, f"auditor-{company.code}", department=depts["ROOT"], roles=("auditor",)
    )
    world.people["budget_owner"] = make_person(
        session,
        company,
        f"bo-{company.code}",
        department=depts["SALES"],
        manager=boss,
        scoped_roles=(("budget_owner", DataScope.DEPARTMENT.value, depts["RD"].id),),
    )
    world.people["sales_finance"] = make_person(
        session,
        company,
        f"sfin-{company.code}",
        department=depts["FIN"],
        manager=boss,
        scoped_roles=(("finance", DataScope.DEPARTMENT.value, depts["SALES"].id),),
    )
    world.people["sales_cashier"] = make_person(
        session,
        company,
        f"scash-{company.code}",
        department=depts["FIN"],
        manager=boss,
        scoped_roles=(("cashier", DataScope.DEPARTMENT.value, depts["SALES"].id),),
    )
    for name, dept in POOL_TRAVELLERS.items():
        world.people[name] = make_person(
            session, company, f"{name}-{company.code}", department=depts[dept]
        )
    world.people["integrator"] = make_person(
        session,
        company,
        f"int-{company.code}",
        department=None,
        employee=False,
        roles=("integrator",),
    )
    password_hash = hash_password(PASSWORD)
    for person in world.people.values():
        person.user.password_hash = password_hash


def build(db: Database, client: TestClient) -> AccessWorld:
    with db.transaction() as session:
        world = build_world(session)
        extend(world, session)
    aw = AccessWorld(world=world, client=client, db=db)
    for name, person in world.people.items():
        if person.employee is None:
            continue
        body = {"reason": f"claim of {name}", "lines": [LINE]}
        claim = client.post("/api/v1/claims", json=body, headers=aw.headers(name))
        assert claim.status_code == 201, claim.text
        aw.claims[name] = claim.json()
        aw.lines[name] = claim.json()["lines"][0]["id"]
        up = client.post(
            f"/api/v1/claims/{claim.json()['id']}/attachments",
            files={"file": ("r.png", PNG, "image/png")},
            headers=aw.headers(name),
        )
        assert up.status_code == 201, up.text
        aw.attachments[name] = up.json()["id"]
    submitted = client.post(
        f"/api/v1/claims/{aw.claims['claimant']['id']}/submit", headers=aw.headers("claimant")
    )
    assert submitted.status_code == 200, submitted.text
    tasks = client.get("/api/v1/approval-tasks", headers=aw.headers("manager")).json()
    aw.task_id = next(t["id"] for t in tasks if t["claim_id"] == aw.claims["claimant"]["id"])
    for name in POOL_TRAVELLERS:
        claim_id = aw.claims[name]["id"]
        sent = client.post(f"/api/v1/claims/{claim_id}/submit", headers=aw.headers(name))
        assert sent.status_code == 200, sent.text
        pool = client.get("/api/v1/approval-tasks", headers=aw.headers("finance")).json()
        aw.pool_tasks[name] = next(t["id"] for t in pool if t["claim_id"] == claim_id)
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
        return str(grant.company_id) == claim["company_id"]
    if grant.scope == DataScope.DEPARTMENT:
        return grant.department_id is not None and uuid.UUID(claim["department_id"]) in _subtree(
            world, grant.department_id
        )
    return grant.scope == DataScope.SELF and owner_of(world, claim) == who


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
    user = world[who].user
    return any(right in rights_of(g.role) and g.scope in ("company", "all") for g in user.roles)


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
    return owner_of(world, claim) in aw.pool_tasks and pool_reaches(world, who, "finance", claim)


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
