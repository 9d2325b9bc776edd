"""`baoxiao serve` on SQLite delivers in-process; on PostgreSQL it leaves it to workers."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from baoxiao.app import create_app
from baoxiao.connectors.webhook import crypto
from baoxiao.kernel.db import Database
from baoxiao.settings import Settings
from tests.support.delivery import (
    TEST_SECRET_KEY,
    all_delivered,
    counts,
    publish_events,
    wait_until,
    webhook_instance,
)
from tests.support.integrations import fast_settings
from tests.support.receiver import Receiver


def test_embedded_dispatcher_runs_only_on_sqlite(
    committing_db: Database, db_backend: str, tmp_path: Path
) -> None:
    secret = crypto.new_secret()
    receiver = Receiver(secret).start()
    settings = fast_settings(
        Settings(var_dir=tmp_path, secret_key=TEST_SECRET_KEY, embedded_dispatcher=True),
        delivery_poll_seconds=5.0,  # the in-process signal, not polling, must wake it
    )
    try:
        company, _ = webhook_instance(committing_db, receiver.url, secret)
        with TestClient(create_app(settings, committing_db)) as client:
            assert client.get("/healthz").status_code == 200
            ids = publish_events(committing_db, company, 3, 2)
            if db_backend == "sqlite":
                assert wait_until(lambda: all_delivered(committing_db, 6), 4)
                assert set(receiver.applied) == set(ids)
            else:
                assert not wait_until(lambda: bool(receiver.wire), 1)
                assert counts(committing_db) == {"pending": 6}
    finally:
        receiver.stop()
