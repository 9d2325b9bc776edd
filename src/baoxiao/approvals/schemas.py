"""Approval API shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints


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
    kind: str = "approve"
    acting_for_id: uuid.UUID | None = None
    origin: str = "route"


class LineDecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line_id: uuid.UUID
    approved_amount: Decimal = Field(description="In the claim currency; 0 refuses the line.")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None


class ApproveBody(DecisionBody):
    lines: list[LineDecisionBody] = Field(default_factory=list, max_length=200)


class ReturnBody(DecisionBody):
    to_node: str | None = Field(
        default=None,
        max_length=64,
        description="An earlier node id; omit to return to the claimant.",
    )


class TransferBody(DecisionBody):
    to_employee_id: uuid.UUID


class AddSignerBody(DecisionBody):
    employee_id: uuid.UUID
    position: Literal["before", "after"] = "after"


class CommentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class DelegationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    delegate_id: uuid.UUID
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    delegator_id: uuid.UUID | None = Field(default=None, description="Admins only: someone else.")


class DelegationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    delegator_id: uuid.UUID
    delegate_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    revoked_at: datetime | None


class FlowVersionRead(BaseModel):
    id: uuid.UUID
    version: int
    status: str
    document: dict[str, Any]
    created_at: datetime
    published_at: datetime | None


class FlowRead(BaseModel):
    id: uuid.UUID
    key: str
    name: str
    active: bool
    versions: list[FlowVersionRead]


class SimulateClaimLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category_code: str
    amount: Decimal
    city: str | None = None


class SimulateClaim(BaseModel):
    model_config = ConfigDict(extra="forbid")

    claimant_id: uuid.UUID
    claim_type: str = "general"
    department_id: uuid.UUID | None = None
    cost_center_id: uuid.UUID | None = None
    lines: list[SimulateClaimLine] = Field(default_factory=list, max_length=200)


class SimulateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    claim_id: uuid.UUID | None = None
    claim: SimulateClaim | None = None
    flow_id: uuid.UUID | None = Field(default=None, description="Its latest version, even a draft.")
    document: dict[str, Any] | None = Field(default=None, description="An unsaved flow document.")
