"""Payments of approved claims. One live payment per claim, enforced by the database."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.db import Base
from baoxiao.kernel.ids import new_id


class PaymentStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


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
