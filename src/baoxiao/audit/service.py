"""Append to the hash-chained audit log, and verify the chain.

Each record's hash is SHA-256 over the previous record's hash and the
record's canonical JSON content (sorted keys, no spaces, UTF-8).

`record()` only queues the record on the session. Just before the
transaction commits (a `before_commit` listener), the queued records are
numbered and hashed in the order they were queued, under a lock on the
single chain-head row, and added; COMMIT follows at once and releases the
lock. So the chain order is commit order, and the head is locked for the
length of one flush instead of for the rest of the transaction. Records
queued inside a savepoint that rolls back, or in a transaction that rolls
back, are dropped with it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, SessionTransaction

from baoxiao.kernel.clock import utcnow
from baoxiao.models.audit import GENESIS_HASH, AuditHead, AuditRecord

_QUEUE_KEY = "baoxiao_audit_queue"


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
    locked = (
        select(AuditHead)
        .where(AuditHead.id == 1)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
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


@dataclass(frozen=True)
class _Queued:
    """A record waiting for the commit, and the (innermost) transaction it was made in."""

    transaction: SessionTransaction
    fields: dict[str, Any]


def _queue(session: Session) -> list[_Queued]:
    queue: list[_Queued] = session.info.setdefault(_QUEUE_KEY, [])
    return queue


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
) -> None:
    """Queue one record; it joins the chain when the caller's transaction commits."""
    if not session.in_transaction():
        session.connection()  # begin, as the insert this record stands for would have
    transaction = session.get_nested_transaction() or session.get_transaction()
    assert transaction is not None
    fields = {
        "occurred_at": at or utcnow(),
        "actor": actor,
        "action": action,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "company_id": company_id,
        # Normalise through JSON so the stored value hashes the same when read back.
        "data": json.loads(canonical(data or {})),
    }
    _queue(session).append(_Queued(transaction, fields))


def pending(session: Session) -> int:
    """How many records this session will append at its next commit."""
    return len(session.info.get(_QUEUE_KEY, ()))


def _append_queued(session: Session) -> None:
    queued = session.info.pop(_QUEUE_KEY, None)
    if not queued:
        return
    session.flush()  # write the rest first: the head stays locked only for the appends
    head = _lock_head(session)
    seq, prev_hash = head.last_seq, head.last_hash
    for item in queued:
        seq += 1
        rec = AuditRecord(seq=seq, prev_hash=prev_hash, **item.fields)
        rec.hash = chain_hash(prev_hash, _content(rec))
        prev_hash = rec.hash
        session.add(rec)
    head.last_seq, head.last_hash = seq, prev_hash


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    # A savepoint being released is not the commit: its records wait for the outer one.
    if not session.in_nested_transaction():
        _append_queued(session)


@event.listens_for(Session, "after_soft_rollback")
def _after_soft_rollback(session: Session, previous: SessionTransaction) -> None:
    """Drop the records made in the rolled-back transaction or in savepoints inside it."""
    queued: list[_Queued] | None = session.info.get(_QUEUE_KEY)
    if not queued:
        return
    kept = [item for item in queued if not _within(item.transaction, previous)]
    if kept:
        session.info[_QUEUE_KEY] = kept
    else:
        session.info.pop(_QUEUE_KEY, None)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    # Commit has appended the queue and rollback dropped it; a close without either drops it.
    if transaction.parent is None:
        session.info.pop(_QUEUE_KEY, None)


def _within(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False


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
