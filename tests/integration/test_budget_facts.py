"""budget.* in approval conditions: an over-budget claim routes to the budget owner."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from baoxiao.approvals import facts
from baoxiao.approvals import flows as approval_flows
from baoxiao.budgets import service as budgets
from baoxiao.budgets.schemas import BudgetCreate
from baoxiao.claims import service as claims
from baoxiao.claims.schemas import ClaimCreate, ClaimLineCreate
from baoxiao.identity.service import principal_for
from baoxiao.kernel.db import Database
from baoxiao.models import ApprovalTask
from tests.support.factories import build_world

FLOW: dict[str, Any] = {
    "schema": "baoxiao.approval-flow/v1",
    "key": "budget-aware",
    "name": "Over budget goes to the budget owner",
    "claim_type": "*",
    "priority": 50,
    "nodes": [
        {
            "id": "manager",
            "name": "Manager",
            "approvers": [{"type": "manager", "level": 1}],
            "fallback": "escalate",
        },
        {
            "id": "budget_owner",
            "name": "Budget owner",
            "when": 'budget.status == "over"',
            "approvers": [{"type": "budget_owner"}],
            "fallback": "skip",
        },
        {
            "id": "finance",
            "name": "Finance",
            "approvers": [{"type": "role", "role": "finance"}],
            "mode": "any",
            "fallback": "admin",
        },
    ],
}


def _claim(session: Any, principal: Any, amount: str) -> Any:
    line = ClaimLineCreate(
        category_code="TAXI", expense_date=date(2026, 11, 5), amount=Decimal(amount)
    )
    claim = claims.create_draft(session, principal, ClaimCreate(reason="trip", lines=[line]))
    claims.submit(session, principal, claim.id, None)
    return claim


def test_over_budget_routes_to_its_owner(db: Database) -> None:
    with db.transaction() as session:
        world = build_world(session)
        p = {n: principal_for(world[n].user) for n in ("claimant", "finance", "admin", "boss")}
        owner = world["boss"].employee
        assert owner is not None
        budgets.create(
            session,
            p["finance"],
            BudgetCreate(
                code="RD",
                name="RD",
                period_kind="month",
                period="2026-11",
                amount=Decimal("100"),
                control="warn",
                department_code="RD",
                owner_id=owner.id,
            ),
        )
        flow = approval_flows.create_flow(session, p["admin"], FLOW)
        approval_flows.publish(session, p["admin"], flow.id)

        within = _claim(session, p["claimant"], "60.00")
        seen = facts.facts_for(session, within).activation["budget"]
        assert (seen["status"], seen["available"], seen["codes"]) == ("ok", 40.0, ["RD"])
        assert seen["owner_id"] == str(owner.id)
        over = _claim(session, p["claimant"], "70.00")
        seen = facts.facts_for(session, over).activation["budget"]
        assert (seen["status"], seen["available"]) == ("over", -30.0)
        assert seen["utilisation"] == 1.3

        def steps(claim: Any) -> list[str]:
            tasks = session.scalars(
                select(ApprovalTask).where(ApprovalTask.claim_id == claim.id)
            ).all()
            return sorted({t.step_name for t in tasks})

        assert steps(within) == ["finance", "manager"]
        assert steps(over) == ["budget_owner", "finance", "manager"]
        owner_task = session.scalars(
            select(ApprovalTask).where(
                ApprovalTask.claim_id == over.id, ApprovalTask.step_name == "budget_owner"
            )
        ).one()
        assert owner_task.assignee_id == owner.id
