"""API test fixtures: the real application over the per-test database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from baoxiao.app import create_app
from baoxiao.kernel import clock
from baoxiao.kernel.db import Database
from baoxiao.settings import Settings
from tests.support.factories import World, build_world

LINE = {"category_code": "TAXI", "expense_date": "2026-11-01", "amount": "50.00"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(var_dir=tmp_path, secret_key="x" * 40, max_attachment_bytes=256 * 1024)


@pytest.fixture
def client(db: Database, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, db)) as test_client:
        yield test_client


@pytest.fixture
def frozen() -> Iterator[list[datetime]]:
    """The clock stands still at now[0] until the test moves it."""
    now = [clock.utcnow()]
    clock.set_clock(lambda: now[0])
    yield now
    clock.set_clock(None)


@pytest.fixture
def world(db: Database) -> World:
    with db.transaction() as session:
        return build_world(session)


class Api:
    """Small helpers so tests read as the user's steps."""

    def __init__(self, client: TestClient, world: World) -> None:
        self.client = client
        self.world = world

    def create(
        self,
        who: str = "claimant",
        lines: list[dict[str, Any]] | None = None,
        reason: str = "client visit",
    ) -> dict[str, Any]:
        body = {"reason": reason, "lines": [LINE] if lines is None else lines}
        response = self.client.post("/api/v1/claims", json=body, headers=self.world[who].headers)
        assert response.status_code == 201, response.text
        return response.json()

    def submit(self, claim_id: str, who: str = "claimant") -> dict[str, Any]:
        response = self.client.post(
            f"/api/v1/claims/{claim_id}/submit", headers=self.world[who].headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    def task_for(self, claim_id: str, who: str) -> dict[str, Any]:
        tasks = self.client.get("/api/v1/approval-tasks", headers=self.world[who].headers).json()
        return next(t for t in tasks if t["claim_id"] == claim_id)

    def decide(
        self, claim_id: str, who: str, decision: str = "approve", comment: str | None = None
    ) -> dict[str, Any]:
        task = self.task_for(claim_id, who)
        body = {"comment": comment} if comment else None
        response = self.client.post(
            f"/api/v1/approval-tasks/{task['id']}/{decision}",
            json=body,
            headers=self.world[who].headers,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def approved_claim(self) -> dict[str, Any]:
        claim = self.create()
        self.submit(claim["id"])
        self.decide(claim["id"], "manager")
        self.decide(claim["id"], "finance")
        return claim


@pytest.fixture
def api(client: TestClient, world: World) -> Api:
    return Api(client, world)
