"""Budget use cases: define, adjust, read positions; the claim's budget position."""

from __future__ import annotations

import re
import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from baoxiao.audit.service import record as audit
from baoxiao.budgets import ledger
from baoxiao.budgets.errors import (
    BudgetCodeTaken,
    BudgetInvalid,
    BudgetNotFound,
)
from baoxiao.budgets.schemas import (
    BudgetCreate,
    BudgetRead,
    BudgetUpdate,
    ClaimBudgetLine,
    ClaimBudgetRead,
)
from baoxiao.identity import permissions
from baoxiao.identity.permissions import Right
from baoxiao.identity.principal import Principal
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.money import MoneyError, check_amount
from baoxiao.models.budget import Budget, BudgetEntry, EntryKind, PeriodKind
from baoxiao.models.catalog import Currency, ExpenseCategory, in_minor_units
from baoxiao.models.claim import Claim
from baoxiao.models.org import Company, CostCenter, Department, Employee

WARN_SHARE = Decimal("0.9")
_PERIOD = {
    PeriodKind.YEAR: re.compile(r"^(\d{4})$"),
    PeriodKind.QUARTER: re.compile(r"^(\d{4})-Q([1-4])$"),
    PeriodKind.MONTH: re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"),
}


def period_bounds(kind: str, period: str) -> tuple[date, date]:
    """[start, end) of "2026", "2026-Q2" or "2026-03"."""
    match = _PERIOD[PeriodKind(kind)].match(period.strip())
    if match is None:
        raise BudgetInvalid(field="period", reason=f"{period!r} is not a {kind}")
    year = int(match.group(1))
    if kind == PeriodKind.YEAR:
        return date(year, 1, 1), date(year + 1, 1, 1)
    first = (int(match.group(2)) - 1) * 3 + 1 if kind == PeriodKind.QUARTER else int(match.group(2))
    months = 3 if kind == PeriodKind.QUARTER else 1
    end_month = first + months
    end = date(year + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1)
    return date(year, first, 1), end


def period_label(budget: Budget) -> str:
    start = budget.period_start
    if budget.period_kind == PeriodKind.YEAR:
        return f"{start.year}"
    if budget.period_kind == PeriodKind.QUARTER:
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return f"{start.year}-{start.month:02d}"


def status_of(budget: Budget) -> str:
    available = budget.available
    if available < 0:
        return "over"
    if budget.amount > 0 and (budget.occupied + budget.consumed) >= budget.amount * WARN_SHARE:
        return "warn"
    if budget.amount == 0 and budget.occupied + budget.consumed > 0:
        return "over"
    return "ok"


def _code(
    session: Session, model: type[Department | CostCenter | ExpenseCategory], ref: uuid.UUID | None
) -> str | None:
    if ref is None:
        return None
    found = session.get(model, ref)
    return str(getattr(found, "code", "")) if found is not None else None


def _q(session: Session, budget: Budget, value: Decimal) -> Decimal:
    return in_minor_units(session, value, budget.currency)


def to_read(session: Session, budget: Budget) -> BudgetRead:
    minor = session.get(Currency, budget.currency)
    places = minor.minor_units if minor else 2
    q = Decimal(1).scaleb(-places)
    return BudgetRead(
        id=budget.id,
        code=budget.code,
        name=budget.name,
        period_kind=budget.period_kind,
        period=period_label(budget),
        period_start=budget.period_start,
        period_end=budget.period_end,
        control=budget.control,
        currency=budget.currency,
        department_code=_code(session, Department, budget.department_id),
        cost_center_code=_code(session, CostCenter, budget.cost_center_id),
        category_code=_code(session, ExpenseCategory, budget.category_id),
        project_code=budget.project_code,
        owner_id=budget.owner_id,
        active=budget.active,
        total=budget.amount.quantize(q),
        occupied=budget.occupied.quantize(q),
        consumed=budget.consumed.quantize(q),
        available=budget.available.quantize(q),
        status=status_of(budget),
    )


def _ref(
    session: Session,
    model: type[Department | CostCenter | ExpenseCategory],
    company_id: uuid.UUID,
    code: str | None,
    field: str,
) -> uuid.UUID | None:
    if code is None or code == "":
        return None
    found: uuid.UUID | None = session.scalars(
        select(model.id).where(model.company_id == company_id, model.code == code)
    ).first()
    if found is None:
        raise BudgetInvalid(field=field, reason=f"no {code} in this company")
    return found


def _check_owner(session: Session, company_id: uuid.UUID, owner_id: uuid.UUID | None) -> None:
    if owner_id is None:
        return
    owner = session.get(Employee, owner_id)
    if owner is None or owner.company_id != company_id:
        raise BudgetInvalid(field="owner_id", reason="no employee of this company")


def _audit(
    session: Session, principal: Principal, action: str, budget: Budget, data: dict[str, object]
) -> None:
    audit(
        session,
        actor=principal.actor,
        action=action,
        subject_type="budget",
        subject_id=str(budget.id),
        company_id=str(budget.company_id),
        at=utcnow(),
        data={"code": budget.code, **data},
    )


def _amount(session: Session, currency: str, value: Decimal, field: str) -> Decimal:
    found = session.get(Currency, currency)
    assert found is not None
    try:
        return check_amount(abs(value), found.minor_units, allow_zero=True).copy_sign(value)
    except MoneyError as exc:
        raise BudgetInvalid(field=field, reason=str(exc)) from exc


