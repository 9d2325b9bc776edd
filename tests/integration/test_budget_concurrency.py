"""50 parallel submissions against one block-mode budget, with real commits.

Never more than the budget is committed, and nobody is refused while enough
was left: every refused claim needed more than what remains at the end
(nothing is released meanwhile, so what is left only shrinks). On PostgreSQL
this runs under the default READ COMMITTED: the guarded UPDATE's row lock and
re-checked WHERE do the work, not the isolation level.
"""

from __future__ import annotations

import random
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select, text

from baoxiao.budgets import service as budgets
from baoxiao.budgets.errors import BudgetExceeded
from baoxiao.budgets.schemas import BudgetCreate
from baoxiao.claims import service as claims
from baoxiao.claims.schemas import ClaimCreate, ClaimLineCreate
from baoxiao.identity.service import authenticate_token
from baoxiao.kernel.db import Database
from baoxiao.models import Budget, BudgetEntry, Claim, ClaimStatus
from tests.support.factories import build_world

RACERS = 50
BUDGET = Decimal("1000.00")


def test_fifty_parallel_submissions_never_overcommit(
    committing_db: Database, db_backend: str
) -> None:
    with committing_db.transaction() as session:
        world = build_world(session)
        tokens = {name: world[name].token for name in ("claimant", "peer", "finance")}
    with committing_db.transaction() as session:
        principals = {name: authenticate_token(session, t) for name, t in tokens.items()}
        budget = budgets.create(
            session,
            principals["finance"],
            BudgetCreate(
                code="RD-NOV",
                name="R&D November",
                period_kind="month",
                period="2026-11",
                amount=BUDGET,
                control="block",
                department_code="RD",
            ),
        )
        budget_id = budget.id
    rng = random.Random(7)
    amounts: dict[uuid.UUID, Decimal] = {}
    who: dict[uuid.UUID, str] = {}
    for index in range(RACERS):
        name = "claimant" if index % 2 else "peer"
        amount = Decimal(rng.randint(500, 6000)).scaleb(-2)  # 5.00 .. 60.00
        line = ClaimLineCreate(category_code="TAXI", expense_date=date(2026, 11, 3), amount=amount)
        with committing_db.transaction() as session:
            claim = claims.create_draft(
                session, principals[name], ClaimCreate(reason=f"trip {index}", lines=[line])
            )
            amounts[claim.id], who[claim.id] = amount, name
    assert sum(amounts.values()) > BUDGET  # the race is real: not everyone can win

    barrier = threading.Barrier(RACERS)

    def attempt(claim_id: uuid.UUID) -> tuple[uuid.UUID, str]:
        barrier.wait(timeout=60)
        try:
            with committing_db.transaction() as session:
                if db_backend == "postgresql":
                    level = session.execute(text("SHOW transaction_isolation")).scalar()
                    assert level == "read committed"
                claims.submit(session, principals[who[claim_id]], claim_id, None)
        except BudgetExceeded as exc:
            return claim_id, exc.code
        return claim_id, "ok"

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        outcomes = dict(pool.map(attempt, list(amounts), timeout=300))

    won = [c for c, outcome in outcomes.items() if outcome == "ok"]
    lost = [c for c, outcome in outcomes.items() if outcome != "ok"]
    assert {outcomes[c] for c in lost} <= {"budget_exceeded"}
    assert won and lost
    with committing_db.transaction() as session:
        row = session.get(Budget, budget_id)
        assert row is not None
        occupied = sum((amounts[c] for c in won), Decimal(0))
        assert row.occupied == occupied <= BUDGET
        assert all(amounts[c] > BUDGET - occupied for c in lost)  # no spurious refusal
        ledger = session.execute(
            select(func.sum(BudgetEntry.occupied_delta), func.count()).where(
                BudgetEntry.budget_id == budget_id, BudgetEntry.kind == "occupy"
            )
        ).one()
        assert (Decimal(ledger[0]), ledger[1]) == (occupied, len(won))
        assert row.entries == len(won) + 1  # + the initial amount
        seqs = list(
            session.scalars(select(BudgetEntry.seq).where(BudgetEntry.budget_id == budget_id))
        )
        assert sorted(seqs) == list(range(1, len(won) + 2))
        statuses = dict(session.execute(select(Claim.id, Claim.status)).all())
        assert all(statuses[c] != ClaimStatus.DRAFT for c in won)
        assert all(statuses[c] == ClaimStatus.DRAFT for c in lost)  # refused: rolled back whole
