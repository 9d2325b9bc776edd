"""Org API shapes."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class CompanyRead(_Read):
    id: uuid.UUID
    code: str
    name: str
    name_en: str | None
    tax_id: str | None
    base_currency: str
    timezone: str


class DepartmentRead(_Read):
    id: uuid.UUID
    code: str
    name: str
    name_en: str | None
    parent_id: uuid.UUID | None
    head_id: uuid.UUID | None
    active: bool


class CostCenterRead(_Read):
    id: uuid.UUID
    code: str
    name: str
    owner_id: uuid.UUID | None
    active: bool


class EmployeeRead(_Read):
    id: uuid.UUID
    employee_no: str
    name: str
    email: str | None
    grade: str | None
    department_id: uuid.UUID | None
    manager_id: uuid.UUID | None
    cost_center_id: uuid.UUID | None
    active: bool


class CategoryRead(_Read):
    id: uuid.UUID
    code: str
    name_zh: str
    name_en: str
    gl_account: str
    active: bool


class CurrencyRead(_Read):
    code: str
    name: str
    minor_units: int
    active: bool


class ExchangeRateRead(_Read):
    base: str
    quote: str
    rate: Decimal
    effective_date: date
