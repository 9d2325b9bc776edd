"""Property, against the database: publishing a new flow version never changes a claim in flight.

For generated flows and claims: publish version 1, submit claims (and approve
some steps), publish version 2 with other nodes and conditions, then keep
approving. Claims in flight complete on version 1 with exactly the route they
pinned (same nodes, same people); claims submitted afterwards use version 2.
"""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.approvals import flows, runtime, service
from baoxiao.claims import service as claims
from baoxiao.claims.schemas import ClaimCreate, ClaimLineCreate
from baoxiao.identity.service import principal_for
from baoxiao.kernel.db import Database
from baoxiao.models import ApprovalTask
from baoxiao.models.approval import TaskStatus
from baoxiao.models.claim import Claim
from tests.support.factories import Person, World, build_world

CLAIMANTS = ["claimant", "peer", "outsider", "finance"]
NAMED = ["manager", "boss", "outsider", "finance"]
AMOUNTS = [Decimal("40"), Decimal("250"), Decimal("900"), Decimal("3000")]
MAX_ACTS = 40


@st.composite
def selectors(draw: Any) -> tuple[dict[str, Any], str]:
    """(selector with a {user} placeholder, fallback)."""
    return draw(
        st.sampled_from(
            [
                ({"type": "manager"}, "escalate"),
                ({"type": "manager", "level": 2}, "admin"),
                ({"type": "role", "role": "finance"}, "admin"),
                ({"type": "department_head"}, "skip"),
                ({"type": "user", "user": "{user}"}, "admin"),
            ]
        )
    )


@st.composite
def documents(draw: Any, prefix: str) -> dict[str, Any]:
    nodes = []
    for index in range(draw(st.integers(1, 3))):
        approvers = []
        fallback = "admin"
        for _ in range(draw(st.integers(1, 2))):
            sel, fallback = draw(selectors())
            if sel.get("user") == "{user}":
                sel = {**sel, "user": draw(st.sampled_from(NAMED))}
            approvers.append(sel)
        node: dict[str, Any] = {
            "id": f"{prefix}{index}",
            "approvers": approvers,
            "mode": draw(st.sampled_from(["sequential", "countersign", "any"])),
            "fallback": fallback,
        }
        threshold = draw(st.sampled_from([None, 100, 500, 2000]))
        if threshold is not None:
            node["when"] = f"claim.total {draw(st.sampled_from(['>', '<=']))} {threshold}"
        nodes.append(node)
    return {"key": "generated", "name": "Generated", "priority": 1, "nodes": nodes}


def _named(doc: dict[str, Any], world: World) -> dict[str, Any]:
    """Put the world's employee numbers in the user selectors."""
    out = copy.deepcopy(doc)
    for node in out["nodes"]:
        for sel in node["approvers"]:
            if sel["type"] == "user":
                emp = world[sel["user"]].employee
                assert emp is not None
                sel["user"] = emp.employee_no
    return out


def _submit(session: Session, person: Person, amount: Decimal) -> Claim:
    principal = principal_for(person.user)
    line = ClaimLineCreate(category_code="TAXI", expense_date=date(2026, 11, 1), amount=amount)
    draft = claims.create_draft(session, principal, ClaimCreate(reason="trip", lines=[line]))
    return claims.submit(session, principal, draft.id, None)


def _identity(task: ApprovalTask) -> tuple[Any, ...]:
    return (task.step, task.step_name, task.assignee_id, task.candidate_role, task.acting_for_id)


def _snapshot(session: Session, claim: Claim) -> tuple[Any, set[tuple[Any, ...]]]:
    instance = runtime.instance_of(session, claim)
    assert instance is not None
    tasks = runtime.round_tasks(session, claim)
    return copy.deepcopy(instance.route), {_identity(t) for t in tasks}


def _act_once(session: Session, world: World, claim: Claim) -> bool:
    """Approve one pending task as someone allowed to; False when nothing is pending."""
    pending = [t for t in runtime.round_tasks(session, claim) if t.status == TaskStatus.PENDING]
    if not pending:
        return False
    task = pending[0]
    deciders = {t.decided_by_id for t in runtime.round_tasks(session, claim)}
    for person in world.people.values():
        principal = principal_for(person.user)
        if (
            person.employee is not None
            and person.employee.id != claim.claimant_id
            and person.employee.company_id == claim.company_id
            and (task.step_name != "dual_control" or person.user.id not in deciders)
            and service.permissions.can_act_on_task(session, principal, task, claim)
        ):
            service.decide(session, principal, task.id, "approve", None)
            return True
    raise AssertionError(f"nobody can act on {_identity(task)}")


scenario = st.tuples(
    documents("a"),
    documents("b"),
    st.lists(
        st.tuples(st.sampled_from(CLAIMANTS), st.sampled_from(AMOUNTS), st.integers(0, 2)),
        min_size=1,
        max_size=3,
    ),
    st.tuples(st.sampled_from(CLAIMANTS), st.sampled_from(AMOUNTS)),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario)
def test_new_versions_never_touch_claims_in_flight(db: Database, case: Any) -> None:
    doc1, doc2, claim_specs, late = case
    with db.transaction() as session:
        world = build_world(session)
        admin = principal_for(world["admin"].user)
        flow = flows.create_flow(session, admin, _named(doc1, world))
        v1 = flows.publish(session, admin, flow.id)

        in_flight = []
        for who, amount, early_acts in claim_specs:
            claim = _submit(session, world[who], amount)
            pinned = _snapshot(session, claim)
            for _ in range(early_acts):
                _act_once(session, world, claim)
            in_flight.append((claim, pinned))

        flows.save_draft(session, admin, flow.id, _named(doc2, world))
        v2 = flows.publish(session, admin, flow.id)
        assert v2.version == v1.version + 1

        for claim, (route, identities) in in_flight:
            for _ in range(MAX_ACTS):
                if not _act_once(session, world, claim):
                    break
            instance = runtime.instance_of(session, claim)
            assert instance is not None
            assert instance.flow_version_id == v1.id
            assert instance.route == route  # resolved people and nodes unchanged
            assert claim.status == "approved" and instance.status == "approved"
            approved = {
                _identity(t)
                for t in runtime.round_tasks(session, claim)
                if t.status == TaskStatus.APPROVED
            }
            assert approved and approved <= identities
            assert {i[1] for i in approved} == {s["node_id"] for s in route["steps"]}

        who, amount = late
        fresh = _submit(session, world[who], amount)
        instance = runtime.instance_of(session, fresh)
        assert instance is not None and instance.flow_version_id == v2.id
        v2_nodes = {n["id"] for n in doc2["nodes"]} | {"final_fallback"}
        steps = {s["node_id"] for s in instance.route["steps"]}
        assert steps <= v2_nodes | {"dual_control"}
        tasks = session.scalars(select(ApprovalTask).where(ApprovalTask.claim_id == fresh.id))
        assert {t.step_name for t in tasks if t.kind == "approve"} <= v2_nodes
