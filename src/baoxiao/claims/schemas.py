"""Claim API shapes. Clients never set status, totals, numbers or owners."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from baoxiao.invoices.schemas import InvoiceBrief, OcrRead, SameFile
from baoxiao.policies.schemas import PolicyCheckRead, PolicySummary

Text500 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
CurrencyCode = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{3}$")
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClaimLineCreate(_In):
    category_id: uuid.UUID | None = None
    category_code: str | None = Field(default=None, max_length=32)
    expense_date: date
    amount: Decimal = Field(description='In the line\'s currency, as a string: "128.50".')
    currency: CurrencyCode | None = Field(
        default=None, description="Defaults to the claim's currency."
    )
    exchange_rate: Decimal | None = Field(
        default=None, description="Units of claim currency per unit; looked up when omitted."
    )
    description: Text500 = ""
    city: str | None = Field(default=None, max_length=100)
    days: int | None = Field(
        default=None, ge=1, le=366, description="Nights (hotel) or days (per-diem) covered."
    )
    justification: Text500 | None = Field(
        default=None, description="Why an amount over the standard should be kept."
    )

    @model_validator(mode="after")
    def _one_category(self) -> ClaimLineCreate:
        if (self.category_id is None) == (self.category_code is None):
            raise ValueError("give exactly one of category_id or category_code")
        return self


class ClaimLineUpdate(_In):
    category_id: uuid.UUID | None = None
    category_code: str | None = Field(default=None, max_length=32)
    expense_date: date | None = None
    amount: Decimal | None = None
    currency: CurrencyCode | None = None
    exchange_rate: Decimal | None = None
    description: Text500 | None = None
    city: str | None = Field(default=None, max_length=100)
    days: int | None = Field(default=None, ge=1, le=366)
    justification: Text500 | None = None


class ClaimCreate(_In):
    reason: Reason
    claim_type: str = Field(default="general", max_length=32, pattern=r"^[a-z][a-z0-9_]*$")
    department_id: uuid.UUID | None = None
    cost_center_id: uuid.UUID | None = None
    project_code: str | None = Field(
        default=None, max_length=64, description="For project budgets."
    )
    lines: list[ClaimLineCreate] = Field(default_factory=list, max_length=200)


class ClaimUpdate(_In):
    reason: Reason | None = None
    department_id: uuid.UUID | None = None
    cost_center_id: uuid.UUID | None = None
    project_code: str | None = Field(default=None, max_length=64)


class Comment(_In):
    comment: Text500 | None = None


class PersonRef(BaseModel):
    id: uuid.UUID
    name: str
    employee_no: str


class ClaimLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    position: int
    category_id: uuid.UUID
    category_code: str
    expense_date: date
    amount: Decimal
    currency: str
    exchange_rate: Decimal
    rate_source: str
    amount_base: Decimal
    description: str
    city: str | None
    days: int | None
    justification: str | None
    capped_from: Decimal | None = Field(description="The amount before the standard capped it.")
    seller_name: str | None
    tax_amount: Decimal | None
    deductible_tax: Decimal | None = Field(description="Input VAT the company may deduct.")
    invoice: InvoiceBrief | None
    policy: list[PolicyCheckRead] = Field(description="The expense standard's checks.")
    approved_amount: Decimal | None = Field(
        default=None, description="Set when an approver approved the line at less (0: refused)."
    )
    approval_note: str | None = Field(default=None, description="The approver's reason.")


class AttachmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    line_id: uuid.UUID | None
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime


class AttachmentUploadRead(AttachmentRead):
    invoice: InvoiceBrief | None = Field(description="The invoice read from the file, if any.")
    same_file: SameFile
    ocr: OcrRead | None = Field(
        default=None,
        description="OCR proposals for an image without an invoice QR code (OCR enabled only).",
    )


class ClaimSummary(BaseModel):
    id: uuid.UUID
    number: str
    claim_type: str
    status: str
    reason: str
    claimant: PersonRef
    department_id: uuid.UUID | None
    currency: str
    total_amount: Decimal
    created_at: datetime
    submitted_at: datetime | None
    version: int


class ClaimRead(ClaimSummary):
    company_id: uuid.UUID
    cost_center_id: uuid.UUID | None
    project_code: str | None = None
    updated_at: datetime
    approved_at: datetime | None
    paid_at: datetime | None
    approved_amount: Decimal | None = Field(
        default=None, description="What will be paid when approvers changed lines."
    )
    lines: list[ClaimLineRead]
    attachments: list[AttachmentRead]
    policy: PolicySummary
    allowed_actions: list[str] = Field(description="What the caller may do next.")


class ClaimPage(BaseModel):
    items: list[ClaimSummary]
    next_cursor: str | None


class ActivityRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    action: str
    actor_user_id: uuid.UUID | None
    from_status: str | None
    to_status: str | None
    comment: str | None
