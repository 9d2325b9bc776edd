"""Login accounts, role assignments and API tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.db import Base
from baoxiao.kernel.ids import new_id
from baoxiao.models.org import Employee


class Role(StrEnum):
    EMPLOYEE = "employee"
    MANAGER = "manager"  # implicit from the org; a stored assignment is still accepted
    FINANCE = "finance"  # the finance reviewer (the value is kept for existing data)
    CASHIER = "cashier"
    BUDGET_OWNER = "budget_owner"
    AUDITOR = "auditor"
    ADMIN = "admin"
    INTEGRATOR = "integrator"


class DataScope(StrEnum):
    """Which claims a role's company-wide rights reach."""

    SELF = "self"  # only the holder's own
    DEPARTMENT = "department"  # the department and everything below it
    COMPANY = "company"  # the assignment's company
    ALL = "all"  # every company


class User(Base):
    """An account that signs in; most are linked to one employee."""

    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id"), index=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    employee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("employees.id"), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    locale: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]
    # TOTP (identity/totp.py): the secret is a SecretBox token; it counts only once
    # confirmed (totp_enabled_at set). The last accepted time step blocks replaying a code.
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    employee: Mapped[Employee | None] = relationship()
    roles: Mapped[list[RoleAssignment]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )


class RoleAssignment(Base):
    """A role held within one company, with the data scope its rights reach."""

    __tablename__ = "role_assignments"
    __table_args__ = (UniqueConstraint("user_id", "role", "company_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(32))
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id"))
    scope: Mapped[str] = mapped_column(String(16), default=DataScope.COMPANY.value)
    # The subtree root when scope is "department".
    department_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("departments.id"))
    # Who manages it: None for a grant by an admin, "scim:group" for an IdP's SCIM group,
    # "oidc:<provider key>" for an IdP group mapped at sign-in (identity/sso.py).
    source: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="roles")


class ApiToken(Base):
    """A bearer token; only its SHA-256 digest is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(16), default="personal")  # personal | login
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    scopes: Mapped[list[Any]] = mapped_column(default=list)

    user: Mapped[User] = relationship()


class WebSession(Base):
    """A browser sign-in, kept on the server; the cookie holds a random value whose
    SHA-256 digest is stored here, so a database leak reveals no live cookie."""

    __tablename__ = "web_sessions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # How the person proved who they are: "password", "oidc:<provider>", "feishu", ...
    method: Mapped[str] = mapped_column(String(64))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]  # the absolute limit, whatever the activity
    authenticated_at: Mapped[datetime] = mapped_column(default=utcnow)  # for re-auth checks
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(32))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    # OIDC sign-ins keep the ID token (SecretBox token) for the logout's id_token_hint.
    id_token: Mapped[str | None] = mapped_column(Text)

    user: Mapped[User] = relationship()


class RecoveryCode(Base):
    """A one-time TOTP recovery code; only its SHA-256 digest is stored."""

    __tablename__ = "totp_recovery_codes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]


class SignInThrottle(Base):
    """Failed sign-ins counted per account (lockout) or per client address (throttling).

    Written in its own transaction, so a failure is remembered although the request
    that failed rolls back.
    """

    __tablename__ = "sign_in_throttles"

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)  # account | ip
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime]
    last_failure_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]


class IdentityProvider(Base):
    """An OpenID Connect provider a company signs in with (several per company)."""

    __tablename__ = "identity_providers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id"), index=True)
    key: Mapped[str] = mapped_column(String(50), unique=True)  # in the login URL
    display_name: Mapped[str] = mapped_column(String(100))
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(255))
    client_secret: Mapped[str | None] = mapped_column(Text)  # SecretBox token
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    match_claim: Mapped[str] = mapped_column(String(32), default="email")
    jit: Mapped[bool] = mapped_column(default=False)
    groups_claim: Mapped[str] = mapped_column(String(64), default="groups")
    group_roles: Mapped[dict[str, Any]] = mapped_column(default=dict)  # group -> [role, ...]
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExternalIdentity(Base):
    """Links a user to their subject (`sub`) at one provider, set at the first match."""

    __tablename__ = "external_identities"
    __table_args__ = (UniqueConstraint("provider_id", "subject"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    provider_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("identity_providers.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    subject: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
