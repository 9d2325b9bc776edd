"""The append-only, hash-chained audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from baoxiao.kernel.db import Base

GENESIS_HASH = "0" * 64


class AuditRecord(Base):
    """One audited act. `hash` = SHA-256(prev_hash || canonical content)."""

    __tablename__ = "audit_records"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    occurred_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(80))  # "user:<uuid>", "system", "connector:<id>"
    action: Mapped[str] = mapped_column(String(64), index=True)  # "claim:submit"
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64), index=True)
    company_id: Mapped[str | None] = mapped_column(String(36))
    data: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """A single row holding the chain's tip; locking it serialises appends."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    last_hash: Mapped[str] = mapped_column(String(64))
