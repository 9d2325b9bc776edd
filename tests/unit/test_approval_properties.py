"""Property tests of the engine over generated org charts and claims (SoD R1, R5, R6)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from baoxiao.approvals.definition import FlowDefinition, parse
from baoxiao.approvals.engine import Route, TaskState, advance, resolve
from baoxiao.approvals.orgview import DeptInfo, InMemoryOrg, PersonInfo
from tests.unit.approval_org import NOW, delegation, facts, pid

EXAMPLES = Path(__file__).resolve().parents[2] / "src/baoxiao/approvals/examples"
FLOWS = [parse(yaml.safe_load(p.read_text())) for p in sorted(EXAMPLES.glob("*.yaml"))]
GRADES = ["P4", "P5", "P6", "M1", "M2", "M3"]


@st.composite
def orgs(draw: Any) -> tuple[InMemoryOrg, int]:
    n = draw(st.integers(min_value=3, max_value=200))
    people: dict[uuid.UUID, PersonInfo] = {}
    for i in range(1, n + 1):
        manager = draw(st.one_of(st.none(), st.integers(1, i - 1))) if i > 1 else None
        active = draw(st.booleans()) if i > 1 and draw(st.integers(0, 9)) == 0 else True
        dept = 1 + (i % 5)
        people[pid(i)] = PersonInfo(
            pid(i),
            f"p{i}",
            f"E{i:04d}",
            pid(manager) if manager else None,
            pid(1000 + dept),
            draw(st.sampled_from(GRADES)),
            active,
        )
    heads = {d: draw(st.one_of(st.none(), st.integers(1, n))) for d in range(1, 6)}
    depts = {
        pid(1000 + d): DeptInfo(
            pid(1000 + d), f"D{d}", pid(1001) if d > 1 else None, pid(h) if h else None
        )
        for d, h in heads.items()
    }
    pick = st.integers(1, n)
    roles = {
        "finance": frozenset(pid(x) for x in draw(st.lists(pick, max_size=4))),
        "admin": frozenset(
            pid(x) for x in draw(st.lists(pick, min_size=3, max_size=4, unique=True))
        ),
    }
    dels = [
        delegation(a, b) for a, b in draw(st.lists(st.tuples(pick, pick), max_size=10)) if a != b
    ]
    owner = draw(st.one_of(st.none(), pick))
    org = InMemoryOrg(
        people=people,
        departments=depts,
        cost_centers={pid(2001): pid(owner) if owner else None},
        roles=roles,
        delegations=dels,
    )
    return org, n


def run(
    route: Route,
    org: InMemoryOrg,
    claimant: uuid.UUID,
    total: Decimal,
    flow: FlowDefinition,
    choices: Any,
) -> tuple[str, list[TaskState], int]:
    """Play the route to its end with generated decisions; returns (outcome, history, moves)."""
    tasks = [[s.number, s.mode, "waiting", None, a] for s in route.steps for a in s.assignees]
    bound = 3 * len(tasks) + 10
    for moves in range(bound):
        history = [TaskState(t[0], t[1], t[2], t[3]) for t in tasks]
        d = advance(history, total=total, dual_control_above=flow.dual_control_above)
        if d.kind in ("approved", "rejected", "returned"):
            return d.kind, history, moves
        if d.kind == "second_approver":
            deciders = {t[3] for t in tasks if t[2] == "approved"}
            extra = sorted(org.role_holders("admin") - {claimant} - deciders)
            tasks.append(
                [max(t[0] for t in tasks) + 1, "all", "pending", None, ("admin-dual", extra)]
            )
            continue
        if d.kind == "activate":
            for t in tasks:
                if t[0] == d.step and t[2] == "waiting":
                    t[2] = "pending"
            continue
        pending = [t for t in tasks if t[0] == d.step and t[2] == "pending"]
        task = pending[choices.draw(st.integers(0, len(pending) - 1))]
        a = task[4]
        if isinstance(a, tuple):  # the dual-control pool: anyone not yet approving
            candidates = a[1]
        elif a.employee_id is None:
            candidates = sorted(org.role_holders(a.role) - {claimant})
        else:
            candidates = [a.employee_id]
        assert candidates, "a step nobody can decide"
        actor = candidates[choices.draw(st.integers(0, len(candidates) - 1))]
        assert actor != claimant
        outcome = choices.draw(st.sampled_from(["approved"] * 8 + ["rejected", "returned"]))
        task[2], task[3] = outcome, actor
        if outcome == "approved" and task[1] == "any":
            for t in tasks:
                if t[0] == task[0] and t[2] in ("pending", "waiting"):
                    t[2] = "cancelled"
    raise AssertionError(f"no end after {bound} moves")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=orgs(),
    flow_index=st.integers(0, len(FLOWS) - 1),
    total=st.decimals(min_value=1, max_value=100000, places=2),
    claimant_seed=st.integers(1, 10_000),
    choices=st.data(),
)
def test_every_route_terminates_without_self_approval(
    data: tuple[InMemoryOrg, int],
    flow_index: int,
    total: Decimal,
    claimant_seed: int,
    choices: Any,
) -> None:
    org, n = data
    claimant_no = 1 + claimant_seed % n
    flow = FLOWS[flow_index]
    claim = facts(
        claimant=claimant_no,
        total=str(total),
        dept=1 + claimant_no % 5,
        categories=("TRAVEL",) if claimant_seed % 2 else ("TAXI",),
    )
    route = resolve(flow, claim, org, NOW)
    claimant = pid(claimant_no)
    # Never empty; the claimant is never an approver, not even as a delegate (R1).
    assert route.steps
    for step in route.steps:
        for a in step.assignees:
            assert a.employee_id != claimant
    # Deterministic: the same inputs give the same route (what the instance pins).
    assert resolve(flow, claim, org, NOW).steps == route.steps
    outcome, history, _moves = run(route, org, claimant, total, flow, choices)
    if outcome == "approved":
        for number in {t.step for t in history}:
            step = [t for t in history if t.step == number and t.status != "cancelled"]
            if step and step[0].mode == "all":  # countersign: every approver signed
                assert all(t.status == "approved" for t in step)
        deciders = {t.decided_by for t in history if t.status == "approved"}
        assert claimant not in deciders
        if flow.dual_control_above is not None and total >= flow.dual_control_above:
            assert len(deciders) >= 2  # R5
