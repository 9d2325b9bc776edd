"""Invoice API shapes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InvoiceFieldsIn(_In):
    invoice_type: str = Field(pattern=r"^\d{2}$", description="01 专票, 04 普票, 10, 31, 32, ...")
    invoice_code: str | None = Field(default=None, pattern=r"^(\d{10}|\d{12})$")
    invoice_number: str = Field(pattern=r"^(\d{8}|\d{20})$")
    issue_date: date | None = None
    amount: Decimal | None = Field(default=None, description="Before tax.")
    tax_amount: Decimal | None = None
    total_amount: Decimal | None = Field(default=None, description="Tax included.")
    check_code: str | None = Field(default=None, max_length=32)
    seller_name: str | None = Field(default=None, max_length=200)
    seller_tax_id: str | None = Field(default=None, max_length=32)
    buyer_name: str | None = Field(default=None, max_length=200)
    buyer_tax_id: str | None = Field(default=None, max_length=32)


class InvoiceAttach(_In):
    """Back a claim line with an invoice: from an uploaded attachment, a QR text, or fields."""

    attachment_id: uuid.UUID | None = None
    qr_payload: str | None = Field(default=None, max_length=512)
    fields: InvoiceFieldsIn | None = None
    fill_line: bool = Field(
        default=True, description="Copy amount, date, tax and seller onto the line."
    )

    @model_validator(mode="after")
    def _one_source(self) -> InvoiceAttach:
        given = [x for x in (self.attachment_id, self.qr_payload, self.fields) if x is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of attachment_id, qr_payload or fields")
        return self


class InvoiceBrief(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    invoice_key: str
    invoice_type: str
    invoice_code: str | None
    invoice_number: str
    issue_date: date | None
    amount: Decimal | None
    tax_amount: Decimal | None
    total_amount: Decimal | None
    seller_name: str | None
    buyer_name: str | None
    buyer_tax_id: str | None
    deductible_tax: Decimal | None
    source: str
    status: str


class InvoiceRead(InvoiceBrief):
    company_id: uuid.UUID
    check_code: str | None
    seller_tax_id: str | None
    claim_id: uuid.UUID | None
    line_id: uuid.UUID | None
    attachment_id: uuid.UUID | None
    file_sha256: str | None
    created_at: datetime
    updated_at: datetime


class SameFile(BaseModel):
    seen_before: int = Field(description="Other uploads of the same file (SHA-256) in the company.")
    claims: list[str] = Field(description="Numbers of those claims that you may see.")


class VoidRequest(_In):
    reason: str = Field(min_length=1, max_length=500)


class OcrCandidate(BaseModel):
    """One value OCR proposes; the line keeps what the user typed until they take it."""

    value: str = Field(description="Amount (CNY, 2 decimals), ISO date, or the seller's name.")
    confidence: float = Field(ge=0, le=1, description="OCR confidence, lower if unlabelled.")
    label: str | None = Field(description="The receipt word it followed (合计, 开票日期, ...).")
    source: Literal["ocr"] = "ocr"


class OcrRead(BaseModel):
    """What OCR proposes for a receipt image without a QR code (only when OCR is enabled)."""

    status: str = Field(description="read | nothing_found | timeout | failed | unavailable")
    seconds: float
    amount: OcrCandidate | None = None
    expense_date: OcrCandidate | None = None
    seller_name: OcrCandidate | None = None
