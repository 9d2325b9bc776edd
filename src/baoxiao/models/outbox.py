"""Outbox events, written in the same transaction as the change they describe."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from baoxiao.kernel.db import Base


class OutboxEvent(Base):
    __tablename__ = "outbox_events"
    __table_args__ = (UniqueConstraint("subject_type", "subject_id", "sequence"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True)  # ULID: sortable
    type: Mapped[str] = mapped_column(String(64), index=True)
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    company_id: Mapped[str] = mapped_column(String(36), index=True)
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64))
    sequence: Mapped[int]
    schema_version: Mapped[int] = mapped_column(default=1)
    data: Mapped[dict[str, Any]]
