"""API shapes of the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AuditRecordRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int = Field(description="Position in the hash chain (1, 2, ...).")
    occurred_at: datetime
    actor: str = Field(examples=["user:0b5c…", "system", "connector:7d1e…"])
    action: str = Field(examples=["claim:submit", "role:grant"])
    subject_type: str
    subject_id: str
    company_id: str | None
    data: dict[str, Any]
    prev_hash: str
    hash: str = Field(description="SHA-256 over prev_hash and the record's canonical content.")


class AuditPage(BaseModel):
    items: list[AuditRecordRead]
    next_cursor: str | None


class AuditVerification(BaseModel):
    ok: bool
    checked: int = Field(description="Records that fit the chain before the first that does not.")
    broken_seq: int | None = None
    reason: str | None = None
