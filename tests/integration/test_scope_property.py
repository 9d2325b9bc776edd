"""Hypothesis: over generated org charts and role grants, no list or search ever
returns a claim outside the caller's scope, and none inside it is missing; and no
approval inbox holds a role-pool task the caller's grant does not reach.

The oracle below is written from the rules in guide/admin.md (own claims, direct
reports, departments headed, task holders, CLAIM_VIEW_ALL grants by data scope,
and role pools by the scope of the grant), independently of the SQL in
identity/permissions.py that it checks.
"""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection

from baoxiao.approvals.service import list_tasks
from baoxiao.claims.queries import ClaimFilter, list_claims
from baoxiao.identity.permissions import Right, rights_of
from baoxiao.identity.service import principal_for
from baoxiao.kernel.db import Database
from baoxiao.models import ApprovalTask, Claim, Department, Employee, RoleAssignment, User
from tests.support.factories import ensure_currencies, make_company

ROLES = ["finance", "cashier", "budget_owner", "auditor", "admin", "integrator", "manager"]
SCOPES = ["self", "department", "company", "all"]
POOLS = ["finance", "admin"]  # the roles flows route to as a pool


@st.composite
def org_charts(draw: Any) -> dict[str, Any]:
    n_depts = draw(st.integers(1, 6))
    parents = [None] + [draw(st.integers(0, i - 1)) for i in range(1, n_depts)]
    n_people = draw(st.integers(2, 9))
    people = []
    for i in range(n_people):
        people.append(
            {
                "company": draw(st.integers(0, 1)) if i > 1 else i,
                "dept": draw(st.integers(0, n_depts - 1)),
                "manager": draw(st.one_of(st.none(), st.integers(0, i - 1))) if i else None,
            }
        )
    heads = {d: draw(st.one_of(st.none(), st.integers(0, n_people - 1))) for d in range(n_depts)}
    grants = draw(
        st.lists(
            st.tuples(
                st.integers(0, n_people - 1),
                st.sampled_from(ROLES),
                st.sampled_from(SCOPES),
                st.integers(0, n_depts - 1),
            ),
            max_size=8,
        )
    )
    pool_task = st.one_of(
        st.none(),
        st.tuples(st.sampled_from(POOLS), st.sampled_from(["pending", "waiting", "approved"])),
    )
    claims = draw(
        st.lists(
            st.tuples(
                st.integers(0, n_people - 1), st.sampled_from(["", "taxi", "hotel"]), pool_task
            ),
            min_size=1,
            max_size=12,
        )
    )
    return {
        "parents": parents,
        "people": people,
        "heads": heads,
        "grants": grants,
        "claims": claims,
    }


def _subtree(parents: list[int | None], root: int) -> set[int]:
    out = {root}
    changed = True
    while changed:
        changed = False
        for d, parent in enumerate(parents):
            if parent in out and d not in out:
                out.add(d)
                changed = True
    return out


def _pool_reaches(chart: dict[str, Any], caller: int, role: str, company: int, dept: int) -> bool:
    """A grant of `role` whose scope reaches a claim of (company, dept); self scope never."""
    mine = chart["people"][caller]["company"]
    for who, grant_role, scope, gdept in _grants(chart):
        if who != caller or grant_role != role:
            continue
        if scope == "all" or (scope == "company" and company == mine):
            return True
        if scope == "department" and company == mine and dept in _subtree(chart["parents"], gdept):
            return True
    return False


def _oracle(chart: dict[str, Any], caller: int, claim: tuple[Any, ...]) -> bool:
    owner, _q, company, dept, pool = claim
    person = chart["people"]
    if (
        pool is not None
        and pool[1] != "waiting"
        and _pool_reaches(chart, caller, pool[0], company, dept)
    ):
        return True
    boss = person[owner]["manager"]
    if owner == caller or (boss == caller and person[caller]["company"] == company):
        return True
    for d, head in chart["heads"].items():
        if (
            head == caller
            and company == person[caller]["company"]
            and dept in _subtree(chart["parents"], d)
        ):
            return True
    for who, role, scope, gdept in _grants(chart):
        if who != caller or Right.CLAIM_VIEW_ALL not in rights_of(role):
            continue
        mine = person[caller]["company"]
        if scope == "all" or (scope == "company" and company == mine):
            return True
        if scope == "department" and company == mine and dept in _subtree(chart["parents"], gdept):
            return True
        if scope == "self" and owner == caller:
            return True
    return False


