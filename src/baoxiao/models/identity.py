"""Login accounts, role assignments and API tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
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
    # Who manages it: None for a grant by an admin, "scim:group:<id>" for an IdP group.
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

    user: Mapped[User] = relationship()
