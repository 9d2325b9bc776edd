"""Budgets to and from Excel (openpyxl): one sheet, one budget per row.

Import creates the budgets whose code is new and adjusts the amount of those
that exist (an adjustment entry in the ledger); every row is checked first,
and one bad row imports nothing.
"""

from __future__ import annotations

import io
from decimal import Decimal, InvalidOperation
from typing import Any

from openpyxl import Workbook, load_workbook
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.budgets import service
from baoxiao.budgets.errors import BudgetImportInvalid
from baoxiao.budgets.schemas import BudgetCreate, ImportResult
from baoxiao.identity import permissions
from baoxiao.identity.permissions import Right
from baoxiao.identity.principal import Principal
from baoxiao.kernel.errors import AppError
from baoxiao.models.budget import Budget

COLUMNS = [
    "code",
    "name",
    "period_kind",
    "period",
    "amount",
    "control",
    "department_code",
    "cost_center_code",
    "category_code",
    "project_code",
]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_ROWS = 5000


def export(session: Session, principal: Principal) -> bytes:
    """Every budget of the company with its position (total, occupied, consumed, available)."""
    permissions.require_right(principal, Right.BUDGET_VIEW, principal.company_id)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "budgets"
    sheet.append([*COLUMNS, "occupied", "consumed", "available", "status"])
    for budget in service.list_budgets(session, principal):
        r = service.to_read(session, budget)
        sheet.append(
            [
                r.code,
                r.name,
                r.period_kind,
                r.period,
                str(r.total),
                r.control,
                r.department_code or "",
                r.cost_center_code or "",
                r.category_code or "",
                r.project_code or "",
                str(r.occupied),
                str(r.consumed),
                str(r.available),
                r.status,
            ]
        )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _rows(content: bytes) -> list[dict[str, Any]]:
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not xlsx
        raise BudgetImportInvalid(
            errors=[{"field": "file", "message": f"not an xlsx file: {exc}"}]
        ) from exc
    sheet = book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = [(_cell(h) or "").lower() for h in next(rows, ())]
    missing = [c for c in COLUMNS[:5] if c not in header]
    if missing:
        raise BudgetImportInvalid(errors=[{"field": "header", "message": f"missing {missing}"}])
    out = []
    for number, values in enumerate(rows, start=2):
        if number > MAX_ROWS + 1:
            raise BudgetImportInvalid(errors=[{"field": "rows", "message": f"over {MAX_ROWS}"}])
        row = {h: _cell(v) for h, v in zip(header, values, strict=False) if h in COLUMNS}
        if any(row.values()):
            out.append({"_row": number, **row})
    return out


def _parse(row: dict[str, Any]) -> BudgetCreate:
    data = {k: v for k, v in row.items() if k != "_row" and v is not None}
    try:
        data["amount"] = Decimal(str(data.get("amount", "")).replace(",", ""))
    except InvalidOperation as exc:
        raise ValueError(f"amount {data.get('amount')!r} is not a number") from exc
    data.setdefault("control", "block")
    return BudgetCreate.model_validate(data)


def import_budgets(session: Session, principal: Principal, content: bytes) -> ImportResult:
    """Create or adjust budgets from a sheet; all rows or none."""
    permissions.require_right(principal, Right.BUDGET_MANAGE, principal.company_id)
    parsed, errors = [], []
    for row in _rows(content):
        try:
            data = _parse(row)
            service.period_bounds(data.period_kind, data.period)
            parsed.append(data)
        except (ValueError, ValidationError, AppError) as exc:
            errors.append({"field": f"row {row['_row']}", "message": str(exc)[:300]})
    if errors:
        raise BudgetImportInvalid(errors=errors)
    created = adjusted = unchanged = 0
    try:
        for data in parsed:
            existing = session.scalars(
                select(Budget).where(
                    Budget.company_id == principal.company_id, Budget.code == data.code
                )
            ).first()
            if existing is None:
                service.create(session, principal, data)
                created += 1
            elif existing.amount != data.amount:
                service.adjust(
                    session, principal, existing.id, data.amount - existing.amount, "import"
                )
                adjusted += 1
            else:
                unchanged += 1
    except AppError as exc:
        raise BudgetImportInvalid(
            errors=[{"field": f"budget {data.code}", "message": exc.render("en")}]
        ) from exc
    return ImportResult(created=created, adjusted=adjusted, unchanged=unchanged)
