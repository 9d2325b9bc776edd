"""Audit records join the chain at commit: in commit order, and never from a rollback."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.audit import service as audit
from baoxiao.kernel.db import Database
from baoxiao.models import AuditHead, AuditRecord


def _record(session: Session, subject: str) -> None:
    audit.record(
        session,
        actor="system",
        action="test:append",
        subject_type="test",
        subject_id=subject,
        company_id=None,
        data={"subject": subject},
    )


def _subjects(db: Database) -> list[str]:
    with db.transaction() as session:
        assert audit.verify(session).ok
        return list(session.scalars(select(AuditRecord.subject_id).order_by(AuditRecord.seq)))


def test_nothing_is_written_before_the_commit(db: Database) -> None:
    with db.transaction() as session:
        _record(session, "a")
        _record(session, "b")
        assert audit.pending(session) == 2
        assert session.scalar(select(AuditRecord.seq)) is None
    assert _subjects(db) == ["a", "b"]
    with db.transaction() as session:
        head = session.get(AuditHead, 1)
        assert head is not None and head.last_seq == 2


def test_a_rolled_back_savepoint_drops_only_its_records(db: Database) -> None:
    with db.transaction() as session:
        _record(session, "before")
        with pytest.raises(RuntimeError), session.begin_nested():
            _record(session, "inside")
            with session.begin_nested():
                _record(session, "nested deeper")
            raise RuntimeError("refused")
        with session.begin_nested():
            _record(session, "released")
        _record(session, "after")
        assert audit.pending(session) == 3
    assert _subjects(db) == ["before", "released", "after"]


def test_a_rolled_back_transaction_appends_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError), db.transaction() as session:
        _record(session, "lost")
        with session.begin_nested():
            _record(session, "released, then lost with the transaction")
        raise RuntimeError("fails")
    assert _subjects(db) == []


def test_a_session_closed_without_commit_forgets_its_queue(db: Database) -> None:
    session = db.session_factory()
    _record(session, "abandoned")
    session.close()
    assert audit.pending(session) == 0
    _record(session, "kept")  # the same session, used again: only the new record
    session.commit()
    session.close()
    assert _subjects(db) == ["kept"]


def test_the_chain_follows_commit_order(db: Database) -> None:
    first, second = db.session_factory(), db.session_factory()
    try:
        _record(first, "queued first, committed last")
        _record(second, "queued second, committed first")
        second.commit()
        first.commit()
    finally:
        first.close()
        second.close()
    assert _subjects(db) == ["queued second, committed first", "queued first, committed last"]
