"""At-least-once delivery, exactly-once effect and per-claim order while real worker
processes are SIGKILLed at random: on PostgreSQL the issue's full 5,000 events and 20 kills.

PostgreSQL: three `baoxiao worker` processes share the queue (SKIP LOCKED + leases);
5,000 events over 250 claims are published while workers are killed 20 times.
SQLite: one worker at a time (the leased dispatcher), killed and restarted 5 times.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from baoxiao.connectors.webhook import crypto
from baoxiao.kernel.db import Database
from tests.support.delivery import (
    all_delivered,
    counts,
    publish_events,
    wait_until,
    webhook_instance,
)
from tests.support.receiver import Receiver
from tests.support.workers import Workers, worker_env


@pytest.fixture
def secret() -> str:
    return crypto.new_secret()


@pytest.fixture
def receiver(secret: str) -> Iterator[Receiver]:
    rec = Receiver(secret).start()
    rec.behaviour.delay = 0.005  # keep some work in flight when a kill lands
    yield rec
    rec.stop()


def _url(db: Database) -> str:
    return make_url(db.engine.url).render_as_string(hide_password=False)


def run_kill_scenario(
    db: Database,
    receiver: Receiver,
    secret: str,
    tmp_path: Path,
    *,
    subjects: int,
    per_subject: int,
    workers: int,
    kills: int,
) -> dict[str, int]:
    company, _instance = webhook_instance(db, receiver.url, secret, timeout=0.5)
    claims = [str(uuid.uuid4()) for _ in range(subjects)]
    ids = publish_events(db, company, subjects, per_subject // 2, claims)
    pool = Workers(worker_env(_url(db), tmp_path), tmp_path)
    for _ in range(workers):
        pool.start()
    rest: list[str] = []
    publisher = threading.Thread(
        target=lambda: rest.extend(
            publish_events(db, company, subjects, per_subject - per_subject // 2, claims)
        )
    )
    rng = random.Random(20261128)
    kills_with_backlog = 0
    try:
        time.sleep(1.0)
        publisher.start()
        for _ in range(kills):
            time.sleep(rng.uniform(0.1, 0.4))
            if counts(db).get("pending", 0) > 0:
                kills_with_backlog += 1
            pool.kill(rng.choice(pool.procs))
            pool.start()
        publisher.join(60)
        every = ids + rest
        assert len(every) == subjects * per_subject
        assert wait_until(lambda: all_delivered(db, len(every)), 90, step=0.2), counts(db)
    finally:
        pool.stop_all()
    assert set(receiver.applied) == set(every)  # every event at least once
    assert len(receiver.applied) == len(every)  # applied once each (dedupe by webhook-id)
    expected = list(range(1, per_subject + 1))
    by_subject = receiver.sequences_by_subject()
    assert len(by_subject) == subjects
    assert all(seqs == expected for seqs in by_subject.values())  # per-claim order
    assert receiver.bad_signatures == 0
    return {
        "events": len(every),
        "wire": len(receiver.wire),
        "kills": kills,
        "kills_with_backlog": kills_with_backlog,
    }


def test_sigkilled_workers_lose_nothing(
    committing_db: Database, db_backend: str, receiver: Receiver, secret: str, tmp_path: Path
) -> None:
    if db_backend == "sqlite":
        # SQLite runs one dispatcher at a time: its own scenario below.
        stats = run_kill_scenario(
            committing_db,
            receiver,
            secret,
            tmp_path,
            subjects=30,
            per_subject=10,
            workers=1,
            kills=5,
        )
    else:
        stats = run_kill_scenario(
            committing_db,
            receiver,
            secret,
            tmp_path,
            subjects=250,
            per_subject=20,
            workers=3,
            kills=20,
        )
        assert stats["kills_with_backlog"] >= 10
    print(f"\nkill scenario on {db_backend}: {stats}")
