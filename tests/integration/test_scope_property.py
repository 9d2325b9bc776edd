"""Hypothesis: over generated org charts and role grants, no list or search ever
returns a claim outside the caller's scope, and none inside it is missing.

The lists: the claim list (searched by text, filtered by status and department, and
walked page by page: the pages' union is the oracle's set, with no claim twice), the
approval inbox (role-pool tasks and tasks assigned to someone), the claims to pay
and the payments in flight and finished of the finance workspace (payments/queries.py).

The oracle below is written from the rules in guide/admin.md (own claims, direct
reports, departments headed, task holders, CLAIM_VIEW_ALL and CLAIM_PAY grants by
data scope, and role pools by the scope of the grant), independently of the SQL in
identity/permissions.py that it checks.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection

from baoxiao.approvals.service import list_tasks
from baoxiao.claims.queries import ClaimFilter, list_claims
from baoxiao.identity.permissions import Right, rights_of
from baoxiao.identity.principal import Principal
from baoxiao.identity.service import principal_for
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.db import Database
from baoxiao.models import (
    ApprovalTask,
    Claim,
    Department,
    Employee,
    Payment,
    RoleAssignment,
    User,
)
from baoxiao.payments import queries as finance
from tests.support.factories import ensure_currencies, make_company

ROLES = ["finance", "cashier", "budget_owner", "auditor", "admin", "integrator", "manager"]
SCOPES = ["self", "department", "company", "all"]
POOLS = ["finance", "admin"]  # the roles flows route to as a pool
TASK_STATES = ["pending", "waiting", "approved"]
CLAIM_STATES = ["draft", "approving", "approved", "paying", "paid"]
PAYMENT_STATES = [None, "pending", "succeeded", "failed"]


@dataclass(frozen=True)
class Spec:
    """One generated claim as the oracle sees it, with the ids the database gave it."""

    id: uuid.UUID
    department_id: uuid.UUID
    owner: int
    word: str
    company: int
    dept: int
    status: str
    pool: tuple[str, str] | None
    assigned: tuple[int, str] | None
    payment: str | None
    pool_task: uuid.UUID | None = None
    assigned_task: uuid.UUID | None = None


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
        st.none(), st.tuples(st.sampled_from(POOLS), st.sampled_from(TASK_STATES))
    )
    # A task assigned to one person (of the claim's company: see _build) by the route.
    assigned_task = st.one_of(
        st.none(), st.tuples(st.integers(0, n_people - 1), st.sampled_from(TASK_STATES))
    )
    claims = draw(
        st.lists(
            st.tuples(
                st.integers(0, n_people - 1),
                st.sampled_from(["", "taxi", "hotel"]),
                pool_task,
                assigned_task,
                st.sampled_from(CLAIM_STATES),
                st.sampled_from(PAYMENT_STATES),
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
        "page_size": draw(st.integers(1, 4)),
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


def _reaches(chart: dict[str, Any], grant: tuple[int, str, str, int], spec: Spec) -> bool:
    """Does one grant's data scope reach a claim: every company's (all), its company's,
    its department subtree's, or (self) the holder's own?"""
    who, _role, scope, gdept = grant
    mine: int = chart["people"][who]["company"]
    if scope == "all":
        return True
    if scope == "company":
        return spec.company == mine
    if scope == "department":
        return spec.company == mine and spec.dept in _subtree(chart["parents"], gdept)
    return spec.owner == who


def _pool_reaches(chart: dict[str, Any], caller: int, role: str, spec: Spec) -> bool:
    """A grant of `role` whose scope reaches the claim; self scope never."""
    return any(
        g[0] == caller and g[1] == role and g[2] != "self" and _reaches(chart, g, spec)
        for g in _grants(chart)
    )


def _right_reaches(chart: dict[str, Any], caller: int, right: Right, spec: Spec) -> bool:
    return any(
        g[0] == caller and right in rights_of(g[1]) and _reaches(chart, g, spec)
        for g in _grants(chart)
    )


def _oracle(chart: dict[str, Any], caller: int, spec: Spec) -> bool:
    person = chart["people"]
    pool, assigned = spec.pool, spec.assigned
    if pool is not None and pool[1] != "waiting" and _pool_reaches(chart, caller, pool[0], spec):
        return True
    if assigned is not None and assigned[1] != "waiting" and assigned[0] == caller:
        return True
    boss = person[spec.owner]["manager"]
    if spec.owner == caller or (boss == caller and person[caller]["company"] == spec.company):
        return True
    for d, head in chart["heads"].items():
        if (
            head == caller
            and spec.company == person[caller]["company"]
            and spec.dept in _subtree(chart["parents"], d)
        ):
            return True
    return _right_reaches(chart, caller, Right.CLAIM_VIEW_ALL, spec)


def _inbox(chart: dict[str, Any], caller: int, spec: Spec) -> set[Any]:
    """The pending tasks of this claim in the caller's inbox (never on their own claim)."""
    if spec.owner == caller:
        return set()
    tasks = set()
    pool, assigned = spec.pool, spec.assigned
    if pool is not None and pool[1] == "pending" and _pool_reaches(chart, caller, pool[0], spec):
        tasks.add(spec.pool_task)
    if assigned is not None and assigned[1] == "pending" and assigned[0] == caller:
        tasks.add(spec.assigned_task)
    return tasks


