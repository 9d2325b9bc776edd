"""Approver selectors: who a node's `approvers` entry names, given the org (pure)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from baoxiao.approvals.definition import Selector
from baoxiao.approvals.model import Facts
from baoxiao.approvals.orgview import OrgView

MAX_DEPTH = 64  # org charts deeper than this are treated as broken (a manager cycle)


@dataclass(frozen=True)
class Candidate:
    employee_id: uuid.UUID | None
    role: str | None
    why: str


def climb_manager(
    org: OrgView,
    start: uuid.UUID,
    level: int,
    *,
    exclude: set[uuid.UUID] | None = None,
    climb_past: bool = False,
) -> uuid.UUID | None:
    """The active manager `level` levels above `start`; vacancies are passed over.

    With climb_past, people in `exclude` are passed over too (escalation).
    """
    exclude = exclude or set()
    person = org.person(start)
    count, seen = 0, {start}
    for _ in range(MAX_DEPTH):
        if person is None or person.manager_id is None or person.manager_id in seen:
            return None
        seen.add(person.manager_id)
        person = org.person(person.manager_id)
        if person is None:
            return None
        if not person.active:
            continue
        if climb_past and person.id in exclude:
            continue
        count += 1
        if count >= level:
            return None if person.id in exclude else person.id
    return None


def _chain_to_grade(org: OrgView, start: uuid.UUID, grade: str) -> list[uuid.UUID]:
    out: list[uuid.UUID] = []
    person, seen = org.person(start), {start}
    for _ in range(MAX_DEPTH):
        if person is None or person.manager_id is None or person.manager_id in seen:
            break
        seen.add(person.manager_id)
        person = org.person(person.manager_id)
        if person is None:
            break
        if person.active:
            out.append(person.id)
            if person.grade == grade:
                return out
    return out  # grade not found: the whole chain up to the top


def _department_heads(org: OrgView, dept_id: uuid.UUID | None, levels: int) -> list[uuid.UUID]:
    out: list[uuid.UUID] = []
    seen: set[uuid.UUID] = set()
    for _ in range(levels):
        dept = org.department(dept_id) if dept_id else None
        if dept is None or dept.id in seen:
            break
        seen.add(dept.id)
        head = org.person(dept.head_id) if dept.head_id else None
        if head is not None and head.active:
            out.append(head.id)
        dept_id = dept.parent_id
    return out


def select(
    sel: Selector, facts: Facts, org: OrgView, *, expand_roles: bool = False
) -> list[Candidate]:
    """The people (or the role pool, one party) a selector names for this claim."""
    if sel.type == "user":
        person = org.find_person(sel.user or "")
        ok = person is not None and person.active
        return [Candidate(person.id, None, f"named user {sel.user}")] if ok and person else []
    if sel.type == "role":
        role = sel.role or ""
        holders = org.role_holders(role, facts.department_id) - {facts.claimant_id}
        if not holders:
            return []
        if expand_roles:  # CC: everyone holding the role is told
            return [Candidate(h, None, f"holds role {role}") for h in sorted(holders)]
        return [Candidate(None, role, f"any holder of role {role} in the company")]
    if sel.type == "manager":
        if sel.up_to_grade:
            chain = _chain_to_grade(org, facts.claimant_id, sel.up_to_grade)
            return [
                Candidate(p, None, f"manager chain up to grade {sel.up_to_grade}") for p in chain
            ]
        level = sel.level or 1
        boss = climb_manager(org, facts.claimant_id, level)
        return [Candidate(boss, None, f"manager at level {level}")] if boss else []
    if sel.type == "department_head":
        heads = _department_heads(org, facts.department_id, sel.levels or 1)
        return [Candidate(h, None, "head of the claimant's department or above") for h in heads]
    owner: uuid.UUID | None = None
    if sel.type == "budget_owner" and facts.budget_owner_id is not None:
        owner = facts.budget_owner_id
    elif facts.cost_center_id is not None:
        owner = org.cost_center_owner(facts.cost_center_id)
    person = org.person(owner) if owner else None
    if person is None or not person.active:
        return []
    return [Candidate(person.id, None, f"{sel.type.replace('_', ' ')}")]
