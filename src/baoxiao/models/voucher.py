"""Accounting vouchers (凭证): balanced double entry, and the account mapping.

A voucher is built whole by payments.vouchers and stored with its totals;
the check constraint refuses one whose debits and credits differ.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.db import Base
from baoxiao.kernel.ids import new_id


class VoucherKind(StrEnum):
    ACCRUAL = "accrual"  # on approval: expense (and input VAT) against employee payables
    PAYMENT = "payment"  # on payment: payables against bank (and advances offset)
    REPAYMENT = "repayment"  # an employee repaid an advance: bank against receivables


class Voucher(Base):
    __tablename__ = "vouchers"
    __table_args__ = (
        UniqueConstraint("company_id", "number"),
        CheckConstraint("total_debit = total_credit", name="voucher_balanced"),
        CheckConstraint("total_debit > 0", name="voucher_not_empty"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id"), index=True)
    number: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(16))
    claim_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("claims.id"), index=True)
    payment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("payments.id"))
    source_key: Mapped[str] = mapped_column(String(80), unique=True)  # one voucher per event
    voucher_date: Mapped[date]
    currency: Mapped[str] = mapped_column(ForeignKey("currencies.code"))
    total_debit: Mapped[Decimal]
    total_credit: Mapped[Decimal]
    summary: Mapped[str] = mapped_column(String(200))
    exported_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    lines: Mapped[list[VoucherLine]] = relationship(
        back_populates="voucher", cascade="all, delete-orphan", order_by="VoucherLine.position"
    )


class VoucherLine(Base):
    __tablename__ = "voucher_lines"
    __table_args__ = (
        CheckConstraint(
            "(debit > 0 AND credit = 0) OR (credit > 0 AND debit = 0)",
            name="voucher_line_one_side",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    voucher_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("vouchers.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    account: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(String(200))
    debit: Mapped[Decimal] = mapped_column(default=Decimal(0))
    credit: Mapped[Decimal] = mapped_column(default=Decimal(0))
    cost_center: Mapped[str | None] = mapped_column(String(64))
    employee_no: Mapped[str | None] = mapped_column(String(64))

    voucher: Mapped[Voucher] = relationship(back_populates="lines")


class AccountMapping(Base):
    """Which GL account a role maps to for a company (employee_payable, bank, input_vat...)."""

    __tablename__ = "account_mappings"
    __table_args__ = (UniqueConstraint("company_id", "key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id"))
    key: Mapped[str] = mapped_column(String(64))
    account: Mapped[str] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(100))
