"""Identity API shapes."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=1024)


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    expires_in_days: int | None = Field(default=90, ge=1, le=366)


class TokenIssued(BaseModel):
    id: uuid.UUID
    access_token: str = Field(description="Shown once; store it now.")
    token_type: str = "bearer"
    expires_at: datetime | None


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str
    kind: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class RoleRead(BaseModel):
    role: str
    company_id: uuid.UUID


class MeRead(BaseModel):
    user_id: uuid.UUID
    username: str
    display_name: str
    company_id: uuid.UUID
    employee_id: uuid.UUID | None
    roles: list[RoleRead]
