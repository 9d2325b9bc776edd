"""Routes as JSON: what the instance pins and what simulate and the claim page show."""

from __future__ import annotations

import uuid
from typing import Any

from baoxiao.approvals.engine import Assignee, Route
from baoxiao.approvals.orgview import OrgView


def _person(org: OrgView, person_id: uuid.UUID | None) -> dict[str, Any] | None:
    if person_id is None:
        return None
    info = org.person(person_id)
    return {
        "id": str(person_id),
        "name": info.name if info else None,
        "employee_no": info.employee_no if info else None,
    }


def _assignee(org: OrgView, a: Assignee, department_id: uuid.UUID | None) -> dict[str, Any]:
    pool = sorted(org.role_holders(a.role, department_id)) if a.role else []
    return {
        "person": _person(org, a.employee_id),
        "role": a.role,
        "role_holders": [_person(org, p) for p in pool],
        "acting_for": _person(org, a.acting_for),
        "why": a.why,
    }


def route_json(
    route: Route, org: OrgView, flow_info: dict[str, Any], department_id: uuid.UUID | None
) -> dict[str, Any]:
    """The resolved route with every node, the people, and the rule that chose or skipped it.

    `department_id` is the claim's: a role pool lists the holders whose grant reaches it.
    """
    return {
        "flow": flow_info,
        "steps": [
            {
                "step": s.number,
                "node_id": s.node_id,
                "node_name": s.node_name,
                "mode": s.mode,
                "assignees": [_assignee(org, a, department_id) for a in s.assignees],
            }
            for s in route.steps
        ],
        "nodes": [
            {
                "node_id": t.node_id,
                "name": t.name,
                "included": t.included,
                "reasons": t.reasons,
                "assignees": [_assignee(org, a, department_id) for a in t.assignees],
                "cc": [_person(org, p) for p in t.cc],
            }
            for t in route.trace
        ],
        "cc": [_person(org, p) for p in route.cc],
    }
