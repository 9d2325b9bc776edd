"""Stored responses for Idempotency-Key replay (an infrastructure table)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, LargeBinary, String, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.db import Base

MAX_KEY_LENGTH = 255
REPLAYED_HEADERS = ("etag", "location", "content-type")


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(80))
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    response_body: Mapped[bytes] = mapped_column(LargeBinary)
    response_headers: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(index=True)


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """What makes two requests 'the same' for replay: target and exact body."""
    digest = hashlib.sha256()
    digest.update(f"{method} {path}?{query}\n".encode())
    digest.update(body)
    return digest.hexdigest()


def find(session: Session, scope: str, key: str, ttl: timedelta) -> IdempotencyRecord | None:
    """The live record for (scope, key); an expired one is deleted and ignored."""
    record = session.scalars(
        select(IdempotencyRecord).where(
            IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
        )
    ).first()
    if record is not None and record.created_at < utcnow() - ttl:
        session.delete(record)
        session.flush()
        return None
    return record


def purge_expired(session: Session, ttl: timedelta) -> int:
    """Delete records past their time to live; returns how many."""
    result = session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < utcnow() - ttl)
    )
    return int(getattr(result, "rowcount", 0) or 0)
