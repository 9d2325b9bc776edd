"""Dashboard figures over the claims the caller may see (the same visibility as the lists).

Spend counts approved, paying and paid claims at the amount that will be paid. Months are
the company's calendar months. Aggregation happens in Python over narrow rows: the same
code on SQLite and PostgreSQL, and plenty fast for one company's dashboard.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baoxiao.approvals import service as approvals
from baoxiao.budgets import service as budgets
from baoxiao.identity import permissions
from baoxiao.identity.principal import Principal
from baoxiao.kernel.clock import utcnow
from baoxiao.models.catalog import ExpenseCategory
from baoxiao.models.claim import Claim, ClaimLine, ClaimStatus
from baoxiao.models.org import Company, Department

SPENT = (ClaimStatus.APPROVED, ClaimStatus.PAYING, ClaimStatus.PAID)
OPEN = (ClaimStatus.DRAFT, ClaimStatus.RETURNED, ClaimStatus.SUBMITTED, ClaimStatus.APPROVING)
MONTHS = 12


@dataclass
class Series:
    labels: list[str] = field(default_factory=list)
    values: list[Decimal] = field(default_factory=list)


@dataclass
class Dashboard:
    currency: str
    spend_by_month: Series
    spend_by_department: list[tuple[Department | None, Decimal]]
    spend_by_category: list[tuple[ExpenseCategory, Decimal]]
    cycle_hours_by_month: Series
    my_open_claims: int
    waiting_for_me: int
    total_spend: Decimal
    # This period's active budgets the viewer may see (budgets.service.list_budgets decides).
    budget_use: list[dict[str, object]] = field(default_factory=list)


def _month(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m")


def _spent_claims(session: Session, principal: Principal, currency: str) -> list[Claim]:
    return list(
        session.scalars(
            select(Claim).where(
                permissions.claim_visibility(principal),
                Claim.status.in_(SPENT),
                Claim.currency == currency,
            )
        )
    )


def _by_month(pairs: list[tuple[str, Decimal]]) -> Series:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for month, value in pairs:
        sums[month] += value
    months = sorted(sums)[-MONTHS:]
    return Series(months, [sums[m] for m in months])


def _cycle_times(claims: list[Claim], tz: ZoneInfo) -> Series:
    hours: dict[str, list[Decimal]] = defaultdict(list)
    for c in claims:
        if c.submitted_at and c.approved_at:
            seconds = Decimal((c.approved_at - c.submitted_at).total_seconds())
            hours[_month(c.approved_at, tz)].append(seconds / 3600)
    months = sorted(hours)[-MONTHS:]
    return Series(
        months,
        [(sum(hours[m], Decimal(0)) / len(hours[m])).quantize(Decimal("0.1")) for m in months],
    )


def _by_category(
    session: Session, claim_ids: list[uuid.UUID]
) -> list[tuple[ExpenseCategory, Decimal]]:
    if not claim_ids:
        return []
    paid = func.coalesce(ClaimLine.approved_amount, ClaimLine.amount_base)
    rows = session.execute(
        select(ExpenseCategory, func.sum(paid))
        .join(ClaimLine, ClaimLine.category_id == ExpenseCategory.id)
        .where(ClaimLine.claim_id.in_(claim_ids))
        .group_by(ExpenseCategory.id)
    )
    out = [(category, Decimal(total or 0)) for category, total in rows]
    return sorted(out, key=lambda pair: pair[1], reverse=True)


def _budget_use(session: Session, principal: Principal, tz: ZoneInfo) -> list[dict[str, object]]:
    """Budgets running today that the viewer may see: all for BUDGET_VIEW, else their own."""
    today = utcnow().astimezone(tz).date()
    reads = [
        budgets.to_read(session, b)
        for b in budgets.list_budgets(session, principal, period_on=today)
        if b.active
    ]
    return [
        {
            "id": r.id,
            "code": r.code,
            "name": r.name,
            "period": r.period,
            "currency": r.currency,
            "amount": r.total,
            "used": r.occupied + r.consumed,
            "available": r.available,
            "share": (
                ((r.occupied + r.consumed) * 100 / r.total).quantize(Decimal(1))
                if r.total > 0
                else Decimal(100)
            ),
            "status": r.status,
        }
        for r in reads
    ]


def dashboard(session: Session, principal: Principal) -> Dashboard:
    """Spend by month, department and category, approval cycle time, and my counts."""
    company = session.get(Company, principal.company_id)
    assert company is not None
    tz = ZoneInfo(company.timezone)
    claims = _spent_claims(session, principal, company.base_currency)
    by_dept: dict[uuid.UUID | None, Decimal] = defaultdict(Decimal)
    for c in claims:
        by_dept[c.department_id] += c.payable_amount
    departments = {
        d.id: d for d in session.scalars(select(Department).where(Department.id.in_(list(by_dept))))
    }
    mine = session.scalar(
        select(func.count())
        .select_from(Claim)
        .where(Claim.claimant_id == principal.employee_id, Claim.status.in_(OPEN))
    )
    return Dashboard(
        currency=company.base_currency,
        spend_by_month=_by_month(
            [(_month(c.approved_at or c.created_at, tz), c.payable_amount) for c in claims]
        ),
        spend_by_department=sorted(
            ((departments.get(d) if d else None, v) for d, v in by_dept.items()),
            key=lambda pair: pair[1],
            reverse=True,
        ),
        spend_by_category=_by_category(session, [c.id for c in claims]),
        cycle_hours_by_month=_cycle_times(claims, tz),
        my_open_claims=int(mine or 0) if principal.employee_id else 0,
        waiting_for_me=len(approvals.list_tasks(session, principal, limit=500)),
        total_spend=sum((c.payable_amount for c in claims), Decimal(0)),
        budget_use=_budget_use(session, principal, tz),
    )