def _grants(chart: dict[str, Any]) -> list[tuple[int, str, str, int]]:
    """One grant per (person, role): the first drawn wins, as the unique key demands."""
    seen: dict[tuple[int, str], tuple[int, str, str, int]] = {}
    for who, role, scope, dept in chart["grants"]:
        seen.setdefault((who, role), (who, role, scope, dept))
    return list(seen.values())


def _build(session: Any, chart: dict[str, Any]) -> tuple[list[User], list[Spec]]:
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
    for who, role, scope, gdept in _grants(chart):
        c = chart["people"][who]["company"]
        users[who].roles.append(
            RoleAssignment(
                role=role,
                company_id=companies[c].id,
                scope=scope,
                department_id=depts[c][gdept].id if scope == "department" else None,
            )
        )
    session.flush()
    claims = [
        _claim(session, chart, n, companies, depts, emps, users)
        for n in range(len(chart["claims"]))
    ]
    session.flush()
    return users, claims


def _claim(
    session: Any,
    chart: dict[str, Any],
    n: int,
    companies: list[Any],
    depts: list[list[Department]],
    emps: list[Employee],
    users: list[User],
) -> Spec:
    owner, word, pool, assigned, status, paid = chart["claims"][n]
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
        status=status,
        approved_at=utcnow() if status != "draft" else None,
    )
    session.add(claim)
    session.flush()
    if assigned is not None and chart["people"][assigned[0]]["company"] != c:
        assigned = None  # the route assigns people of the claim's company
    tasks = {}
    for name, role, assignee, state in (
        ("pool", pool[0] if pool else None, None, pool[1] if pool else None),
        (
            "assigned",
            None,
            emps[assigned[0]].id if assigned else None,
            assigned[1] if assigned else None,
        ),
    ):
        if state is None:
            continue
        task = ApprovalTask(
            claim_id=claim.id,
            company_id=claim.company_id,
            step=1 if name == "pool" else 2,
            step_name=name,
            candidate_role=role,
            assignee_id=assignee,
            status=state,
        )
        session.add(task)
        session.flush()
        tasks[name] = task.id
    if paid is not None:
        session.add(
            Payment(
                company_id=claim.company_id,
                claim_id=claim.id,
                reference=f"P-{uuid.uuid4().hex[:12]}",
                amount=1,
                currency="CNY",
                status=paid,
                requested_by_id=users[owner].id,
            )
        )
    return Spec(
        claim.id,
        depts[c][dept].id,
        owner,
        word,
        c,
        dept,
        status,
        pool,
        assigned,
        paid,
        pool_task=tasks.get("pool"),
        assigned_task=tasks.get("assigned"),
    )


@settings(
    max_examples=50,
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
                visible = [c for c in claims if _oracle(chart, caller, c)]
                _check_claim_lists(session, principal, chart, caller, visible)
                inbox = {t.id for t in list_tasks(session, principal)}
                assert inbox == set().union(*(_inbox(chart, caller, c) for c in claims)), caller
                _check_finance_lists(session, principal, chart, caller, claims)
    finally:
        savepoint.rollback()


def _check_claim_lists(
    session: Any, principal: Principal, chart: dict[str, Any], caller: int, visible: list[Spec]
) -> None:
    """Searched, filtered, and page by page: exactly the visible claims that match."""
    department = visible[0].department_id if visible else uuid.uuid4()
    filters = [
        (ClaimFilter(), lambda c: True),
        (ClaimFilter(q="taxi"), lambda c: c.word == "taxi"),
        (ClaimFilter(status=["approved", "paying"]), lambda c: c.status in ("approved", "paying")),
        (ClaimFilter(mine=True), lambda c: c.owner == caller),
        (ClaimFilter(department_id=department), lambda c: c.department_id == department),
    ]
    for flt, keep in filters:
        rows, _cursor = list_claims(session, principal, flt, cursor=None, limit=100)
        assert {r.id for r in rows} == {c.id for c in visible if keep(c)}, (caller, flt)
    seen: list[uuid.UUID] = []
    cursor: str | None = None
    for _page in range(len(chart["claims"]) + 1):
        rows, cursor = list_claims(
            session, principal, ClaimFilter(), cursor=cursor, limit=chart["page_size"]
        )
        assert len(rows) <= chart["page_size"]
        seen += [r.id for r in rows]
        if cursor is None:
            break
    assert cursor is None, (caller, "the pages never end")
    assert sorted(seen) == sorted({c.id for c in visible}), (caller, "pages")


def _check_finance_lists(
    session: Any, principal: Principal, chart: dict[str, Any], caller: int, claims: list[Spec]
) -> None:
    """The cashier's lists: only claims a CLAIM_PAY grant of the caller reaches."""
    payable = [c for c in claims if _right_reaches(chart, caller, Right.CLAIM_PAY, c)]
    got = {c.id for c in finance.payable_claims(session, principal)}
    assert got == {c.id for c in payable if c.status == "approved"}, (caller, "to pay")
    for states in (finance.PENDING, finance.FINISHED):
        rows = finance.payments(session, principal, states)
        assert all(p.claim_id == c.id for p, c in rows)
        want = {c.id for c in payable if c.payment in states}
        assert {c.id for _p, c in rows} == want, (caller, states)
