"""Fan-out to a real NATS JetStream server (BAOXIAO_BROKER_URL) through the delivery road.

Needs nats-server with JetStream on 127.0.0.1:4222 (.ci/run starts it; locally:
see docs/TESTING.md). A missing server fails the test, it is never skipped.
Real `baoxiao worker` processes publish; one is SIGKILLed mid-run; a real
JetStream consumer then reads the stream back: every event exactly once by id
(Nats-Msg-Id de-duplication), each claim's events in sequence order.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.js.api import DeliverPolicy
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from baoxiao.integrations.dispatcher import Dispatcher
from baoxiao.kernel.db import Database
from baoxiao.models.integration import ConnectorInstance, Delivery
from baoxiao.outbox import broker
from baoxiao.settings import Settings
from tests.support.delivery import (
    TEST_SECRET_KEY,
    all_delivered,
    counts,
    publish_events,
    wait_until,
)
from tests.support.factories import ensure_currencies, make_company
from tests.support.integrations import fast_settings
from tests.support.workers import Workers, worker_env

NATS_URL = os.environ.get("BAOXIAO_TEST_NATS_URL", "nats://127.0.0.1:4222")


def _reachable(url: str) -> bool:
    host_port = url.split("://", 1)[1].rsplit("@", 1)[-1]
    host, port = host_port.split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture
def broker_url() -> Iterator[str]:
    if not _reachable(NATS_URL):
        pytest.fail(
            f"NATS JetStream is not running at {NATS_URL}. The broker tests never skip: "
            "start it (.ci/run does) with `nats-server -a 127.0.0.1 -p 4222 -js`."
        )
    broker.configure(NATS_URL)
    yield NATS_URL
    broker.configure(None)


def read_back(url: str, company: uuid.UUID, expected: int, timeout: float) -> list[Any]:
    """The stream's messages for the company in stream order, as [id, (subject, body), ...]
    (a real consumer; reads one message past `expected` to catch a duplicate)."""

    async def _read() -> list[Any]:
        client = await nats.connect(url)
        try:
            js = client.jetstream()
            sub = await js.subscribe(
                f"baoxiao.{company}.>", ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
            )
            out: list[Any] = []
            deadline = time.monotonic() + timeout
            while len(out) < 2 * expected and time.monotonic() < deadline:
                try:
                    msg = await sub.next_msg(timeout=1.0)
                except nats.errors.TimeoutError:
                    continue
                out.append((msg.headers or {}).get("Nats-Msg-Id"))
                out.append((msg.subject, json.loads(msg.data)))
            try:  # anything beyond the expected count would be a duplicate
                msg = await sub.next_msg(timeout=1.0)
                out.append((msg.headers or {}).get("Nats-Msg-Id"))
                out.append((msg.subject, json.loads(msg.data)))
            except nats.errors.TimeoutError:
                pass
            await sub.unsubscribe()
            return out
        finally:
            await client.close()

    return asyncio.run(_read())


def test_every_event_reaches_the_broker_once_in_claim_order(
    committing_db: Database, db_backend: str, broker_url: str, tmp_path: Path
) -> None:
    db = committing_db
    with db.transaction() as session:
        ensure_currencies(session)
        company, _d, _c = make_company(session, f"B{uuid.uuid4().hex[:6]}")
        company_id = company.id
    subjects, per_subject = (20, 10) if db_backend == "postgresql" else (10, 6)
    claims = [str(uuid.uuid4()) for _ in range(subjects)]
    ids = publish_events(db, company_id, subjects, per_subject // 2, claims)
    with db.transaction() as session:  # the first event created the broker instance
        instance = session.scalars(
            select(ConnectorInstance).where(ConnectorInstance.company_id == company_id)
        ).one()
        assert (instance.kind, instance.name, instance.event_types) == ("nats", "broker", ["*"])
        assert instance.config == {} and instance.secrets == {}  # the URL is the setting's

    url = make_url(db.engine.url).render_as_string(hide_password=False)
    env = worker_env(url, tmp_path, BAOXIAO_BROKER_URL=broker_url)
    pool = Workers(env, tmp_path)
    for _ in range(2 if db_backend == "postgresql" else 1):
        pool.start()
    try:
        ids += publish_events(db, company_id, subjects, per_subject - per_subject // 2, claims)
        time.sleep(random.uniform(0.3, 0.8))
        pool.kill(pool.procs[0])  # SIGKILL, possibly between a publish and its outcome
        pool.start()
        assert wait_until(lambda: all_delivered(db, len(ids)), 60, step=0.2), counts(db)
    finally:
        pool.stop_all()

    got = read_back(broker_url, company_id, len(ids), timeout=20)
    msg_ids, bodies = got[0::2], got[1::2]
    assert sorted(msg_ids) == sorted(ids)  # every event, once (dedupe by Nats-Msg-Id)
    by_claim: dict[str, list[int]] = {}
    for (subject, body), msg_id in zip(bodies, msg_ids, strict=True):
        assert body["id"] == msg_id
        assert subject == f"baoxiao.{company_id}.{body['type']}"
        by_claim.setdefault(body["subject"]["id"], []).append(body["sequence"])
    assert set(by_claim) == set(claims)
    assert all(seqs == list(range(1, per_subject + 1)) for seqs in by_claim.values())


def test_broker_not_provisioned_without_the_setting(committing_db: Database) -> None:
    broker.configure(None)
    with committing_db.transaction() as session:
        ensure_currencies(session)
        company, _d, _c = make_company(session, f"N{uuid.uuid4().hex[:6]}")
        company_id = company.id
    publish_events(committing_db, company_id, 2, 2)
    with committing_db.transaction() as session:
        assert session.scalars(select(ConnectorInstance)).all() == []


def test_broker_instance_without_url_waits_and_the_dispatcher_goes_on(
    committing_db: Database, tmp_path: Path, broker_url: str
) -> None:
    """The setting removed while the broker instance still has work: its deliveries
    are retried later (with the error recorded) and the dispatcher pass does not fail."""
    db = committing_db
    with db.transaction() as session:
        ensure_currencies(session)
        company, _d, _c = make_company(session, f"U{uuid.uuid4().hex[:6]}")
        company_id = company.id
    publish_events(db, company_id, 2, 2)  # creates the broker instance, 4 deliveries
    broker.configure(None)
    with db.transaction() as session:
        before = session.scalar(select(func.count()).select_from(Delivery))
    settings = Settings(var_dir=tmp_path, secret_key=TEST_SECRET_KEY)
    dispatcher = Dispatcher(db, fast_settings(settings))
    try:
        for _ in range(3):
            dispatcher.run_once()  # does not raise
    finally:
        dispatcher.close()
    with db.transaction() as session:
        rows = session.scalars(select(Delivery)).all()
        assert len(rows) == before == 4
        assert {(d.status, d.last_error) for d in rows if d.sequence == 1} == {
            ("pending", "connector config unusable")
        }
