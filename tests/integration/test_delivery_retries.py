"""Receiver failures against a real HTTP server: 500s, timeouts, slowness, an outage,
Retry-After and the rate limit. Backoff is scaled down through the settings."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import select

from baoxiao.connectors.webhook import crypto
from baoxiao.integrations.dispatcher import Dispatcher
from baoxiao.kernel.db import Database
from baoxiao.models.integration import Delivery
from baoxiao.settings import Settings
from tests.support.delivery import (
    TEST_SECRET_KEY,
    all_delivered,
    publish_events,
    wait_until,
    webhook_instance,
)
from tests.support.integrations import fast_settings
from tests.support.receiver import Receiver


@pytest.fixture
def secret() -> str:
    return crypto.new_secret()


@pytest.fixture
def receiver(secret: str) -> Iterator[Receiver]:
    rec = Receiver(secret).start()
    yield rec
    rec.stop()


@pytest.fixture
def running(committing_db: Database, tmp_path: Path) -> Iterator[Dispatcher]:
    settings = fast_settings(
        Settings(var_dir=tmp_path, secret_key=TEST_SECRET_KEY), delivery_lease_seconds=3.0
    )
    dispatcher = Dispatcher(committing_db, settings)
    stop = threading.Event()
    thread = threading.Thread(target=dispatcher.run, args=(stop,), daemon=True)
    thread.start()
    yield dispatcher
    stop.set()
    thread.join(10)


def attempt_gaps(receiver: Receiver, msg_id: str) -> list[float]:
    times = [r.at for r in receiver.wire if r.webhook_id == msg_id]
    return [b - a for a, b in pairwise(times)]


def test_server_errors_back_off_then_deliver(
    committing_db: Database, receiver: Receiver, secret: str, running: Dispatcher
) -> None:
    receiver.behaviour.statuses = [500, 503, 502, 500]
    company, _instance = webhook_instance(committing_db, receiver.url, secret)
    [event_id] = publish_events(committing_db, company, 1, 1)
    assert wait_until(lambda: all_delivered(committing_db, 1), 20)
    assert [r.status for r in receiver.wire] == [500, 503, 502, 500, 200]
    gaps = attempt_gaps(receiver, event_id)
    assert len(gaps) == 4 and all(g >= 0.005 for g in gaps)  # never an immediate retry
    with committing_db.transaction() as session:
        row = session.scalars(select(Delivery)).one()
        assert (row.attempts, row.last_status_code, row.last_error) == (5, 200, None)


def test_retry_after_is_honoured(
    committing_db: Database, receiver: Receiver, secret: str, running: Dispatcher
) -> None:
    receiver.behaviour.statuses = [429]
    receiver.behaviour.retry_after = "1"
    company, _instance = webhook_instance(committing_db, receiver.url, secret)
    [event_id] = publish_events(committing_db, company, 1, 1)
    assert wait_until(lambda: all_delivered(committing_db, 1), 20)
    assert attempt_gaps(receiver, event_id)[0] >= 0.95


def test_timeouts_and_slow_answers(
    committing_db: Database, receiver: Receiver, secret: str, running: Dispatcher
) -> None:
    receiver.behaviour.delay = 0.6  # slower than the 0.3 s timeout: retried
    company, _instance = webhook_instance(committing_db, receiver.url, secret, timeout=0.3)
    publish_events(committing_db, company, 2, 2)
    assert wait_until(lambda: len(receiver.wire) >= 4, 20)
    assert all_delivered(committing_db, 4) is False
    receiver.behaviour.delay = 0.1  # slow but within the timeout: delivered
    assert wait_until(lambda: all_delivered(committing_db, 4), 30)
    assert receiver.sequences_by_subject() and all(
        seqs == [1, 2] for seqs in receiver.sequences_by_subject().values()
    )


def test_receiver_down_then_back_drains_the_backlog(
    committing_db: Database, secret: str, running: Dispatcher
) -> None:
    first = Receiver(secret).start()
    port = first.port
    first.stop()  # down: connection refused
    company, _instance = webhook_instance(committing_db, f"http://127.0.0.1:{port}/hooks", secret)
    ids = publish_events(committing_db, company, 10, 3)
    assert wait_until(lambda: _min_attempts(committing_db) >= 2, 20), (
        "the heads were retried while the receiver was down"
    )
    back = Receiver(secret, port).start()
    try:
        assert wait_until(lambda: all_delivered(committing_db, len(ids)), 30)
        assert set(back.applied) == set(ids)
        assert all(seqs == [1, 2, 3] for seqs in back.sequences_by_subject().values())
    finally:
        back.stop()


def _min_attempts(db: Database) -> int:
    with db.transaction() as session:
        heads = session.scalars(select(Delivery.attempts).where(Delivery.sequence == 1)).all()
        return min(heads) if heads else 0


def test_rate_limit_queues_bursts_without_failing(
    committing_db: Database, receiver: Receiver, secret: str, running: Dispatcher
) -> None:
    company, _instance = webhook_instance(committing_db, receiver.url, secret, qps=20, burst=5)
    ids = publish_events(committing_db, company, 40, 1)
    assert wait_until(lambda: all_delivered(committing_db, 40), 30)
    times = sorted(r.at for r in receiver.wire)
    assert len(times) == 40 and all(r.status == 200 for r in receiver.wire)
    # 5 at once, then 20/s: 35 more need >= 1.75 s; no 1-second window exceeds burst + qps.
    # Times are taken at the receiver, so a request held up on a busy machine arrives late
    # and makes the ones after it look bunched: allow that jitter, not a broken limiter
    # (without one, all 40 would land within a fraction of a second).
    jitter = 3
    assert times[-1] - times[0] >= 1.6
    for i, t in enumerate(times):
        assert sum(1 for u in times[i:] if u - t < 1.0) <= 5 + 20 + jitter
    assert set(receiver.applied) == set(ids)
