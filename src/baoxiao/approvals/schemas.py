"""Approval API shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints


class DecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Stripped, so a comment of blanks counts as none where a reason is required.
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None


class TaskRead(BaseModel):
    id: uuid.UUID
    claim_id: uuid.UUID
    claim_number: str
    claim_reason: str
    claimant_name: str
    total_amount: Decimal
    currency: str
    round: int
    step: int
    step_name: str
    assignee_id: uuid.UUID | None
    candidate_role: str | None
    status: str
    comment: str | None
    decided_at: datetime | None
    created_at: datetime
