"""Advances (借款) and their offsets (核销) and repayments.

An advance is requested, approved and paid as a claim of type "advance";
this row follows it. Its outstanding balance is the paid amount minus the
applied offsets and repayments, always derived from these rows.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.db import Base
from baoxiao.kernel.ids import new_id


class AdvanceStatus(StrEnum):
    REQUESTED = "requested"  # its claim is not paid yet
    OPEN = "open"  # paid out, balance outstanding
    CLOSED = "closed"  # fully offset or repaid
    CANCELLED = "cancelled"  # its claim was rejected or cancelled


class OffsetStatus(StrEnum):
    RESERVED = "reserved"  # on a claim that is not paid yet
    APPLIED = "applied"  # the claim was paid: the advance is reduced for good
    RELEASED = "released"  # the claim was rejected, returned, withdrawn or cancelled


class Advance(Base):
    __tablename__ = "advances"
    __table_args__ = (CheckConstraint("amount > 0", name="advance_amount_positive"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id"), index=True)
    claim_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("claims.id"), unique=True)
    employee_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("employees.id"), index=True)
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(ForeignKey("currencies.code"))
    status: Mapped[str] = mapped_column(String(16), default=AdvanceStatus.REQUESTED)
    due_date: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class AdvanceOffset(Base):
    """A claim offsetting part of an advance: payable = claim total - offsets."""

    __tablename__ = "advance_offsets"
    __table_args__ = (
        CheckConstraint("amount > 0", name="advance_offset_positive"),
        UniqueConstraint("claim_id", "advance_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id"))
    claim_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("claims.id"), index=True)
    advance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("advances.id"), index=True)
    amount: Mapped[Decimal]
    status: Mapped[str] = mapped_column(String(16), default=OffsetStatus.RESERVED)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AdvanceRepayment(Base):
    """Money the employee paid back, closing what no claim offsets."""

    __tablename__ = "advance_repayments"
    __table_args__ = (CheckConstraint("amount > 0", name="advance_repayment_positive"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id"))
    advance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("advances.id"), index=True)
    amount: Mapped[Decimal]
    reference: Mapped[str | None] = mapped_column(String(100))
    recorded_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
