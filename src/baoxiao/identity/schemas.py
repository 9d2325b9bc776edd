"""Identity API shapes."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from baoxiao.models.identity import DataScope, Role


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=1024)


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    expires_in_days: int | None = Field(default=90, ge=1, le=366)
    scopes: list[str] = Field(
        min_length=1,
        max_length=20,
        description="What the token may reach (GET /api/v1/roles lists them); "
        "it never exceeds the user's roles.",
        examples=[["claims:read", "claims:write"]],
    )


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
    scopes: list[str]


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


class RoleInfo(BaseModel):
    role: str
    label: str
    rights: list[str]
    assignable: bool


class PermissionTable(BaseModel):
    roles: list[RoleInfo]
    data_scopes: list[str]
    data_scoped_rights: list[str]
    token_scopes: dict[str, str]


class AssignmentCreate(BaseModel):
    """Grant a role in the caller's company; nothing else about the user can be set here."""

    model_config = ConfigDict(extra="forbid")

    user_id: uuid.UUID
    role: Role
    scope: DataScope = DataScope.COMPANY
    department_id: uuid.UUID | None = None


class AssignmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    user_id: uuid.UUID
    role: str
    company_id: uuid.UUID
    scope: str
    department_id: uuid.UUID | None
    source: str | None
    created_at: datetime


class DeactivateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="admin", min_length=1, max_length=200)


class DeactivationRead(BaseModel):
    user_id: uuid.UUID
    tokens_revoked: int
    sessions_ended: int
    tasks_handed_over: int
    already_inactive: bool


class IdentitySettingsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    leaver_fallback_employee_id: uuid.UUID | None


class IdentitySettingsRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    company_id: uuid.UUID
    leaver_fallback_employee_id: uuid.UUID | None


class ServiceUserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=150, pattern=r"^[A-Za-z0-9._@-]+$")
    display_name: str = Field(min_length=1, max_length=100)
    roles: list[Role] = Field(default_factory=lambda: [Role.INTEGRATOR], max_length=8)


class ServiceUserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    display_name: str
    active: bool
    created_at: datetime


class ServiceTokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    expires_in_days: int | None = Field(default=365, ge=1, le=730)
    scopes: list[str] = Field(min_length=1, max_length=20)
