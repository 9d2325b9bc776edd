"""Outbox delivery benchmark on PostgreSQL: two `baoxiao worker` processes deliver to a
fast local HTTP sink (a separate process).

Measures
1. sustained throughput: N events published up front, time until all delivered;
2. commit-to-receipt latency at a steady 200 events/s: receipt time at the sink minus
   the commit time of the publishing transaction, p50/p99.

Run: `make bench-outbox` (BAOXIAO_TEST_PG_URL picks the server, default local).
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from baoxiao.connectors.webhook import crypto  # noqa: E402
from baoxiao.kernel.db import Database  # noqa: E402
from baoxiao.kernel.events import DomainEvent  # noqa: E402
from baoxiao.migrations import runner  # noqa: E402
from baoxiao.models.integration import Delivery  # noqa: E402
from baoxiao.outbox.service import publish  # noqa: E402
from tests.support.db import create_database, drop_database  # noqa: E402
from tests.support.delivery import webhook_instance  # noqa: E402
from tests.support.workers import Workers, worker_env  # noqa: E402


def free_port() -> int:

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def read_log(path: Path) -> dict[str, float]:
    out: dict[str, float] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            msg_id, at, status = line.split()
            if status == "200":
                out.setdefault(msg_id, float(at))
    return out


def delivered(db: Database) -> int:
    with db.transaction() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.status == "delivered")
            )
            or 0
        )


def publish_one(db: Database, company: uuid.UUID, subject: str) -> tuple[str, float]:
    with db.transaction() as session:
        row = publish(
            session,
            DomainEvent("claim.submitted", "claim", subject, str(company), {"claim_id": subject}),
        )
        event_id = row.id
    return event_id, time.time()  # commit done


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-outbox-"))
    url = create_database("postgresql", tmp)
    runner.upgrade(url)
    db = Database.from_url(url, pool_size=4)
    secret = crypto.new_secret()
    port = free_port()
    log = tmp / "sink.log"
    sink = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "sink.py"), str(port), str(log)], cwd=ROOT
    )
    env = worker_env(
        url,
        tmp,
        BAOXIAO_DELIVERY_BATCH_SIZE="200",
        BAOXIAO_DELIVERY_CONCURRENCY="32",
        BAOXIAO_DELIVERY_LEASE_SECONDS="30",
        BAOXIAO_DELIVERY_POLL_SECONDS="1",
    )
    workers = Workers(env, tmp)
    try:
        company, _ = webhook_instance(db, f"http://127.0.0.1:{port}/hooks", secret, timeout=5)
        time.sleep(1.0)
        # 1. Throughput: a backlog of distinct claims, then two workers drain it.
        with db.transaction() as session:
            for _ in range(args.events):
                subject = str(uuid.uuid4())
                publish(
                    session,
                    DomainEvent("claim.submitted", "claim", subject, str(company), {"n": 1}),
                )
        start = time.monotonic()
        workers.start()
        workers.start()
        while delivered(db) < args.events and time.monotonic() - start < 300:
            time.sleep(0.2)
        elapsed = time.monotonic() - start
        done = delivered(db)
        print(f"throughput: {done} events in {elapsed:.2f} s = {done / elapsed:.0f} events/s")
        print("  (includes worker start-up, about 1 s of the total)")

        # 2. Latency at a steady rate, from 4 publishing threads (as 4 app processes would).
        sent: dict[str, float] = {}
        threads = 4
        interval = threads / args.rate
        t0 = time.monotonic()

        def publisher() -> None:
            k = 0
            while time.monotonic() - t0 < args.seconds:
                event_id, committed = publish_one(db, company, str(uuid.uuid4()))
                sent[event_id] = committed
                k += 1
                pause = t0 + k * interval - time.monotonic()
                if pause > 0:
                    time.sleep(pause)

        pubs = [threading.Thread(target=publisher) for _ in range(threads)]
        for t in pubs:
            t.start()
        for t in pubs:
            t.join()
        n = len(sent)
        time.sleep(2.0)
        got = read_log(log)
        lat = sorted((got[i] - t) * 1000 for i, t in sent.items() if i in got)
        rate = n / args.seconds
        p50 = statistics.median(lat)
        p99 = lat[int(len(lat) * 0.99) - 1]
        print(
            f"latency at {rate:.0f} events/s: {len(lat)}/{n} received, "
            f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {lat[-1]:.1f} ms"
        )
    finally:
        workers.stop_all()
        sink.terminate()
        sink.wait(10)
        db.dispose()
        drop_database(url)


if __name__ == "__main__":
    main()
