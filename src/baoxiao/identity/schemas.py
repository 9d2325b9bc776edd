"""Identity API shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr

from baoxiao.models.identity import DataScope, Role


def _http_url(value: str) -> str:
    if not value.startswith(("https://", "http://")) or len(value) > 500:
        raise ValueError("must be an http(s) URL of at most 500 characters")
    return value  # kept exactly: the ID token's iss must equal it


HttpUrlText = Annotated[str, AfterValidator(_http_url)]


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=1024)
    totp_code: str | None = Field(
        default=None,
        max_length=32,
        description="The authenticator code (or a recovery code) when two-step sign-in is on.",
    )


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    expires_in_days: int = Field(
        default=90, ge=1, le=366, description="Every token expires, at the latest in a year."
    )
    scopes: list[str] = Field(
        min_length=1,
        max_length=20,
        description="What the token may reach (GET /api/v1/roles lists them); "
        "it never exceeds the user's roles.",
        examples=[["claims:read", "claims:write"]],
    )
    current_password: str | None = Field(
        default=None,
        max_length=1024,
        description="Your password, unless you call with a login token issued within the "
        "re-authentication window (a new token is a sensitive change).",
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


# Identity providers (OpenID Connect) -------------------------------------------------

MatchClaim = Literal["email", "employee_number", "sub"]
# "manager" is implicit from the org; a mapped group may still grant it explicitly.
RoleName = Literal[
    "employee", "manager", "finance", "cashier", "budget_owner", "auditor", "admin", "integrator"
]
PROVIDER_KEY = r"^[a-z0-9][a-z0-9-]{1,49}$"


class IdentityProviderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    company_id: uuid.UUID | None = Field(default=None, description="Default: the caller's company.")
    key: str = Field(pattern=PROVIDER_KEY, description="Appears in the redirect URI.")
    display_name: str = Field(min_length=1, max_length=100)
    issuer: HttpUrlText
    client_id: str = Field(min_length=1, max_length=255)
    client_secret: SecretStr | None = Field(
        default=None, description="Write-only; omit for a public client (PKCE only)."
    )
    scopes: list[str] = Field(default_factory=lambda: ["openid", "email", "profile"])
    match_claim: MatchClaim = "email"
    jit: bool = False
    groups_claim: str = Field(default="groups", min_length=1, max_length=64)
    group_roles: dict[str, list[RoleName]] = Field(default_factory=dict)
    enabled: bool = True


class IdentityProviderUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    issuer: HttpUrlText | None = None
    client_id: str | None = Field(default=None, min_length=1, max_length=255)
    client_secret: SecretStr | None = Field(
        default=None, description="Write-only; send an empty string to remove it."
    )
    scopes: list[str] | None = None
    match_claim: MatchClaim | None = None
    jit: bool | None = None
    groups_claim: str | None = Field(default=None, min_length=1, max_length=64)
    group_roles: dict[str, list[RoleName]] | None = None
    enabled: bool | None = None


class IdentityProviderRead(BaseModel):
    id: uuid.UUID
    company_id: uuid.UUID
    key: str
    display_name: str
    issuer: str
    client_id: str
    has_client_secret: bool
    scopes: list[str]
    match_claim: str
    jit: bool
    groups_claim: str
    group_roles: dict[str, list[str]]
    enabled: bool
    redirect_uri: str = Field(description="Register this exact URI at the provider.")
    post_logout_redirect_uri: str
    created_at: datetime
    updated_at: datetime


class ConnectionTest(BaseModel):
    ok: bool
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str | None
    end_session_endpoint: str | None
    jwks_keys: int
    scopes_supported: list[str] | None


# The caller's own credentials ----------------------------------------------------------


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class PasswordChanged(BaseModel):
    sign_ins_ended: int = Field(description="Other browser sessions and login tokens ended.")


class PasswordProof(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(min_length=1, max_length=1024)


class TotpCode(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=6, max_length=8, pattern=r"^\d{6,8}$")


class TotpStatus(BaseModel):
    enabled: bool
    pending: bool = Field(description="Enrolled but not yet confirmed with a first code.")
    recovery_codes_left: int


class TotpEnrollment(BaseModel):
    secret: str = Field(description="Base32; for typing into the app by hand.")
    otpauth_uri: str = Field(description="Show as a QR code for the authenticator app.")


class RecoveryCodes(BaseModel):
    recovery_codes: list[str] = Field(description="Shown once; each works one time.")


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


class LoginCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    employee_id: uuid.UUID
    username: str = Field(min_length=3, max_length=150)


class TemporaryPassword(BaseModel):
    user_id: uuid.UUID
    username: str
    temporary_password: str  # shown once; the person changes it on their security page


class TotpResetRead(BaseModel):
    user_id: uuid.UUID
    totp_enabled: bool
    cleared: bool  # False: the person had no second factor (a repeated reset)


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
    expires_in_days: int = Field(default=365, ge=1, le=730)
    scopes: list[str] = Field(min_length=1, max_length=20)
