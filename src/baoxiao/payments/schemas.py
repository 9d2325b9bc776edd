"""Payment API shapes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class MarkPaid(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_reference: str | None = Field(
        default=None, max_length=100, description="The bank's transaction reference."
    )


class PaymentFailure(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class PaymentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    claim_id: uuid.UUID
    reference: str
    amount: Decimal
    currency: str
    method: str
    status: str
    external_reference: str | None
    failure_reason: str | None
    created_at: datetime
    completed_at: datetime | None
    batch_id: uuid.UUID | None = None
    gross_amount: Decimal | None = None
    offset_amount: Decimal = Decimal(0)
    send_count: int = 1
    query_count: int = 0


class PaymentResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_reference: str | None = Field(default=None, max_length=100)
    amount: Decimal | None = Field(
        default=None, description="What the bank reports it paid; refused if it differs."
    )


class BatchCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    claim_ids: list[uuid.UUID] = Field(min_length=1, max_length=1000)
    payer_account: str | None = Field(default=None, max_length=64)
    payer_bank: str | None = Field(default=None, max_length=100)


class BatchItemRead(BaseModel):
    payment_id: uuid.UUID
    reference: str
    claim_id: uuid.UUID
    claim_number: str
    payee_name: str | None
    payee_account: str | None = Field(description="Masked to the last four digits.")
    amount: Decimal
    status: str
    failure_reason: str | None


class BatchRead(BaseModel):
    id: uuid.UUID
    reference: str
    status: str
    currency: str
    total: Decimal
    item_count: int
    payer_account: str | None
    payer_bank: str | None
    created_at: datetime
    exported_at: datetime | None
    closed_at: datetime | None
    items: list[BatchItemRead] = Field(default_factory=list)


class BatchResultRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: str = Field(max_length=40)
    status: Literal["succeeded", "failed"]
    reason: str | None = Field(default=None, max_length=500)
    external_reference: str | None = Field(default=None, max_length=100)
    amount: Decimal | None = None


class BatchResults(BaseModel):
    model_config = ConfigDict(extra="forbid")

    results: list[BatchResultRow] = Field(min_length=1, max_length=1000)


class BankAccountWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    holder_name: str = Field(min_length=1, max_length=100)
    bank_name: str = Field(min_length=1, max_length=100)
    account_number: str = Field(min_length=8, max_length=40)
    branch_name: str | None = Field(default=None, max_length=200)
    bank_code: str | None = Field(default=None, max_length=32, description="CNAPS 联行号")
    current_password: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The caller's password: changes re-authenticate. Required when the "
        "caller has one; an SSO-only account confirms in the browser instead.",
    )


class BankAccountRead(BaseModel):
    employee_id: uuid.UUID
    holder_name: str
    bank_name: str
    branch_name: str | None
    bank_code: str | None
    account_number: str = Field(description="Masked (**** **** 1234) unless you may reveal it.")
    masked: bool
    updated_at: datetime


class AdvanceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Decimal = Field(gt=0)
    reason: str = Field(min_length=1, max_length=500)
    category_code: str | None = Field(default=None, max_length=32)
    due_date: date | None = None


class AdvanceRead(BaseModel):
    id: uuid.UUID
    claim_id: uuid.UUID
    claim_number: str
    employee_id: uuid.UUID
    amount: Decimal
    currency: str
    status: str
    outstanding: Decimal
    available: Decimal = Field(description="Outstanding minus what unpaid claims reserve.")
    due_date: date | None
    created_at: datetime


class EmployeeAdvances(BaseModel):
    employee_id: uuid.UUID
    outstanding: Decimal
    advances: list[AdvanceRead]


class OffsetItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    advance_id: uuid.UUID
    amount: Decimal = Field(gt=0)


class OffsetsWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    offsets: list[OffsetItem] = Field(max_length=50)


class OffsetRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    advance_id: uuid.UUID
    amount: Decimal
    status: str


class ClaimOffsetsRead(BaseModel):
    claim_total: Decimal
    offsets_total: Decimal
    payable: Decimal = Field(description="Approved (or claimed) total minus offsets.")
    offsets: list[OffsetRead]


class RepaymentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Decimal = Field(gt=0)
    reference: str | None = Field(default=None, max_length=100)


class MappingWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(
        pattern=r"^(employee_payable|bank|input_vat|advance_receivable|category:[A-Za-z0-9_.-]{1,32})$"
    )
    account: str = Field(min_length=1, max_length=32)
