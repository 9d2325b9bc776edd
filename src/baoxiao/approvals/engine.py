"""The pure approval engine: no I/O, only a definition, facts and an org view.

`resolve` turns a flow into a concrete route (steps of people, with the
reason each node was taken or skipped); `advance` reads the tasks' states
and says what happens next. Services load state, call these, persist.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

from baoxiao.approvals.conditions import ConditionError, compile_condition
from baoxiao.approvals.definition import FlowDefinition, Node
from baoxiao.approvals.model import Facts
from baoxiao.approvals.orgview import OrgView
from baoxiao.approvals.selectors import Candidate, climb_manager, select

StepMode = Literal["all", "any"]
ADMIN = "admin"
CLOSED = ("cancelled", "transferred", "sent_back")  # tasks that no longer count towards a step


@dataclass(frozen=True)
class Assignee:
    employee_id: uuid.UUID | None  # None: a pool of everyone holding `role`
    role: str | None = None
    acting_for: uuid.UUID | None = None
    why: str = ""

    @property
    def effective(self) -> uuid.UUID | None:
        return self.employee_id


@dataclass(frozen=True)
class Step:
    number: int
    node_id: str
    node_name: str
    mode: StepMode
    assignees: tuple[Assignee, ...]
    remind_after_hours: float | None = None
    escalate_after_hours: float | None = None


@dataclass
class NodeTrace:
    node_id: str
    name: str
    included: bool
    reasons: list[str] = field(default_factory=list)
    assignees: list[Assignee] = field(default_factory=list)
    cc: list[uuid.UUID] = field(default_factory=list)


@dataclass
class Route:
    flow_key: str
    steps: list[Step]
    trace: list[NodeTrace]
    cc: list[uuid.UUID]

    def approvers(self) -> set[uuid.UUID]:
        return {a.employee_id for s in self.steps for a in s.assignees if a.employee_id}


def _condition_holds(node: Node, facts: Facts, trace: NodeTrace) -> bool:
    if not node.when:
        trace.reasons.append("no condition: always runs")
        return True
    try:
        held = compile_condition(node.when).evaluate(facts.activation)
    except ConditionError as exc:  # fail closed: an approval too many, never one too few
        trace.reasons.append(f"condition {node.when!r} failed ({exc}); node kept")
        return True
    trace.reasons.append(f"condition {node.when!r} is {'true' if held else 'false'}")
    return held


def _apply_rules(
    candidates: list[Candidate],
    facts: Facts,
    org: OrgView,
    at: datetime,
    earlier: set[uuid.UUID],
    flow: FlowDefinition,
    trace: NodeTrace,
) -> list[Assignee]:
    out: list[Assignee] = []
    seen: set[uuid.UUID] = set()
    for cand in candidates:
        if cand.employee_id is None:
            out.append(Assignee(None, cand.role, None, cand.why))
            continue
        person, why = cand.employee_id, cand.why
        if person == facts.claimant_id:
            boss = climb_manager(org, facts.claimant_id, 1, exclude={facts.claimant_id})
            trace.reasons.append("approver is the claimant: routed to the claimant's manager")
            if boss is None:
                continue
            person, why = boss, f"{why}; claimant's manager instead of self-approval"
        acting_for = None
        delegate = delegate_for(org, person, at, facts.claimant_id)
        if delegate is not None:
            trace.reasons.append(f"{person} delegated to {delegate}")
            acting_for, person = person, delegate
        if person in seen:
            continue
        if flow.skip_repeated_approver and person in earlier:
            trace.reasons.append(f"{person} already approves earlier in the route: skipped")
            continue
        seen.add(person)
        out.append(Assignee(person, None, acting_for, why))
    return out


def delegate_for(
    org: OrgView, person: uuid.UUID, at: datetime, claimant: uuid.UUID
) -> uuid.UUID | None:
    """Follow delegations (bounded); never to the claimant, never round a cycle."""
    current, visited = person, {person}
    for _ in range(8):
        nxt = org.delegate_of(current, at)
        if nxt is None or nxt in visited or nxt == claimant:
            break
        target = org.person(nxt)
        if target is None or not target.active:
            break
        visited.add(nxt)
        current = nxt
    return current if current != person else None


def _fallback(
    node: Node, facts: Facts, org: OrgView, earlier: set[uuid.UUID], trace: NodeTrace
) -> list[Assignee]:
    kind = node.fallback or ADMIN
    if kind == "skip":
        trace.reasons.append("resolved to nobody: fallback skip")
        return []
    if kind == "escalate":
        boss = climb_manager(
            org, facts.claimant_id, 1, exclude={facts.claimant_id, *earlier}, climb_past=True
        )
        if boss is not None:
            trace.reasons.append("resolved to nobody: escalated up the claimant's manager chain")
            return [Assignee(boss, None, None, "escalation fallback")]
        trace.reasons.append("escalation found nobody: company admins instead")
    else:
        trace.reasons.append("resolved to nobody: fallback to the company admins")
    return [Assignee(None, ADMIN, None, "admin fallback")]


def _steps_for(node: Node, assignees: list[Assignee], start: int) -> list[Step]:
    common = {
        "node_id": node.id,
        "node_name": node.name,
        "remind_after_hours": node.remind_after_hours,
        "escalate_after_hours": node.escalate_after_hours,
    }
    if node.mode == "sequential" or len(assignees) == 1:
        return [
            Step(number=start + i, mode="all", assignees=(a,), **common)  # type: ignore[arg-type]
            for i, a in enumerate(assignees)
        ]
    mode: StepMode = "all" if node.mode == "countersign" else "any"
    return [Step(number=start, mode=mode, assignees=tuple(assignees), **common)]  # type: ignore[arg-type]


def resolve(flow: FlowDefinition, facts: Facts, org: OrgView, at: datetime) -> Route:
    """The concrete route of a claim through `flow`, with the reasons for each node."""
    steps: list[Step] = []
    traces: list[NodeTrace] = []
    cc: list[uuid.UUID] = []
    earlier: set[uuid.UUID] = set()
    for node in flow.nodes:
        trace = NodeTrace(node.id, node.name, included=False)
        traces.append(trace)
        if not _condition_holds(node, facts, trace):
            continue
        candidates = [c for sel in node.approvers for c in select(sel, facts, org)]
        assignees = _apply_rules(candidates, facts, org, at, earlier, flow, trace)
        if not assignees:
            assignees = _fallback(node, facts, org, earlier, trace)
        for sel in node.cc:
            for cand in select(sel, facts, org, expand_roles=True):
                if cand.employee_id and cand.employee_id not in cc:
                    cc.append(cand.employee_id)
                    trace.cc.append(cand.employee_id)
        if not assignees:
            continue
        trace.included, trace.assignees = True, assignees
        steps += _steps_for(node, assignees, len(steps) + 1)
        earlier |= {a.employee_id for a in assignees if a.employee_id}
    route = Route(flow.key, steps, traces, cc)
    _final_rules(route, flow, facts, org)
    return route


def _final_rules(route: Route, flow: FlowDefinition, facts: Facts, org: OrgView) -> None:
    """Never an empty route; two distinct people at or above the dual-control amount."""
    if not route.steps:
        why = "every node was skipped: the company admins approve (never silently approved)"
        route.steps.append(Step(1, "final_fallback", "final fallback", "all", (_admin(why),)))
        route.trace.append(NodeTrace("final_fallback", "final fallback", True, [why]))
    threshold = flow.dual_control_above
    if threshold is None or facts.total < threshold:
        return
    named = route.approvers()
    pools = sum(1 for s in route.steps for a in s.assignees if a.employee_id is None)
    if len(named) + min(pools, 1) >= 2:
        return
    boss = climb_manager(
        org, facts.claimant_id, 1, exclude={facts.claimant_id, *named}, climb_past=True
    )
    why = f"total {facts.total} >= {threshold}: a second, distinct approver"
    second = Assignee(boss, None, None, why) if boss else _admin(why)
    route.steps.append(Step(len(route.steps) + 1, "dual_control", "dual control", "all", (second,)))
    route.trace.append(NodeTrace("dual_control", "dual control", True, [why], [second]))


def _admin(why: str) -> Assignee:
    return Assignee(None, ADMIN, None, why)


# ---- advance ------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskState:
    step: int
    mode: StepMode
    status: str  # waiting | pending | approved | rejected | returned | cancelled
    decided_by: uuid.UUID | None = None


@dataclass(frozen=True)
class Decision:
    kind: Literal["wait", "activate", "approved", "rejected", "returned", "second_approver"]
    step: int | None = None


def advance(
    history: Sequence[TaskState], *, total: Decimal, dual_control_above: Decimal | None
) -> Decision:
    """What follows from the tasks' states: wait, open a step, or end the route."""
    if any(t.status == "rejected" for t in history):
        return Decision("rejected")
    if any(t.status == "returned" for t in history):
        return Decision("returned")
    for number in sorted({t.step for t in history}):
        tasks = [t for t in history if t.step == number and t.status not in CLOSED]
        if not tasks:
            continue
        approved = [t for t in tasks if t.status == "approved"]
        done = bool(approved) if tasks[0].mode == "any" else len(approved) == len(tasks)
        if done:
            continue
        if any(t.status == "pending" for t in tasks):
            return Decision("wait", number)
        return Decision("activate", number)
    deciders = {t.decided_by for t in history if t.status == "approved" and t.decided_by}
    if dual_control_above is not None and total >= dual_control_above and len(deciders) < 2:
        return Decision("second_approver")
    return Decision("approved")


