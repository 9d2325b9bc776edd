"""Budget API shapes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PeriodKindName = Literal["month", "quarter", "year"]
ControlName = Literal["block", "warn", "track"]


class BudgetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    period_kind: PeriodKindName
    period: str = Field(
        description="2026 (year), 2026-Q1 (quarter) or 2026-03 (month)", max_length=10
    )
    amount: Decimal = Field(ge=0)
    control: ControlName = "block"
    department_code: str | None = None
    cost_center_code: str | None = None
    category_code: str | None = None
    project_code: str | None = Field(default=None, max_length=64)
    owner_id: uuid.UUID | None = None


class BudgetUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    control: ControlName | None = None
    owner_id: uuid.UUID | None = None
    active: bool | None = None


class BudgetAdjust(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Decimal = Field(description="Signed: positive raises the budget, negative lowers it.")
    reason: str = Field(min_length=1, max_length=500)


class BudgetRead(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    period_kind: str
    period: str
    period_start: date
    period_end: date
    control: str
    currency: str
    department_code: str | None
    cost_center_code: str | None
    category_code: str | None
    project_code: str | None
    owner_id: uuid.UUID | None
    active: bool
    total: Decimal
    occupied: Decimal
    consumed: Decimal
    available: Decimal
    status: str = Field(description="ok, warn (90% or more used) or over")


class EntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    seq: int
    kind: str
    claim_id: uuid.UUID | None
    line_id: uuid.UUID | None
    amount_delta: Decimal
    occupied_delta: Decimal
    consumed_delta: Decimal
    amount_after: Decimal
    occupied_after: Decimal
    consumed_after: Decimal
    over_budget: bool
    reason: str | None
    actor: str
    at: datetime


class ClaimBudgetLine(BaseModel):
    line_id: uuid.UUID
    budget_id: uuid.UUID
    budget_code: str
    requested: Decimal
    held: Decimal


class ClaimBudgetRead(BaseModel):
    status: str = Field(description="none, ok, warn or over (over: some budget is exceeded)")
    budgets: list[BudgetRead]
    lines: list[ClaimBudgetLine]


class ImportResult(BaseModel):
    created: int
    adjusted: int
    unchanged: int
