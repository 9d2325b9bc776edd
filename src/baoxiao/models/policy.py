"""Expense standards (versioned rule documents per company) and their results per claim line."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.db import Base
from baoxiao.kernel.ids import new_id


class StandardStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"  # the one in force for the company
    RETIRED = "retired"  # was published, replaced by a later version


class Outcome(StrEnum):
    PASS = "pass"
    WARN = "warn"  # the approver sees it
    BLOCK = "block"  # the claim cannot be submitted


_PUBLISHED = text("status = 'published'")


class PolicyStandard(Base):
    """One version of a company's expense standard; `rules` is the whole rule document."""

    __tablename__ = "policy_standards"
    __table_args__ = (
        UniqueConstraint("company_id", "version"),
        Index(
            "uq_policy_standards_published",
            "company_id",
            unique=True,
            postgresql_where=_PUBLISHED,
            sqlite_where=_PUBLISHED,
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id"), index=True)
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=StandardStatus.DRAFT)
    rules: Mapped[dict[str, Any]]
    note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]
    published_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))


class PolicyResult(Base):
    """One rule's verdict on one claim line (or the claim), replaced at each evaluation."""

    __tablename__ = "policy_results"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    claim_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("claims.id", ondelete="CASCADE"), index=True
    )
    line_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("claim_lines.id", ondelete="CASCADE"), index=True
    )
    standard_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("policy_standards.id"))
    standard_version: Mapped[int]
    rule: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(8))
    message_en: Mapped[str] = mapped_column(Text)
    message_zh: Mapped[str] = mapped_column(Text)
    trace: Mapped[dict[str, Any]]
    evaluated_at: Mapped[datetime] = mapped_column(default=utcnow)
