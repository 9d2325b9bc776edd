"""Budgets and their ledger: one entry per claim line and movement, never a recomputed number.

A budget covers a company and optionally a department, cost center, expense
category and project, for a month, quarter or year. Its running figures
(amount, occupied, consumed) change only together with a ledger entry that
records the delta and the figures after it, in the same transaction; the
check constraints keep them from going negative.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.db import Base
from baoxiao.kernel.ids import new_id


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class ControlMode(StrEnum):
    BLOCK = "block"  # a submission that would exceed it is refused
    WARN = "warn"  # allowed, shown as over budget to approvers (budget.status == "over")
    TRACK = "track"  # only recorded


class EntryKind(StrEnum):
    OCCUPY = "occupy"  # a submitted line takes its amount
    RELEASE = "release"  # rejected, returned, withdrawn, cancelled, or a line lowered
    CONSUME = "consume"  # paid: occupied becomes consumed
    ADJUST = "adjust"  # finance raises or lowers the budget amount


class Budget(Base):
    __tablename__ = "budgets"
    __table_args__ = (
        UniqueConstraint("company_id", "code"),
        CheckConstraint("occupied >= 0", name="budget_occupied_not_negative"),
        CheckConstraint("consumed >= 0", name="budget_consumed_not_negative"),
        CheckConstraint("amount >= 0", name="budget_amount_not_negative"),
        CheckConstraint("period_end > period_start", name="budget_period_order"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("departments.id"))
    cost_center_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cost_centers.id"))
    category_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("expense_categories.id"))
    project_code: Mapped[str | None] = mapped_column(String(64))
    period_kind: Mapped[str] = mapped_column(String(8))
    period_start: Mapped[date]  # inclusive
    period_end: Mapped[date]  # exclusive
    control: Mapped[str] = mapped_column(String(8), default=ControlMode.BLOCK)
    currency: Mapped[str] = mapped_column(ForeignKey("currencies.code"))
    amount: Mapped[Decimal] = mapped_column(default=Decimal(0))  # after adjustments
    occupied: Mapped[Decimal] = mapped_column(default=Decimal(0))
    consumed: Mapped[Decimal] = mapped_column(default=Decimal(0))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("employees.id"))
    entries: Mapped[int] = mapped_column(Integer, default=0)  # ledger entries so far
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def available(self) -> Decimal:
        return self.amount - self.occupied - self.consumed


class BudgetEntry(Base):
    """One movement of one budget, for one claim line (or an adjustment)."""

    __tablename__ = "budget_entries"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    seq: Mapped[int] = mapped_column(Integer)  # per budget, 1, 2, 3...
    budget_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("budgets.id"), index=True)
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id"))
    claim_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("claims.id"), index=True)
    line_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("claim_lines.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(16))
    amount_delta: Mapped[Decimal] = mapped_column(default=Decimal(0))
    occupied_delta: Mapped[Decimal] = mapped_column(default=Decimal(0))
    consumed_delta: Mapped[Decimal] = mapped_column(default=Decimal(0))
    amount_after: Mapped[Decimal]
    occupied_after: Mapped[Decimal]
    consumed_after: Mapped[Decimal]
    over_budget: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str | None] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("budget_id", "seq"),)
