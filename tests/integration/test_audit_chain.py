"""The hash-chained audit log: real actions append to it, and any tampering is found."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import CursorResult, select, text
from sqlalchemy.orm import Session

from baoxiao.approvals import service as approvals
from baoxiao.audit import service as audit
from baoxiao.claims import service as claims
from baoxiao.claims.schemas import ClaimCreate, ClaimLineCreate
from baoxiao.identity.service import principal_for
from baoxiao.kernel.db import Database
from baoxiao.models import ApprovalTask, AuditHead, AuditRecord, TaskStatus
from baoxiao.models.audit import GENESIS_HASH
from baoxiao.payments import service as payments
from tests.support.factories import build_world

ACTIONS = [
    "claim:create",
    "claim:submit",
    "claim:start_approval",
    "approval:approve",
    "approval:approve",
    "claim:approve",
    "claim:start_payment",
    "claim:pay",
]


def _pending_task(session: Session, claim_id: object) -> ApprovalTask:
    return session.scalars(
        select(ApprovalTask).where(
            ApprovalTask.claim_id == claim_id, ApprovalTask.status == TaskStatus.PENDING
        )
    ).one()


@pytest.fixture
def chain(db: Database) -> list[AuditRecord]:
    """A claim taken from draft to paid through the services: eight audit records."""
    with db.transaction() as session:
        world = build_world(session)
        p = {name: principal_for(person.user) for name, person in world.people.items()}
        line = ClaimLineCreate(
            category_code="HOTEL", expense_date=date(2026, 5, 4), amount=Decimal("680.00")
        )
        claim = claims.create_draft(
            session, p["claimant"], ClaimCreate(reason="Beijing trip", lines=[line])
        )
        claims.submit(session, p["claimant"], claim.id, None)
        approvals.decide(
            session, p["manager"], _pending_task(session, claim.id).id, "approve", None
        )
        approvals.decide(
            session, p["finance"], _pending_task(session, claim.id).id, "approve", None
        )
        payment = payments.request_payment(session, p["cashier"], claim.id)
        payments.record_success(session, p["cashier"], payment.id, "BANK-1")
    with db.transaction() as session:
        return list(session.scalars(select(AuditRecord).order_by(AuditRecord.seq)))


def _verify(db: Database) -> audit.VerifyResult:
    """Verify in a fresh session, so it reads what the raw SQL left in the tables."""
    with db.transaction() as session:
        return audit.verify(session)


def _sql(db: Database, statement: str, **params: object) -> int:
    with db.transaction() as session:
        result = session.execute(text(statement), params)
        assert isinstance(result, CursorResult)
        return result.rowcount


def test_a_fresh_chain_of_real_actions_verifies(db: Database, chain: list[AuditRecord]) -> None:
    assert [r.action for r in chain] == ACTIONS
    assert [r.seq for r in chain] == list(range(1, 9))
    assert chain[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(chain):
        assert after.prev_hash == before.hash
    for rec in chain:
        assert len(rec.hash) == 64 and rec.hash != rec.prev_hash
        assert rec.subject_type == "claim" and rec.subject_id == chain[0].subject_id
        assert rec.data["total_amount"] == "680.00"
    assert [(r.data["from"], r.data["to"]) for r in chain] == [
        (None, "draft"),
        ("draft", "submitted"),
        ("submitted", "approving"),
        (None, None),
        (None, None),
        ("approving", "approved"),
        ("approved", "paying"),
        ("paying", "paid"),
    ]
    with db.transaction() as session:
        head = session.get(AuditHead, 1)
        assert head is not None
        assert (head.last_seq, head.last_hash) == (8, chain[-1].hash)
    assert _verify(db) == audit.VerifyResult(ok=True, checked=8)


def test_an_empty_chain_verifies(db: Database) -> None:
    assert _verify(db) == audit.VerifyResult(ok=True, checked=0)


def _edit_data(dialect: str) -> str:
    if dialect == "postgresql":
        new_data = "jsonb_set(data, '{total_amount}', '\"6.80\"')"
    else:
        new_data = "json_set(data, '$.total_amount', '6.80')"
    return f"UPDATE audit_records SET data = {new_data} WHERE seq = 3"


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(_edit_data, id="data"),
        pytest.param(
            lambda d: "UPDATE audit_records SET actor = 'user:someone-else' WHERE seq = 3",
            id="actor",
        ),
        pytest.param(
            lambda d: "UPDATE audit_records SET action = 'claim:cancel' WHERE seq = 3", id="action"
        ),
        pytest.param(
            lambda d: "UPDATE audit_records SET subject_id = 'another' WHERE seq = 3", id="subject"
        ),
        pytest.param(
            lambda d: "UPDATE audit_records SET company_id = NULL WHERE seq = 3", id="company"
        ),
    ],
)
def test_an_edited_record_is_reported(
    db: Database, chain: list[AuditRecord], edit: Callable[[str], str]
) -> None:
    assert _sql(db, edit(db.dialect)) == 1
    result = _verify(db)
    assert result == audit.VerifyResult(False, 2, 3, "content does not match its hash")


def test_an_edited_time_is_reported(db: Database, chain: list[AuditRecord]) -> None:
    moved = chain[2].occurred_at.replace(year=2020)
    with db.transaction() as session:  # through the column type: SQLite stores naive UTC
        session.query(AuditRecord).filter(AuditRecord.seq == 3).update({"occurred_at": moved})
    assert _verify(db) == audit.VerifyResult(False, 2, 3, "content does not match its hash")


def test_a_rehashed_forgery_breaks_the_next_link(db: Database, chain: list[AuditRecord]) -> None:
    """Editing a record and recomputing its own hash still breaks the record after it."""
    forged = {**chain[2].data, "total_amount": "6.80"}
    content = {
        "seq": 3,
        "occurred_at": chain[2].occurred_at.isoformat(),
        "actor": chain[2].actor,
        "action": chain[2].action,
        "subject_type": "claim",
        "subject_id": chain[2].subject_id,
        "company_id": chain[2].company_id,
        "data": forged,
    }
    new_hash = audit.chain_hash(chain[2].prev_hash, content)
    with db.transaction() as session:
        rec = session.get(AuditRecord, 3)
        assert rec is not None
        rec.data, rec.hash = forged, new_hash
    assert _verify(db) == audit.VerifyResult(False, 3, 4, "link to the previous record is broken")


def test_a_deleted_middle_record_is_reported_missing(
    db: Database, chain: list[AuditRecord]
) -> None:
    assert _sql(db, "DELETE FROM audit_records WHERE seq = 4") == 1
    assert _verify(db) == audit.VerifyResult(False, 3, 4, "record 4 is missing")


def test_a_deleted_first_record_is_reported_missing(db: Database, chain: list[AuditRecord]) -> None:
    assert _sql(db, "DELETE FROM audit_records WHERE seq = 1") == 1
    assert _verify(db) == audit.VerifyResult(False, 0, 1, "record 1 is missing")


def test_a_deleted_last_record_is_reported_removed(db: Database, chain: list[AuditRecord]) -> None:
    assert _sql(db, "DELETE FROM audit_records WHERE seq = 8") == 1
    assert _verify(db) == audit.VerifyResult(False, 7, 8, "records after this point were removed")


def test_deleting_the_whole_tail_is_reported(db: Database, chain: list[AuditRecord]) -> None:
    assert _sql(db, "DELETE FROM audit_records WHERE seq > 5") == 3
    assert _verify(db) == audit.VerifyResult(False, 5, 6, "records after this point were removed")


def test_reordered_records_are_reported(db: Database, chain: list[AuditRecord]) -> None:
    """Swap the sequence numbers of records 2 and 3: each now sits after the wrong record."""
    _sql(db, "UPDATE audit_records SET seq = -1 WHERE seq = 2")
    _sql(db, "UPDATE audit_records SET seq = 2 WHERE seq = 3")
    _sql(db, "UPDATE audit_records SET seq = 3 WHERE seq = -1")
    assert _verify(db) == audit.VerifyResult(False, 1, 2, "link to the previous record is broken")


def test_swapped_contents_are_reported(db: Database, chain: list[AuditRecord]) -> None:
    """Swap what records 5 and 6 say, leaving their seq and hashes in place."""
    with db.transaction() as session:
        five, six = session.get(AuditRecord, 5), session.get(AuditRecord, 6)
        assert five is not None and six is not None
        for name in ("occurred_at", "actor", "action", "data"):
            first, second = getattr(five, name), getattr(six, name)
            setattr(five, name, second)
            setattr(six, name, first)
    assert _verify(db) == audit.VerifyResult(False, 4, 5, "content does not match its hash")


def test_a_changed_prev_hash_is_reported(db: Database, chain: list[AuditRecord]) -> None:
    assert _sql(db, "UPDATE audit_records SET prev_hash = :h WHERE seq = 5", h=chain[1].hash) == 1
    assert _verify(db) == audit.VerifyResult(False, 4, 5, "link to the previous record is broken")


def test_a_changed_hash_is_reported(db: Database, chain: list[AuditRecord]) -> None:
    assert _sql(db, "UPDATE audit_records SET hash = :h WHERE seq = 6", h="f" * 64) == 1
    assert _verify(db) == audit.VerifyResult(False, 5, 6, "content does not match its hash")


def test_concurrent_appends_keep_one_linear_chain(committing_db: Database) -> None:
    """8 threads x 20 appends, each in its own session and transaction, on real commits."""
    threads, per_thread = 8, 20
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                with committing_db.transaction() as session:
                    audit.record(
                        session,
                        actor=f"worker:{worker}",
                        action="test:append",
                        subject_type="test",
                        subject_id=f"{worker}-{i}",
                        company_id=None,
                        data={"worker": worker, "i": i},
                    )
        except BaseException as exc:  # reported below; a thread's exception is otherwise lost
            errors.append(exc)

    workers = [threading.Thread(target=append, args=(n,)) for n in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=120)
    assert not any(w.is_alive() for w in workers)
    assert errors == []

    with committing_db.transaction() as session:
        assert audit.verify(session) == audit.VerifyResult(ok=True, checked=threads * per_thread)
        records = list(session.scalars(select(AuditRecord).order_by(AuditRecord.seq)))
        head = session.get(AuditHead, 1)
    assert [r.seq for r in records] == list(range(1, threads * per_thread + 1))
    assert records[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(records))
    assert sorted(r.subject_id for r in records) == sorted(
        f"{w}-{i}" for w in range(threads) for i in range(per_thread)
    )
    for worker in range(threads):  # each worker's own appends stay in its order
        mine = [r.data["i"] for r in records if r.data["worker"] == worker]
        assert mine == list(range(per_thread))
    assert head is not None and (head.last_seq, head.last_hash) == (160, records[-1].hash)
