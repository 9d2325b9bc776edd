"""Facts for routing: the built-in claim/org facts plus whatever providers contribute.

A facts provider is a function `(session, claim) -> dict` registered under one
or more top-level CEL names. The built-in provider fills `claim`, `claimant`
and `lines`; `policy` and `budget` start as neutral defaults and are filled by
the policies (issue #8) and budgets packages when they register, e.g. at app
start-up:

    from baoxiao.approvals import facts
    facts.register_provider("policy", lambda session, claim: policies.service.facts_for(claim))

A provider's dict is the value of its CEL variable (`policy.flags`,
`budget.status`). A `budget` provider may also return `owner_id` (a UUID
string) to name the budget owner the `budget_owner` selector routes to.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from baoxiao.approvals.conditions import BUILTIN_VARIABLES
from baoxiao.approvals.model import Facts
from baoxiao.models.claim import Claim
from baoxiao.models.org import CostCenter, Department, Employee

Provider = Callable[[Session, Claim], dict[str, Any]]
MAX_DEPARTMENT_DEPTH = 64

DEFAULTS: dict[str, dict[str, Any]] = {
    "policy": {"flags": [], "violations": 0},
    "budget": {"status": "unknown", "available": 0.0, "owner_id": ""},
}


@dataclass(frozen=True)
class Registration:
    name: str
    provider: Provider


_providers: dict[str, Provider] = {}


def register_provider(name: str, provider: Provider) -> None:
    """Contribute the CEL variable `name` (a later registration replaces an earlier one)."""
    if name in ("claim", "claimant", "lines"):
        raise ValueError(f"{name} is a built-in fact and cannot be replaced")
    _providers[name] = provider


def unregister_provider(name: str) -> None:
    _providers.pop(name, None)


def known_variables() -> frozenset[str]:
    """The top-level names a condition may use."""
    return BUILTIN_VARIABLES | frozenset(_providers)


def _department_chain(session: Session, dept_id: uuid.UUID | None) -> list[Department]:
    chain: list[Department] = []
    seen: set[uuid.UUID] = set()
    while dept_id is not None and dept_id not in seen and len(chain) < MAX_DEPARTMENT_DEPTH:
        seen.add(dept_id)
        dept = session.get(Department, dept_id)
        if dept is None:
            break
        chain.append(dept)
        dept_id = dept.parent_id
    return chain


def _money(value: Decimal) -> float:
    return float(value)  # CEL has no decimal: comparisons only, never arithmetic on money


def facts_for(session: Session, claim: Claim) -> Facts:
    """The facts of a saved (or unsaved, hypothetical) claim."""
    claimant = session.get(Employee, claim.claimant_id)
    chain = _department_chain(session, claim.department_id)
    center = session.get(CostCenter, claim.cost_center_id) if claim.cost_center_id else None
    lines = [
        {
            "category": line.category.code if line.category else "",
            "amount": _money(line.amount),
            "currency": line.currency,
            "amount_base": _money(line.amount_base),
            "city": line.city or "",
            "expense_date": line.expense_date.isoformat(),
            "description": line.description,
        }
        for line in claim.lines
    ]
    categories = sorted({str(line["category"]) for line in lines})
    dept_codes = [d.code for d in chain]
    activation: dict[str, Any] = {
        "claim": {
            "id": str(claim.id) if claim.id else "",
            "number": claim.number or "",
            "type": claim.claim_type or "general",
            "total": _money(claim.total_amount),
            "total_minor": int(claim.total_amount * 100),
            "currency": claim.currency,
            "categories": categories,
            "department": dept_codes[0] if dept_codes else "",
            "departments": dept_codes,
            "cost_center": center.code if center else "",
            "line_count": len(lines),
        },
        "claimant": {
            "id": str(claim.claimant_id),
            "employee_no": claimant.employee_no if claimant else "",
            "grade": (claimant.grade or "") if claimant else "",
            "department": dept_codes[0] if dept_codes else "",
        },
        "lines": lines,
        **{name: dict(value) for name, value in DEFAULTS.items()},
    }
    for name, provider in _providers.items():
        activation[name] = {**DEFAULTS.get(name, {}), **provider(session, claim)}
    owner = activation.get("budget", {}).get("owner_id") or None
    return Facts(
        claim_id=claim.id,
        claimant_id=claim.claimant_id,
        department_id=claim.department_id,
        cost_center_id=claim.cost_center_id,
        total=claim.total_amount,
        claim_type=claim.claim_type or "general",
        category_codes=frozenset(categories),
        department_codes=tuple(dept_codes),
        cost_center_code=center.code if center else None,
        activation=activation,
        budget_owner_id=uuid.UUID(owner) if owner else None,
    )