def _grants(chart: dict[str, Any]) -> list[tuple[int, str, str, int]]:
    """One grant per (person, role): the first drawn wins, as the unique key demands."""
    seen: dict[tuple[int, str], tuple[int, str, str, int]] = {}
    for who, role, scope, dept in chart["grants"]:
        seen.setdefault((who, role), (who, role, scope, dept))
    return list(seen.values())


def _build(session: Any, chart: dict[str, Any]) -> tuple[list[User], list[tuple[Any, ...]]]:
    ensure_currencies(session)
    companies = [make_company(session, f"P{uuid.uuid4().hex[:8]}")[0] for _ in range(2)]
    depts: list[list[Department]] = [[], []]
    for c, company in enumerate(companies):
        for d, parent in enumerate(chart["parents"]):
            dept = Department(
                company_id=company.id,
                code=f"D{d}",
                name=f"D{d}",
                parent_id=depts[c][parent].id if parent is not None else None,
            )
            session.add(dept)
            session.flush()
            depts[c].append(dept)
    emps: list[Employee] = []
    users: list[User] = []
    for i, spec in enumerate(chart["people"]):
        c = spec["company"]
        emp = Employee(
            company_id=companies[c].id,
            employee_no=f"E{i}",
            name=f"p{i}",
            department_id=depts[c][spec["dept"]].id,
            manager_id=emps[spec["manager"]].id
            if spec["manager"] is not None and chart["people"][spec["manager"]]["company"] == c
            else None,
        )
        session.add(emp)
        session.flush()
        emps.append(emp)
        user = User(
            company_id=companies[c].id,
            username=f"u{uuid.uuid4().hex}",
            display_name=f"p{i}",
            employee_id=emp.id,
        )
        user.roles = [RoleAssignment(role="employee", company_id=companies[c].id)]
        users.append(user)
        session.add(user)
    for d, head in chart["heads"].items():
        if head is not None:
            c = chart["people"][head]["company"]
            depts[c][d].head_id = emps[head].id
    for who, role, scope, dept in _grants(chart):
        c = chart["people"][who]["company"]
        users[who].roles.append(
            RoleAssignment(
                role=role,
                company_id=companies[c].id,
                scope=scope,
                department_id=depts[c][dept].id if scope == "department" else None,
            )
        )
    session.flush()
    claims = []
    for n, (owner, word, pool) in enumerate(chart["claims"]):
        c = chart["people"][owner]["company"]
        dept = chart["people"][owner]["dept"]
        claim = Claim(
            company_id=companies[c].id,
            number=f"BX{n}",
            claimant_id=emps[owner].id,
            department_id=depts[c][dept].id,
            reason=f"trip {word}",
            currency="CNY",
            created_by_id=users[owner].id,
        )
        session.add(claim)
        session.flush()
        task_id = None
        if pool is not None:
            task = ApprovalTask(
                claim_id=claim.id,
                company_id=claim.company_id,
                step=1,
                step_name="pool",
                candidate_role=pool[0],
                status=pool[1],
            )
            session.add(task)
            session.flush()
            task_id = task.id
        claims.append((claim.id, word, (owner, word, c, dept, pool), task_id))
    return users, claims


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(org_charts())
def test_lists_and_searches_stay_inside_the_callers_scope(
    db: Database, chart: dict[str, Any]
) -> None:
    connection: Connection = db.session_factory.kw["bind"]
    savepoint = connection.begin_nested()
    try:
        with db.transaction() as session:
            users, claims = _build(session, chart)
            for caller, user in enumerate(users):
                session.refresh(user)
                principal = principal_for(user)
                for q in (None, "taxi"):
                    rows, _cursor = list_claims(
                        session, principal, ClaimFilter(q=q), cursor=None, limit=100
                    )
                    got = {r.id for r in rows}
                    want = {
                        cid
                        for cid, word, spec, _task in claims
                        if _oracle(chart, caller, spec) and (q is None or word == q)
                    }
                    assert got == want, (caller, q)
                inbox = {t.id for t in list_tasks(session, principal)}
                assert inbox == {
                    task
                    for _cid, _word, (owner, _w, company, dept, pool), task in claims
                    if pool is not None
                    and pool[1] == "pending"
                    and owner != caller
                    and _pool_reaches(chart, caller, pool[0], company, dept)
                }, caller
    finally:
        savepoint.rollback()