def create(session: Session, principal: Principal, data: BudgetCreate) -> Budget:
    """Define a budget for the caller's company."""
    company_id = principal.company_id
    permissions.require_right(principal, Right.BUDGET_MANAGE, company_id)
    company = session.get(Company, company_id)
    assert company is not None
    start, end = period_bounds(data.period_kind, data.period)
    _check_owner(session, company_id, data.owner_id)
    budget = Budget(
        id=uuid.uuid4(),
        company_id=company_id,
        code=data.code,
        name=data.name,
        department_id=_ref(
            session, Department, company_id, data.department_code, "department_code"
        ),
        cost_center_id=_ref(
            session, CostCenter, company_id, data.cost_center_code, "cost_center_code"
        ),
        category_id=_ref(session, ExpenseCategory, company_id, data.category_code, "category_code"),
        project_code=data.project_code or None,
        period_kind=data.period_kind,
        period_start=start,
        period_end=end,
        control=data.control,
        currency=company.base_currency,
        amount=Decimal(0),
        occupied=Decimal(0),
        consumed=Decimal(0),
        entries=0,
        owner_id=data.owner_id,
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    amount = _amount(session, budget.currency, data.amount, "amount")
    try:
        with session.begin_nested():
            session.add(budget)
            session.flush()
    except IntegrityError as exc:
        raise BudgetCodeTaken(code=data.code) from exc
    if amount:
        ledger.post(
            session,
            ledger.Movement(
                budget.id, EntryKind.ADJUST, amount_delta=amount, reason="initial amount"
            ),
            actor=principal.actor,
        )
        session.refresh(budget)
    _audit(
        session, principal, "budget:create", budget, {"amount": str(amount), "period": data.period}
    )
    return budget


def get(
    session: Session, principal: Principal, budget_id: uuid.UUID, *, manage: bool = False
) -> Budget:
    budget = session.get(Budget, budget_id)
    right = Right.BUDGET_MANAGE if manage else Right.BUDGET_VIEW
    if budget is None or not (
        permissions.has_right(principal, right, budget.company_id)
        or (not manage and budget.owner_id is not None and budget.owner_id == principal.employee_id)
    ):
        raise BudgetNotFound()
    return budget


def list_budgets(
    session: Session, principal: Principal, period_on: date | None = None
) -> list[Budget]:
    """Budgets of the caller's company (all for viewers, their own for budget owners)."""
    stmt = select(Budget).where(Budget.company_id == principal.company_id)
    if not permissions.has_right(principal, Right.BUDGET_VIEW, principal.company_id):
        if principal.employee_id is None:
            return []  # owner_id == None would match every budget without an owner
        stmt = stmt.where(Budget.owner_id == principal.employee_id)
    if period_on is not None:
        stmt = stmt.where(Budget.period_start <= period_on, Budget.period_end > period_on)
    return list(session.scalars(stmt.order_by(Budget.period_start, Budget.code)))


def update(
    session: Session, principal: Principal, budget_id: uuid.UUID, data: BudgetUpdate
) -> Budget:
    """Rename, change the control mode or owner, or (de)activate a budget."""
    budget = get(session, principal, budget_id, manage=True)
    changes = data.model_dump(exclude_unset=True)
    if "owner_id" in changes:
        _check_owner(session, budget.company_id, data.owner_id)
    for name, value in changes.items():
        if value is not None or name == "owner_id":
            setattr(budget, name, value)
    budget.updated_at = utcnow()
    session.flush()
    _audit(session, principal, "budget:update", budget, {"fields": sorted(changes)})
    return budget


def adjust(
    session: Session, principal: Principal, budget_id: uuid.UUID, amount: Decimal, reason: str
) -> BudgetEntry:
    """Raise or lower a budget; never below what is occupied and consumed."""
    budget = get(session, principal, budget_id, manage=True)
    delta = _amount(session, budget.currency, amount, "amount")
    if delta == 0:
        raise BudgetInvalid(field="amount", reason="must not be zero")
    move = ledger.Movement(budget.id, EntryKind.ADJUST, amount_delta=delta, reason=reason)
    entry = ledger.post(session, move, actor=principal.actor, guard="adjust")
    session.refresh(budget)
    _audit(session, principal, "budget:adjust", budget, {"amount": str(delta), "reason": reason})
    return entry


def entries(session: Session, principal: Principal, budget_id: uuid.UUID) -> list[BudgetEntry]:
    budget = get(session, principal, budget_id)
    return list(
        session.scalars(
            select(BudgetEntry).where(BudgetEntry.budget_id == budget.id).order_by(BudgetEntry.seq)
        )
    )


def claim_budgets(session: Session, claim: Claim) -> ClaimBudgetRead:
    """The budgets a claim's lines hit, their positions and what the claim holds in each."""
    held = ledger.held(session, claim.id)
    budgets: dict[uuid.UUID, Budget] = {}
    lines = []
    if not ledger.is_advance(session, claim):
        for line in claim.lines:
            for budget in ledger.budgets_for_line(session, claim, line):
                budgets[budget.id] = budget
                lines.append(
                    ClaimBudgetLine(
                        line_id=line.id,
                        budget_id=budget.id,
                        budget_code=budget.code,
                        requested=_q(session, budget, ledger.line_target(line)),
                        held=_q(session, budget, held.get((budget.id, line.id), Decimal(0))),
                    )
                )
    reads = [to_read(session, b) for b in budgets.values()]
    statuses = {r.status for r in reads}
    status = (
        "none"
        if not reads
        else next(s for s in ("over", "warn", "ok") if s in statuses or s == "ok")
    )
    return ClaimBudgetRead(status=status, budgets=reads, lines=lines)
