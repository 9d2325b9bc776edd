"""How an idle dispatcher waits: LISTEN on PostgreSQL, the in-process signal otherwise."""

from __future__ import annotations

import logging
from typing import Protocol

import psycopg
from sqlalchemy.engine import make_url

from baoxiao.kernel import wakeup
from baoxiao.kernel.db import Database
from baoxiao.outbox.service import NOTIFY_CHANNEL

log = logging.getLogger("baoxiao.dispatcher")


class Waiter(Protocol):
    def wait(self, timeout: float) -> None: ...

    def close(self) -> None: ...


class SignalWaiter:
    """In-process: woken by kernel.wakeup after a commit that queued deliveries."""

    def wait(self, timeout: float) -> None:
        wakeup.wait(timeout)

    def close(self) -> None:
        pass


class ListenWaiter:
    """PostgreSQL: LISTEN on the deliveries channel; NOTIFY arrives at the publisher's commit."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn: psycopg.Connection[tuple[object, ...]] | None = None

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        if self.conn is None or self.conn.closed:
            conn = psycopg.connect(self.url, autocommit=True)
            conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
            self.conn = conn
        return self.conn

    def wait(self, timeout: float) -> None:
        try:
            conn = self._connect()
            for _ in conn.notifies(timeout=timeout, stop_after=1):
                pass
        except psycopg.Error as exc:  # fall back to polling until the server is back
            log.warning("LISTEN failed (%s); polling", exc)
            self.close()
            wakeup.wait(timeout)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def make_waiter(db: Database) -> Waiter:
    if db.dialect == "postgresql":
        url = make_url(db.engine.url).set(drivername="postgresql")
        return ListenWaiter(url.render_as_string(hide_password=False))
    return SignalWaiter()
