"""Payment API shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

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
