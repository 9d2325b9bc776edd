"""The `budget` CEL variable of approval conditions, from the claim's budget position.

budget.status: "none" (no budget covers the claim), "ok", "warn" (90% or more
used) or "over"; budget.available: the least left in any budget the claim hits;
budget.utilisation: the highest share used (1.0 = all of it); budget.codes;
budget.owner_id: the owner of the tightest budget (for the budget_owner selector).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from baoxiao.approvals import facts as approval_facts
from baoxiao.budgets import service
from baoxiao.models.claim import Claim


def budget_facts(session: Session, claim: Claim) -> dict[str, Any]:
    position = service.claim_budgets(session, claim)
    if not position.budgets:
        return {"status": "none", "available": 0.0, "utilisation": 0.0, "codes": [], "owner_id": ""}
    tightest = min(position.budgets, key=lambda b: b.available)
    shares = [
        float((b.occupied + b.consumed) / b.total) if b.total > 0 else 1.0 for b in position.budgets
    ]
    return {
        "status": position.status,
        "available": float(tightest.available),  # CEL has no decimal: compare only
        "utilisation": max(shares),
        "codes": sorted(b.code for b in position.budgets),
        "owner_id": str(tightest.owner_id) if tightest.owner_id else "",
    }


approval_facts.register_provider("budget", budget_facts)
