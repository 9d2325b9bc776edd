"""Payments of approved claims, payment batches and payee bank accounts.

One live payment per claim, enforced by the database: a pending payment's
outcome is unknown until the bank answers, so no second one (with a new
reference) can exist beside it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.db import Base
from baoxiao.kernel.ids import new_id


class PaymentStatus(StrEnum):
    PENDING = "pending"  # requested; the outcome is unknown until the bank answers
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class BatchStatus(StrEnum):
    OPEN = "open"  # payments requested, results awaited
    CLOSED = "closed"  # every payment has its result


_LIVE = text("status IN ('pending', 'succeeded')")


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (
        Index(
            "uq_payments_live_claim",
            "claim_id",
            unique=True,
            postgresql_where=_LIVE,
            sqlite_where=_LIVE,
        ),
        CheckConstraint("amount >= 0", name="payment_amount_not_negative"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id"), index=True)
    claim_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("claims.id"), index=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(ForeignKey("currencies.code"))
    method: Mapped[str] = mapped_column(String(32), default="manual")
    status: Mapped[str] = mapped_column(String(16), default=PaymentStatus.PENDING)
    external_reference: Mapped[str | None] = mapped_column(String(100))
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    requested_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    # Batches (issue #7): the batch, the payee as sent, how often it was sent or queried.
    batch_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("payment_batches.id"), index=True)
    bank_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("bank_accounts.id"))
    payee_name: Mapped[str | None] = mapped_column(String(100))
    gross_amount: Mapped[Decimal | None]  # the approved amount before advance offsets
    offset_amount: Mapped[Decimal] = mapped_column(default=Decimal(0))
    send_count: Mapped[int] = mapped_column(Integer, default=1)
    query_count: Mapped[int] = mapped_column(Integer, default=0)
    last_sent_at: Mapped[datetime | None]


class PaymentBatch(Base):
    """What a cashier pays in one go, exported as one bank file."""

    __tablename__ = "payment_batches"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id"), index=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=BatchStatus.OPEN)
    payer_account: Mapped[str | None] = mapped_column(String(64))  # the company's own account
    payer_bank: Mapped[str | None] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(ForeignKey("currencies.code"))
    total: Mapped[Decimal] = mapped_column(default=Decimal(0))
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    exported_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class BankAccount(Base):
    """An employee's payee account; the number is AES-GCM encrypted, bound to the employee."""

    __tablename__ = "bank_accounts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id"), index=True)
    employee_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("employees.id"), unique=True)
    holder_name: Mapped[str] = mapped_column(String(100))
    bank_name: Mapped[str] = mapped_column(String(100))
    branch_name: Mapped[str | None] = mapped_column(String(200))
    bank_code: Mapped[str | None] = mapped_column(String(32))  # CNAPS 联行号, optional
    account_cipher: Mapped[str] = mapped_column(String(200))
    account_last4: Mapped[str] = mapped_column(String(4))
    updated_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def masked(self) -> str:
        return f"**** **** {self.account_last4}"
