"""The invoice (发票) registry: every reception of an invoice, with its life cycle.

One row per reception. An invoice (company + key) may back only one live claim
line: the partial unique index over the live states enforces it, so two
claims racing for the same invoice cannot both win.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.db import Base
from baoxiao.kernel.ids import new_id


class InvoiceStatus(StrEnum):
    RECEIVED = "received"  # read from an upload or typed in, not backing a line
    ATTACHED = "attached"  # backs a claim line (live)
    REIMBURSED = "reimbursed"  # its claim was paid (live, for good)
    RELEASED = "released"  # its claim was rejected, withdrawn or cancelled, or the line removed
    VOIDED = "voided"  # finance marked it unusable (red-flushed, fake, wrong)


LIVE_STATUSES = (InvoiceStatus.ATTACHED, InvoiceStatus.REIMBURSED)
_LIVE = text("status IN ('attached', 'reimbursed')")


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = (
        Index(
            "uq_invoices_live_key",
            "company_id",
            "invoice_key",
            unique=True,
            postgresql_where=_LIVE,
            sqlite_where=_LIVE,
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id"), index=True)
    # "code:number" for classic invoices, the 20-digit number for fully digital ones.
    invoice_key: Mapped[str] = mapped_column(String(40), index=True)
    invoice_type: Mapped[str] = mapped_column(String(4))
    invoice_code: Mapped[str | None] = mapped_column(String(12))
    invoice_number: Mapped[str] = mapped_column(String(20))
    issue_date: Mapped[date | None]
    amount: Mapped[Decimal | None]  # before tax
    tax_amount: Mapped[Decimal | None]
    total_amount: Mapped[Decimal | None]  # tax included
    check_code: Mapped[str | None] = mapped_column(String(32))
    seller_name: Mapped[str | None] = mapped_column(String(200))
    seller_tax_id: Mapped[str | None] = mapped_column(String(32))
    buyer_name: Mapped[str | None] = mapped_column(String(200))
    buyer_tax_id: Mapped[str | None] = mapped_column(String(32))
    deductible_tax: Mapped[Decimal | None]
    source: Mapped[str] = mapped_column(String(16))  # qr | pdf | xml | ofd | manual
    status: Mapped[str] = mapped_column(String(16), default=InvoiceStatus.RECEIVED, index=True)
    claim_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("claims.id", ondelete="SET NULL"), index=True
    )
    line_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("claim_lines.id", ondelete="SET NULL"), index=True
    )
    attachment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("attachments.id", ondelete="SET NULL")
    )
    file_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    extracted: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
