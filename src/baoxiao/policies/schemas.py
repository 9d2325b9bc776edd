"""Policy API shapes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from baoxiao.policies.rules import StandardRules

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StandardCreate(_In):
    name: Name
    rules: StandardRules | None = Field(
        default=None, description="Omitted: a copy of the published version's rules."
    )
    note: str | None = Field(default=None, max_length=2000)


class StandardUpdate(_In):
    name: Name | None = None
    rules: StandardRules | None = None
    note: str | None = Field(default=None, max_length=2000)


class StandardRead(BaseModel):
    id: uuid.UUID
    version: int
    name: str
    status: str
    rules: StandardRules
    note: str | None
    created_at: datetime
    published_at: datetime | None


class DryRunRequest(_In):
    period_from: date = Field(description="First day of the period (claims submitted from).")
    period_to: date = Field(description="Last day of the period, included.")


class LineOutcome(BaseModel):
    outcome: str
    rules: dict[str, str] = Field(description="rule -> outcome")
    reduce_to: Decimal | None = None
    messages_en: list[str]
    messages_zh: list[str]


class DryRunChange(BaseModel):
    claim_id: uuid.UUID
    claim_number: str
    line_id: uuid.UUID
    position: int
    category_code: str
    amount: Decimal
    before: LineOutcome | None = Field(
        description="Under the published version (none: no standard)."
    )
    after: LineOutcome


class DryRunReport(BaseModel):
    standard_id: uuid.UUID
    version: int
    compared_with_version: int | None
    period_from: date
    period_to: date
    claims_checked: int
    lines_checked: int
    lines_changed: int
    changes: list[DryRunChange]


class PolicyCheckRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    rule: str
    outcome: str
    message_en: str
    message_zh: str
    trace_en: str
    trace_zh: str
    standard_version: int


class PolicySummary(BaseModel):
    outcome: str = Field(description="pass, warn or block: the worst check of the claim.")
    warnings: int
    blocks: int
    standard_version: int | None