# ---- choosing a flow ------------------------------------------------------------------


def matches(flow: FlowDefinition, facts: Facts) -> tuple[bool, str]:
    """Does the flow's match block select this claim? With the reason, for explain."""
    m = flow.match
    if flow.claim_type not in ("*", facts.claim_type):
        return False, f"claim type {facts.claim_type} is not {flow.claim_type}"
    if m.categories and not facts.category_codes & set(m.categories):
        return False, "no line has one of the categories " + ", ".join(m.categories)
    if m.departments and not set(facts.department_codes) & set(m.departments):
        return False, "department is outside " + ", ".join(m.departments)
    if m.cost_centers and facts.cost_center_code not in m.cost_centers:
        return False, "cost center is not one of " + ", ".join(m.cost_centers)
    if m.min_amount is not None and facts.total < m.min_amount:
        return False, f"total below {m.min_amount}"
    if m.max_amount is not None and facts.total > m.max_amount:
        return False, f"total above {m.max_amount}"
    if m.when:
        try:
            if not compile_condition(m.when).evaluate(facts.activation):
                return False, f"match condition {m.when!r} is false"
        except ConditionError as exc:
            return False, f"match condition failed: {exc}"
    return True, "matches"


def choose(
    candidates: Sequence[tuple[FlowDefinition, object]], facts: Facts
) -> tuple[FlowDefinition, object] | None:
    """The matching flow of highest priority (ties: the more specific match, then key)."""

    def specificity(flow: FlowDefinition) -> int:
        m = flow.match
        return sum(
            bool(x)
            for x in (m.categories, m.departments, m.cost_centers, m.min_amount, m.max_amount)
        ) + (flow.claim_type != "*")

    ranked = sorted(candidates, key=lambda c: (-c[0].priority, -specificity(c[0]), c[0].key))
    return next((c for c in ranked if matches(c[0], facts)[0]), None)
