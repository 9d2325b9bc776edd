"""The dispatcher: claim due deliveries, hand them to connectors, record outcomes.

One loop per worker process (`baoxiao worker`), or one thread inside
`baoxiao serve` in the embedded SQLite mode. Each pass:
1. applies received inbound callbacks (integrations.inbound);
2. claims a batch under leases in one short transaction (outbox.queue.claim);
3. calls the connectors concurrently from a thread pool, outside any transaction;
4. records the previous batch's outcomes in one transaction (bulk UPDATE), only
   for leases still held, while this batch's calls run (a two-stage pipeline).
Between passes it sleeps until woken (LISTEN/NOTIFY on PostgreSQL, an
in-process signal on SQLite) or until the next retry is due, at most one poll
interval: polling is the fallback, a lost wake-up only costs latency.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from baoxiao.approvals.tasks import run_timers
from baoxiao.connectors.base import Connector, ConnectorContext, ConnectorError
from baoxiao.integrations import hooks, inbound, metrics
from baoxiao.integrations import service as instances
from baoxiao.integrations.wake import Waiter, make_waiter
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.crypto import SecretBox
from baoxiao.kernel.db import Database
from baoxiao.models.integration import ConnectorInstance, WorkerLease
from baoxiao.outbox import queue
from baoxiao.outbox.retry import RetryPolicy
from baoxiao.settings import Settings

log = logging.getLogger("baoxiao.dispatcher")
SQLITE_LEASE = "dispatcher"
PURGE_EVERY = 3600.0


def policy_from(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        base_delay=settings.delivery_base_delay_seconds,
        max_delay=settings.delivery_max_delay_seconds,
        horizon=timedelta(hours=settings.delivery_horizon_hours),
    )


def hold_lease(session: Session, name: str, owner: str, ttl: timedelta) -> bool:
    """Take or renew a named lease; False while another live owner holds it."""
    now = utcnow()
    lease = session.get(WorkerLease, name, with_for_update=True)
    if lease is None:
        session.add(WorkerLease(name=name, owner=owner, expires_at=now + ttl))
    elif lease.owner == owner or lease.expires_at <= now:
        lease.owner, lease.expires_at = owner, now + ttl
    else:
        return False
    session.flush()
    return True


class Dispatcher:
    def __init__(self, db: Database, settings: Settings, *, owner: str | None = None) -> None:
        self.db = db
        self.settings = settings
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.policy = policy_from(settings)
        self.box = SecretBox.from_secret(
            settings.resolved_secret_key,
            old_secrets=tuple(s.get_secret_value() for s in settings.old_secret_keys),
        )
        self.lease = timedelta(seconds=settings.delivery_lease_seconds)
        self.rng = random.Random()
        self.pool = ThreadPoolExecutor(settings.delivery_concurrency, "baoxiao-deliver")
        self._connectors: dict[str, Connector] = {}
        self._contexts: dict[uuid.UUID, tuple[object, ConnectorContext, str]] = {}
        self._last_purge = 0.0
        self._last_timers = 0.0
        self._inflight: list[tuple[queue.Leased, Future[queue.Outcome]]] = []

    def _connector(self, kind: str) -> Connector:
        if kind not in self._connectors:
            self._connectors[kind] = instances.connector_class(kind)()
        return self._connectors[kind]

    def _load_contexts(self, session: Session, ids: set[uuid.UUID]) -> None:
        rows = session.scalars(select(ConnectorInstance).where(ConnectorInstance.id.in_(ids)))
        for row in rows:
            cached = self._contexts.get(row.id)
            if cached is None or cached[0] != row.updated_at:
                try:
                    ctx = instances.context(self.box, row)
                except Exception:  # e.g. the broker instance after BAOXIAO_BROKER_URL went
                    log.exception("connector instance %s has an unusable config", row.id)
                    self._contexts.pop(row.id, None)
                    continue
                self._contexts[row.id] = (row.updated_at, ctx, row.kind)

    def _claim(self) -> list[queue.Leased]:
        with self.db.transaction() as session:
            if self.db.dialect == "sqlite" and not hold_lease(
                session, SQLITE_LEASE, self.owner, self.lease
            ):
                return []
            leased = queue.claim(
                session,
                self.owner,
                now=utcnow(),
                limit=self.settings.delivery_batch_size,
                lease=self.lease,
            )
            if leased:
                self._load_contexts(session, {item.connector_id for item in leased})
                leased = hooks.enrich_batch(session, leased)
            return leased

    def _deliver(self, item: queue.Leased) -> queue.Outcome:
        if item.connector_id not in self._contexts:  # its config did not load: retry later
            return queue.Outcome(
                item.delivery_id, ok=False, error="connector config unusable", retryable=True
            )
        _stamp, ctx, kind = self._contexts[item.connector_id]
        try:
            result = self._connector(kind).handle(ctx, item.event)
        except ConnectorError as exc:
            metrics.FAILURES.labels(kind).inc()
            return queue.Outcome(
                item.delivery_id,
                ok=False,
                status_code=exc.status_code,
                error=str(exc),
                retryable=exc.retryable,
                retry_after=exc.retry_after,
                disable=exc.disable,
                finished_at=utcnow(),
            )
        except Exception as exc:  # a connector bug must not kill the worker: retry later
            log.exception("connector %s failed on delivery %s", kind, item.delivery_id)
            metrics.FAILURES.labels(kind).inc()
            return queue.Outcome(item.delivery_id, ok=False, error=repr(exc)[:500], retryable=True)
        done = utcnow()
        metrics.LATENCY.labels(kind).observe((done - item.event.occurred_at).total_seconds())
        return queue.Outcome(
            item.delivery_id, ok=True, status_code=result.status_code, finished_at=done
        )

    def run_once(self) -> int:
        """One pass; returns the number of deliveries and callbacks handled.

        Pipelined: the next batch is claimed and its calls started while the
        previous batch's calls are still running; then the previous batch's
        outcomes are recorded. Order is safe: a claimed batch never holds the
        successor of an in-flight delivery (it is still pending, so it blocks).
        """
        handled = inbound.apply_pending(self.db, box=self.box)
        self._housekeeping()
        previous, self._inflight = self._inflight, []
        if all(future.done() for _item, future in previous):
            # Nothing left to overlap with: record first, so successors are claimable now.
            handled += self._record(previous)
            previous = []
        leased = self._claim()
        if not leased and previous:
            # Nothing to overlap with (e.g. only successors of the running batch are
            # waiting): record, then claim what that unblocked, in this same pass.
            handled += self._record(previous)
            previous = []
            leased = self._claim()
        self._inflight = [(item, self.pool.submit(self._deliver, item)) for item in leased]
        return handled + len(leased) + self._record(previous)

    def _record(self, batch: list[tuple[queue.Leased, Future[queue.Outcome]]]) -> int:
        """Wait for a batch's calls and record their outcomes in one transaction."""
        if not batch:
            return 0
        outcomes = [future.result() for _item, future in batch]
        with self.db.transaction() as session:
            counts = queue.finish(
                session, self.owner, outcomes, now=utcnow(), policy=self.policy, rng=self.rng
            )
        kinds = {
            self._contexts[item.connector_id][2]
            for item, _f in batch
            if item.connector_id in self._contexts
        }
        kind = kinds.pop() if len(kinds) == 1 else "mixed"
        for outcome, n in counts.items():
            if n:
                metrics.DELIVERIES.labels(kind, outcome).inc(n)
        return len(batch)

    def _housekeeping(self) -> None:
        """Periodic chores: purge the old inbox, run approval reminders and escalations."""
        clock = time.monotonic()
        if clock - self._last_purge >= PURGE_EVERY:
            self._last_purge = clock
            with self.db.transaction() as session:
                inbound.purge(session, now=utcnow(), keep_days=self.settings.inbox_retention_days)
        every = self.settings.approval_timer_seconds
        if clock - self._last_timers >= every:
            self._last_timers = clock
            with self.db.transaction() as session:
                # One worker at a time; the lease outlives the interval so it does not flap.
                if hold_lease(session, "approval-timers", self.owner, timedelta(seconds=every * 3)):
                    done = run_timers(session, utcnow())
                    if done.reminded or done.escalated:
                        log.info(
                            "approval timers: %s reminded, %s escalated",
                            done.reminded,
                            done.escalated,
                        )

    def _sleep_for(self) -> float:
        poll = self.settings.delivery_poll_seconds
        with self.db.transaction() as session:
            due = queue.next_due_at(session, utcnow())
        if due is None:
            return poll
        # Never spin: a rate-limited or just-expired head is retried after a short nap.
        return max(0.05, min(poll, (due - utcnow()).total_seconds()))

    def run(self, stop: threading.Event, waiter: Waiter | None = None) -> None:
        """Loop until `stop` is set."""
        waiter = waiter or make_waiter(self.db)
        log.info("dispatcher %s started", self.owner)
        try:
            while not stop.is_set():
                try:
                    busy = self.run_once()
                except Exception:  # database hiccup: log, back off, go on
                    log.exception("dispatcher pass failed")
                    stop.wait(1.0)
                    continue
                if busy:
                    continue
                waiter.wait(self._sleep_for())
        finally:
            waiter.close()
            self.close()
            log.info("dispatcher %s stopped", self.owner)

    def close(self) -> None:
        """Finish in-flight calls, hand the SQLite lease back, close connections."""
        batch, self._inflight = self._inflight, []
        try:
            self._record(batch)
        except Exception:  # the leases expire and another worker retries them
            log.exception("recording the last batch failed")
        self.pool.shutdown(wait=True)
        if self.db.dialect == "sqlite":
            with self.db.transaction() as session:
                session.execute(
                    delete(WorkerLease).where(
                        WorkerLease.name == SQLITE_LEASE, WorkerLease.owner == self.owner
                    )
                )
        for connector in self._connectors.values():
            connector.close()
