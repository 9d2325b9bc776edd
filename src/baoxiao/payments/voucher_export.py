"""Vouchers out: listing, JSON, and the Excel import templates of Kingdee and Yonyou.

The column headers are those of the vendors' voucher import (凭证引入) sheets
as best known to us (docs/guide/finance.md says which); ERP versions differ,
so compare with a template exported from your own ERP before the first import.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from baoxiao.audit.service import record as audit
from baoxiao.identity import permissions
from baoxiao.identity.permissions import Right
from baoxiao.identity.principal import Principal
from baoxiao.kernel.clock import utcnow
from baoxiao.models.claim import Claim
from baoxiao.models.voucher import AccountMapping, Voucher
from baoxiao.payments import vouchers
from baoxiao.payments.errors import BankFormatUnknown, VoucherNotFound
from baoxiao.payments.vouchers import DEFAULT_ACCOUNTS

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Kingdee K/3 WISE / KIS 凭证引入 (Excel).
KINGDEE_HEADER = [
    "凭证日期",
    "会计年度",
    "会计期间",
    "凭证字",
    "凭证号",
    "分录号",
    "摘要",
    "科目代码",
    "币别",
    "汇率",
    "原币金额",
    "借方金额",
    "贷方金额",
    "制单人",
    "核算项目",
]
# Yonyou U8 总账 凭证引入 (Excel).
YONYOU_HEADER = [
    "凭证类别",
    "制单日期",
    "凭证号",
    "附单据数",
    "摘要",
    "科目编码",
    "借方金额",
    "贷方金额",
    "币种",
    "汇率",
    "外币金额",
    "部门编码",
    "个人编码",
    "项目编码",
    "制单人",
]


def list_vouchers(
    session: Session,
    principal: Principal,
    *,
    claim_id: uuid.UUID | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: int = 500,
) -> list[Voucher]:
    permissions.require_right(principal, Right.VOUCHER_EXPORT, principal.company_id)
    stmt = (
        select(Voucher)
        .where(Voucher.company_id == principal.company_id)
        .options(selectinload(Voucher.lines))
        .order_by(Voucher.number)
        .limit(max(1, min(limit, 5000)))
    )
    if claim_id is not None:
        stmt = stmt.where(Voucher.claim_id == claim_id)
    if date_from is not None:
        stmt = stmt.where(Voucher.voucher_date >= date_from)
    if date_to is not None:
        stmt = stmt.where(Voucher.voucher_date <= date_to)
    return list(session.scalars(stmt))


def get(session: Session, principal: Principal, voucher_id: uuid.UUID) -> Voucher:
    voucher = session.get(Voucher, voucher_id)
    if voucher is None or not permissions.has_right(
        principal, Right.VOUCHER_EXPORT, voucher.company_id
    ):
        raise VoucherNotFound()
    return voucher


def as_json(voucher: Voucher, claim_number: str | None = None) -> dict[str, Any]:
    """The voucher as plain data (the same as the `voucher.created` event payload)."""
    return vouchers.created_event(voucher, claim_number).data


def _money(value: object) -> str:
    return f"{value:.2f}" if value else ""


def _sheet(book: Workbook, header: list[str]) -> Worksheet:
    sheet = book.active
    assert isinstance(sheet, Worksheet)
    sheet.title = "凭证"
    sheet.append(header)
    return sheet


def _kingdee(book: Workbook, vouchers: list[Voucher], maker: str) -> None:
    sheet = _sheet(book, KINGDEE_HEADER)
    for number, v in enumerate(vouchers, start=1):
        for line in v.lines:
            amount = line.debit or line.credit
            aux = ";".join(x for x in (line.cost_center, line.employee_no) if x)
            sheet.append(
                [
                    v.voucher_date.isoformat(),
                    v.voucher_date.year,
                    v.voucher_date.month,
                    "记",
                    number,
                    line.position,
                    line.summary,
                    line.account,
                    v.currency,
                    1,
                    _money(amount),
                    _money(line.debit),
                    _money(line.credit),
                    maker,
                    aux,
                ]
            )


def _yonyou(book: Workbook, vouchers: list[Voucher], maker: str) -> None:
    sheet = _sheet(book, YONYOU_HEADER)
    for number, v in enumerate(vouchers, start=1):
        for line in v.lines:
            sheet.append(
                [
                    "记",
                    v.voucher_date.isoformat(),
                    number,
                    1,
                    line.summary,
                    line.account,
                    _money(line.debit),
                    _money(line.credit),
                    v.currency,
                    1,
                    "",
                    line.cost_center or "",
                    line.employee_no or "",
                    "",
                    maker,
                ]
            )


WRITERS: dict[str, Callable[[Workbook, list[Voucher], str], None]] = {
    "kingdee": _kingdee,
    "yonyou": _yonyou,
}


def export(
    session: Session, principal: Principal, fmt: str, vouchers: list[Voucher]
) -> tuple[bytes, str, str]:
    """(content, media type, file name); marks the vouchers exported and audits it."""
    if fmt not in WRITERS:
        raise BankFormatUnknown(format=fmt)
    book = Workbook()
    WRITERS[fmt](book, vouchers, principal.display_name)
    buffer = io.BytesIO()
    book.save(buffer)
    now = utcnow()
    for voucher in vouchers:
        voucher.exported_at = now
    audit(
        session,
        actor=principal.actor,
        action="voucher:export",
        subject_type="company",
        subject_id=str(principal.company_id),
        company_id=str(principal.company_id),
        at=now,
        data={"format": fmt, "vouchers": [v.number for v in vouchers]},
    )
    return buffer.getvalue(), XLSX, f"vouchers-{fmt}-{now:%Y%m%d%H%M%S}.xlsx"


def claim_numbers(session: Session, vouchers: list[Voucher]) -> dict[uuid.UUID, str]:
    ids = {v.claim_id for v in vouchers if v.claim_id}
    if not ids:
        return {}
    return dict(session.execute(select(Claim.id, Claim.number).where(Claim.id.in_(ids))).all())


def mappings(session: Session, principal: Principal) -> dict[str, str]:
    """Every mapped account of the company, the defaults filled in."""
    permissions.require_right(principal, Right.VOUCHER_EXPORT, principal.company_id)
    out = {key: account for key, (account, _name) in DEFAULT_ACCOUNTS.items()}
    rows = session.scalars(
        select(AccountMapping).where(AccountMapping.company_id == principal.company_id)
    )
    out.update({row.key: row.account for row in rows})
    return dict(sorted(out.items()))


def set_mapping(session: Session, principal: Principal, key: str, account: str) -> dict[str, str]:
    """Map a role (employee_payable, bank, input_vat, advance_receivable, category:<code>)."""
    permissions.require_right(principal, Right.VOUCHER_EXPORT, principal.company_id)
    row = session.scalars(
        select(AccountMapping).where(
            AccountMapping.company_id == principal.company_id, AccountMapping.key == key
        )
    ).first()
    before = row.account if row else None
    if row is None:
        row = AccountMapping(
            id=uuid.uuid4(), company_id=principal.company_id, key=key, account=account
        )
        session.add(row)
    row.account = account
    session.flush()
    audit(
        session,
        actor=principal.actor,
        action="account_mapping:set",
        subject_type="company",
        subject_id=str(principal.company_id),
        company_id=str(principal.company_id),
        at=utcnow(),
        data={"key": key, "before": before, "after": account},
    )
    return mappings(session, principal)
