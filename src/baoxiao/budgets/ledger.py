"""The budget ledger: every movement is an entry, written with a guarded update.

Which budgets a claim line hits: every active budget of the claim's company
whose period contains the line's expense date and whose set dimensions
(department, cost center, category, project) all match; unset means any.

Concurrency: each movement is one `UPDATE budgets SET ... WHERE id = :id
[AND amount - occupied - consumed >= :amount] RETURNING ...`. On PostgreSQL
the update takes the row lock and, under READ COMMITTED, re-checks its WHERE
on the latest committed row after waiting for a concurrent writer, so two
submissions can never both take the last of a block-mode budget. SQLite
serialises writers (BEGIN IMMEDIATE). Budgets are always updated in id
order, so two claims never wait on each other in a cycle.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from sqlalchemy import func, literal, or_, select, update
from sqlalchemy.orm import Session

from baoxiao.budgets.errors import BudgetBelowCommitted, BudgetExceeded
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.types import Money
from baoxiao.models.advance import Advance
from baoxiao.models.budget import Budget, BudgetEntry, ControlMode, EntryKind
from baoxiao.models.catalog import in_minor_units
from baoxiao.models.claim import Claim, ClaimLine

ADVANCE = "advance"  # claim_type of an advance request (payments.advances)
ZERO = Decimal(0)


@dataclass(frozen=True)
class Movement:
    budget_id: uuid.UUID
    kind: EntryKind
    amount_delta: Decimal = ZERO
    occupied_delta: Decimal = ZERO
    consumed_delta: Decimal = ZERO
    claim_id: uuid.UUID | None = None
    line_id: uuid.UUID | None = None
    reason: str | None = None


def is_advance(session: Session, claim: Claim) -> bool:
    """An advance occupies no budget: the claim that offsets it does."""
    return claim.claim_type == ADVANCE and (
        session.scalar(select(Advance.id).where(Advance.claim_id == claim.id)) is not None
    )


def budgets_for_line(session: Session, claim: Claim, line: ClaimLine) -> list[Budget]:
    """The active budgets a line counts against (see the module docstring)."""
    stmt = select(Budget).where(
        Budget.company_id == claim.company_id,
        Budget.active.is_(True),
        Budget.period_start <= line.expense_date,
        Budget.period_end > line.expense_date,
        or_(Budget.department_id.is_(None), Budget.department_id == claim.department_id),
        or_(Budget.cost_center_id.is_(None), Budget.cost_center_id == claim.cost_center_id),
        or_(Budget.category_id.is_(None), Budget.category_id == line.category_id),
        or_(Budget.project_code.is_(None), Budget.project_code == claim.project_code),
    )
    return list(session.scalars(stmt.order_by(Budget.id)))


def _money(value: Decimal) -> object:
    return literal(value, Money())


def post(
    session: Session,
    move: Movement,
    *,
    actor: str,
    guard: Literal["available", "adjust"] | None = None,
) -> BudgetEntry:
    """Apply one movement to its budget and write its entry.

    guard="available": refuse (BudgetExceeded) unless the budget has the amount left;
    guard="adjust": refuse (BudgetBelowCommitted) to lower it under occupied + consumed.
    """
    stmt = (
        update(Budget)
        .where(Budget.id == move.budget_id)
        .values(
            amount=Budget.amount + _money(move.amount_delta),
            occupied=Budget.occupied + _money(move.occupied_delta),
            consumed=Budget.consumed + _money(move.consumed_delta),
            entries=Budget.entries + 1,
            updated_at=utcnow(),
        )
        .returning(
            Budget.amount, Budget.occupied, Budget.consumed, Budget.entries, Budget.company_id
        )
        .execution_options(synchronize_session=False)
    )
    left = Budget.amount - Budget.occupied - Budget.consumed
    if guard == "available":
        stmt = stmt.where(left >= _money(move.occupied_delta))
    elif guard == "adjust":
        stmt = stmt.where(left + _money(move.amount_delta) >= _money(Decimal(0)))
    row = session.execute(stmt).first()
    if row is None:
        budget = session.get(Budget, move.budget_id, populate_existing=True)
        assert budget is not None
        if guard == "adjust":
            raise BudgetBelowCommitted(
                code=budget.code, committed=str(budget.occupied + budget.consumed)
            )
        raise BudgetExceeded(
            budget=budget.code,
            available=str(in_minor_units(session, budget.available, budget.currency)),
            currency=budget.currency,
            requested=str(in_minor_units(session, move.occupied_delta, budget.currency)),
        )
    amount, occupied, consumed, seq, company_id = row
    entry = BudgetEntry(
        seq=seq,
        budget_id=move.budget_id,
        company_id=company_id,
        claim_id=move.claim_id,
        line_id=move.line_id,
        kind=move.kind,
        amount_delta=move.amount_delta,
        occupied_delta=move.occupied_delta,
        consumed_delta=move.consumed_delta,
        amount_after=amount,
        occupied_after=occupied,
        consumed_after=consumed,
        over_budget=amount - occupied - consumed < 0,
        reason=move.reason,
        actor=actor,
        at=utcnow(),
    )
    session.add(entry)
    session.flush()
    stale = session.identity_map.get(session.identity_key(Budget, move.budget_id))
    if stale is not None:  # the ORM copy is stale now
        session.expire(stale)
    return entry


def line_target(line: ClaimLine) -> Decimal:
    """What a line should hold in the budget: the approved amount once an approver set it."""
    return line.amount_base if line.approved_amount is None else line.approved_amount


def occupy(session: Session, claim: Claim, *, actor: str) -> list[BudgetEntry]:
    """On submit: every line occupies its amount in every budget it hits."""
    if is_advance(session, claim):
        return []
    pairs: list[tuple[Budget, ClaimLine]] = []
    for line in claim.lines:
        pairs += [(b, line) for b in budgets_for_line(session, claim, line)]
    pairs.sort(key=lambda p: (p[0].id, p[1].position))
    entries = []
    for budget, line in pairs:
        amount = line_target(line)
        if amount <= 0:
            continue
        move = Movement(
            budget.id, EntryKind.OCCUPY, occupied_delta=amount, claim_id=claim.id, line_id=line.id
        )
        guard: Literal["available"] | None = (
            "available" if budget.control == ControlMode.BLOCK else None
        )
        entries.append(post(session, move, actor=actor, guard=guard))
    return entries


def held(
    session: Session, claim_id: uuid.UUID
) -> dict[tuple[uuid.UUID, uuid.UUID | None], Decimal]:
    """What each (budget, line) of a claim still occupies, from the ledger."""
    rows = session.execute(
        select(BudgetEntry.budget_id, BudgetEntry.line_id, func.sum(BudgetEntry.occupied_delta))
        .where(BudgetEntry.claim_id == claim_id)
        .group_by(BudgetEntry.budget_id, BudgetEntry.line_id)
    ).all()
    out: dict[tuple[uuid.UUID, uuid.UUID | None], Decimal] = defaultdict(lambda: ZERO)
    for budget_id, line_id, total in rows:
        if total:
            out[(budget_id, line_id)] = Decimal(total)
    return dict(out)


def _give_back(
    session: Session,
    claim: Claim,
    *,
    actor: str,
    reason: str,
    keep: Callable[[uuid.UUID | None, Decimal], Decimal] = lambda _line, _held: ZERO,
    consume: bool = False,
) -> list[BudgetEntry]:
    """Release (or consume) what each (budget, line) of the claim holds beyond `keep`."""
    entries = []
    for (budget_id, line_id), amount in sorted(held(session, claim.id).items(), key=str):
        delta = amount - keep(line_id, amount)
        if delta <= 0:
            continue
        move = Movement(
            budget_id,
            EntryKind.CONSUME if consume else EntryKind.RELEASE,
            occupied_delta=-delta,
            consumed_delta=delta if consume else ZERO,
            claim_id=claim.id,
            line_id=line_id,
            reason=reason,
        )
        entries.append(post(session, move, actor=actor))
    return entries


def release(session: Session, claim: Claim, *, actor: str, reason: str) -> list[BudgetEntry]:
    """Rejected, returned, withdrawn or cancelled: give back everything still occupied."""
    return _give_back(session, claim, actor=actor, reason=reason)


def follow_line_decisions(session: Session, claim: Claim, *, actor: str) -> list[BudgetEntry]:
    """An approver lowered or refused lines: release what they no longer need."""
    targets = {line.id: line_target(line) for line in claim.lines}
    return _give_back(
        session,
        claim,
        actor=actor,
        reason="line lowered or refused by an approver",
        keep=lambda line_id, amount: targets.get(line_id, ZERO) if line_id else amount,
    )


def consume(session: Session, claim: Claim, *, actor: str) -> list[BudgetEntry]:
    """Paid: what the claim occupies becomes consumed."""
    follow_line_decisions(session, claim, actor=actor)
    return _give_back(session, claim, actor=actor, reason="paid", consume=True)
