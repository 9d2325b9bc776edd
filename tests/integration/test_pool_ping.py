"""Pooled PostgreSQL connections are pinged only after sitting idle, and a dead one is replaced."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from baoxiao.kernel.db import make_engine
from tests.support.db import pg_admin_url

pytestmark = pytest.mark.postgresql


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(text("SELECT pg_backend_pid()")) or 0)


def _terminate(pid: int) -> None:
    admin = create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            # pg_terminate_backend only signals: wait until the backend is gone.
            conn.execute(
                text(
                    "DO $$ BEGIN WHILE EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = "
                    f"{pid}) LOOP PERFORM pg_sleep(0.01); END LOOP; END $$"
                )
            )
    finally:
        admin.dispose()


def test_an_idle_connection_closed_by_the_server_is_replaced_unseen() -> None:
    engine = make_engine(pg_admin_url(), pool_size=1, ping_after_idle_s=0.0)
    try:
        first = _backend_pid(engine)
        _terminate(first)
        second = _backend_pid(engine)  # the ping fails, the pool connects afresh
        assert second != first
        assert _backend_pid(engine) == second  # and keeps the new connection
    finally:
        engine.dispose()


def test_a_connection_in_steady_use_is_not_pinged() -> None:
    engine = make_engine(pg_admin_url(), pool_size=1, ping_after_idle_s=3600.0)
    try:
        first = _backend_pid(engine)
        _terminate(first)
        # Not idle long enough to be pinged: the dead connection is handed out and fails...
        with pytest.raises(OperationalError):
            _backend_pid(engine)
        # ...which invalidates the pool, so the next checkout connects afresh.
        assert _backend_pid(engine) != first
    finally:
        engine.dispose()
