"""What an identity provider provisions over SCIM, and the company's leaver settings.

A SCIM User is a `User` (and its `Employee`); `ScimUserLink` keeps what SCIM
says that has no column elsewhere (externalId, name parts, all emails, the
department text) and the version behind the ETag. A SCIM Group is a
`ScimGroup`: when its displayName names a business role (never admin or
integrator), its members hold that role in the company (assignments with
source "scim:group").
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.db import Base
from baoxiao.kernel.ids import new_id


class ScimUserLink(Base):
    __tablename__ = "scim_user_links"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id"), index=True)
    external_id: Mapped[str | None] = mapped_column(String(255), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]  # SCIM DELETE: deactivated and out of SCIM's view


class ScimGroup(Base):
    __tablename__ = "scim_groups"
    __table_args__ = (UniqueConstraint("company_id", "display_name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id"), index=True)
    display_name: Mapped[str] = mapped_column(String(255))
    external_id: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str | None] = mapped_column(String(32))  # the role it grants, if any
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    members: Mapped[list[ScimGroupMember]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )


class ScimGroupMember(Base):
    __tablename__ = "scim_group_members"

    group_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("scim_groups.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class IdentitySettings(Base):
    """Per-company identity settings: who takes a leaver's open approval tasks."""

    __tablename__ = "identity_settings"

    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id"), primary_key=True)
    # None: the leaver's nearest active manager, else the company admins (handover.py).
    leaver_fallback_employee_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("employees.id")
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
