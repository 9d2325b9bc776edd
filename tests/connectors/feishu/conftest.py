"""Fixtures: the Feishu simulator as a separate process, Baoxiao as a real server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from baoxiao.integrations.feishu import sync
from baoxiao.kernel.db import Database
from tests.connectors.feishu.harness import Env, Running, start_env


def _env(committing_db: Database, tmp_path: Path, mode: str) -> Iterator[Env]:
    env = start_env(committing_db, tmp_path, mode)
    report = sync.sync_org(committing_db, env.box, uuid.UUID(env.connector_id))
    assert report.employees_created == 0  # everyone matched by email
    running = Running(env.dispatcher)
    try:
        yield env
    finally:
        running.stop()
        env.http.close()
        env.server.stop()
        env.sim.close()


@pytest.fixture
def feishu_mode(committing_db: Database, tmp_path: Path) -> Iterator[Env]:
    """Mode "feishu": Feishu runs the approval."""
    yield from _env(committing_db, tmp_path, "feishu")


@pytest.fixture
def baoxiao_mode(committing_db: Database, tmp_path: Path) -> Iterator[Env]:
    """Mode "baoxiao": Baoxiao runs it, Feishu's approval center mirrors the tasks."""
    yield from _env(committing_db, tmp_path, "baoxiao")
