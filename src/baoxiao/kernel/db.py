"""Engine, ORM base and the transaction boundary.

One transaction per request (see kernel.routing) and one per background task
(`Database.transaction()`); services add and flush but never commit.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy import exc as exc_module
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from baoxiao.kernel.types import JSONDoc, Money, UTCDateTime, UUIDType

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads it as a class attribute
        datetime: UTCDateTime(),
        Decimal: Money(),
        uuid.UUID: UUIDType,
        dict[str, Any]: JSONDoc,
        list[Any]: JSONDoc,
    }


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, and BEGIN IMMEDIATE so writers queue instead of failing."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy's begin event emit BEGIN
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


# A pooled connection idle for longer than this is pinged before reuse; one in steady use
# is not, so a busy server does not pay a round trip (and a commit) per request.
PING_AFTER_IDLE_S = 10.0
RECYCLE_AFTER_S = 1800


def _ping_after_idle(engine: Engine, idle_s: float) -> None:
    """Pessimistic disconnect handling for connections that sat in the pool.

    A connection the server closed while it was idle (a restart, an idle timeout)
    fails the ping; the pool then discards it and connects afresh, so the request
    never sees it. A disconnect on a connection in use still invalidates the pool.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["baoxiao_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("baoxiao_idle_since")
        if since is None or time.monotonic() - since < idle_s:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise exc_module.DisconnectionError() from exc
        if not alive:
            raise exc_module.DisconnectionError()


def make_engine(
    url: str, *, pool_size: int = 10, echo: bool = False, ping_after_idle_s: float | None = None
) -> Engine:
    """Create an engine with the settings each backend needs."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30}
        )
        _configure_sqlite(engine)
        return engine
    engine = create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=RECYCLE_AFTER_S,
    )
    _ping_after_idle(engine, PING_AFTER_IDLE_S if ping_after_idle_s is None else ping_after_idle_s)
    return engine


class Database:
    """An engine plus its session factory; the app and the CLI each hold one."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.session_factory: sessionmaker[Session] = sessionmaker(
            bind=engine, expire_on_commit=False, autoflush=True
        )

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Database:
        return cls(make_engine(url, **kwargs))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work for a task or command: commit on success, roll back on error
        (unless the work asked to keep a record of its failure: `keep_despite_failure`)."""
        with self.session_factory() as session:
            try:
                yield session
            except BaseException:
                end_failed(session)
                raise
            session.commit()

    def dispose(self) -> None:
        self.engine.dispose()


# A unit of work that fails usually leaves nothing behind. A few facts are about the
# failure itself (a failed sign-in that counts towards a lockout) and must outlive it.
KEEP_DESPITE_FAILURE = "baoxiao_keep_despite_failure"


def keep_despite_failure(session: Session) -> None:
    """Drop the work done so far in this transaction and keep what is written from now
    on even though the request or task then ends in an error. Only for records of the
    failure itself; the transaction owner (routing, `Database.transaction`) commits."""
    session.rollback()
    session.info[KEEP_DESPITE_FAILURE] = True


def end_failed(session: Session) -> None:
    """End a failed unit of work: roll back, or commit what `keep_despite_failure` kept."""
    if session.info.pop(KEEP_DESPITE_FAILURE, False):
        session.commit()
    else:
        session.rollback()
