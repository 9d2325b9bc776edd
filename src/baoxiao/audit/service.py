"""Append to the hash-chained audit log, and verify the chain.

Each record's hash is SHA-256 over the previous record's hash and the
record's canonical JSON content (sorted keys, no spaces, UTF-8). Appends
lock the single chain-head row, so concurrent transactions queue and the
chain stays linear; the lock is released at commit.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from baoxiao.kernel.clock import utcnow
from baoxiao.models.audit import GENESIS_HASH, AuditHead, AuditRecord


def _default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def canonical(content: dict[str, Any]) -> bytes:
    return json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default
    ).encode()


def _content(rec: AuditRecord) -> dict[str, Any]:
    return {
        "seq": rec.seq,
        "occurred_at": rec.occurred_at.isoformat(),
        "actor": rec.actor,
        "action": rec.action,
        "subject_type": rec.subject_type,
        "subject_id": rec.subject_id,
        "company_id": rec.company_id,
        "data": rec.data,
    }


def chain_hash(prev_hash: str, content: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(content)).hexdigest()


def _lock_head(session: Session) -> AuditHead:
    locked = select(AuditHead).where(AuditHead.id == 1).with_for_update()
    head = session.scalars(locked).first()
    if head is None:
        # The first append creates the head. Several first appends may race to do so:
        # ON CONFLICT lets the losers wait for the winner's row instead of failing.
        insert = (
            postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        )
        session.execute(
            insert(AuditHead)
            .values(id=1, last_seq=0, last_hash=GENESIS_HASH)
            .on_conflict_do_nothing(index_elements=[AuditHead.id])
        )
        head = session.scalars(locked).one()
    return head


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    company_id: str | None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditRecord:
    """Append one record in the caller's transaction."""
    head = _lock_head(session)
    rec = AuditRecord(
        seq=head.last_seq + 1,
        occurred_at=at or utcnow(),
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        company_id=company_id,
        # Normalise through JSON so the stored value hashes the same when read back.
        data=json.loads(canonical(data or {})),
        prev_hash=head.last_hash,
    )
    rec.hash = chain_hash(rec.prev_hash, _content(rec))
    head.last_seq = rec.seq
    head.last_hash = rec.hash
    session.add(rec)
    return rec


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str | None = None


def verify(session: Session) -> VerifyResult:
    """Walk the chain from the start; report the first record that does not fit."""
    expected_seq = 1
    prev_hash = GENESIS_HASH
    checked = 0
    rows = session.scalars(
        select(AuditRecord).order_by(AuditRecord.seq).execution_options(yield_per=1000)
    )
    for rec in rows:
        if rec.seq != expected_seq:
            return VerifyResult(False, checked, expected_seq, f"record {expected_seq} is missing")
        if rec.prev_hash != prev_hash:
            return VerifyResult(False, checked, rec.seq, "link to the previous record is broken")
        if chain_hash(rec.prev_hash, _content(rec)) != rec.hash:
            return VerifyResult(False, checked, rec.seq, "content does not match its hash")
        prev_hash = rec.hash
        expected_seq += 1
        checked += 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.last_seq != checked or head.last_hash != prev_hash):
        return VerifyResult(False, checked, checked + 1, "records after this point were removed")
    return VerifyResult(True, checked)
