"""Lockout per account and throttling per address, with real commits on both databases.

Every failed attempt is answered with an error, so its request transaction rolls
back; the counters must survive that. These tests use `committing_db`, so what
they see is what another process would see.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from baoxiao.app import create_app
from baoxiao.identity.passwords import hash_password
from baoxiao.kernel.db import Database
from baoxiao.models import AuditRecord, SignInThrottle
from baoxiao.settings import Settings
from tests.support.factories import World, build_world, make_person

PASSWORD = "a long and unusual passphrase"
WRONG = "not the passphrase at all"


@pytest.fixture
def live_settings(tmp_path: Path) -> Settings:
    return Settings(var_dir=tmp_path, secret_key="y" * 40, signin_ip_limit=10)


@pytest.fixture
def live_world(committing_db: Database) -> World:
    with committing_db.transaction() as session:
        world = build_world(session)
        for name in ("locky", "other"):
            world.people[name] = make_person(
                session,
                world.company,
                f"{name}-{world.company.code}",
                department=None,
                password_hash=hash_password(PASSWORD),
            )
        return world


def client_from(committing_db: Database, settings: Settings, ip: str) -> TestClient:
    return TestClient(create_app(settings, committing_db), client=(ip, 40000))


def login(client: TestClient, username: str, password: str) -> tuple[int, str, dict[str, str]]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    body = response.json()
    return response.status_code, body.get("code", "ok"), dict(response.headers)


def test_five_failures_lock_the_account_and_the_lock_expires(
    committing_db: Database, live_settings: Settings, live_world: World, frozen: list[datetime]
) -> None:
    name = live_world["locky"].user.username
    with client_from(committing_db, live_settings, "10.0.0.1") as client:
        for _ in range(4):
            assert login(client, name, WRONG)[:2] == (401, "invalid_credentials")
        # The failures were committed although each request rolled back.
        with committing_db.transaction() as session:
            row = session.get(SignInThrottle, ("account", name.lower()))
            assert row is not None and row.failures == 4 and row.locked_until is None
        assert login(client, name, WRONG)[:2] == (401, "invalid_credentials")

        status, code, headers = login(client, name, PASSWORD)  # even the right password
        assert (status, code) == (429, "account_locked")
        assert headers["retry-after"] == str(15 * 60)

        with committing_db.transaction() as session:
            locks = session.scalars(
                select(AuditRecord).where(AuditRecord.action == "sign_in:account_locked")
            ).all()
            assert [(r.subject_id, r.actor) for r in locks] == [(name.lower(), "ip:10.0.0.1")]
        frozen[0] += timedelta(minutes=15, seconds=1)
        assert login(client, name, PASSWORD)[:2] == (201, "ok")
        with committing_db.transaction() as session:
            assert session.get(SignInThrottle, ("account", name.lower())) is None


def test_success_resets_the_count(
    committing_db: Database, live_settings: Settings, live_world: World
) -> None:
    name = live_world["locky"].user.username
    with client_from(committing_db, live_settings, "10.0.0.2") as client:
        for _ in range(4):
            assert login(client, name, WRONG)[0] == 401
        assert login(client, name, PASSWORD)[0] == 201
        for _ in range(4):
            assert login(client, name, WRONG)[0] == 401
        assert login(client, name, PASSWORD)[0] == 201


def test_lockout_is_per_account_and_counts_unknown_names_too(
    committing_db: Database, live_settings: Settings, live_world: World
) -> None:
    locky = live_world["locky"].user.username
    other = live_world["other"].user.username
    with client_from(committing_db, live_settings, "10.0.0.3") as client:
        for _ in range(5):
            login(client, locky, WRONG)
        assert login(client, locky, PASSWORD)[1] == "account_locked"
        assert login(client, other, PASSWORD)[0] == 201  # same address, other account
    with client_from(committing_db, live_settings, "10.9.9.9") as elsewhere:
        assert login(elsewhere, locky, PASSWORD)[1] == "account_locked"  # from anywhere
        # A name nobody has locks the same way, so a lock tells nobody a name exists.
        for _ in range(5):
            assert login(elsewhere, "nobody-here", WRONG)[1] == "invalid_credentials"
        assert login(elsewhere, "nobody-here", WRONG)[1] == "account_locked"


def test_throttling_is_per_address(
    committing_db: Database, live_settings: Settings, live_world: World, frozen: list[datetime]
) -> None:
    other = live_world["other"].user.username
    with client_from(committing_db, live_settings, "192.0.2.7") as attacker:
        for n in range(10):  # spread over many names: no account reaches its lock
            assert login(attacker, f"guess-{n}", WRONG)[1] == "invalid_credentials"
        status, code, headers = login(attacker, other, PASSWORD)
        assert (status, code) == (429, "sign_in_throttled")
        assert int(headers["retry-after"]) == 15 * 60
    with client_from(committing_db, live_settings, "192.0.2.8") as colleague:
        assert login(colleague, other, PASSWORD)[0] == 201
    frozen[0] += timedelta(minutes=15)
    with client_from(committing_db, live_settings, "192.0.2.7") as attacker:
        assert login(attacker, other, PASSWORD)[0] == 201
    with committing_db.transaction() as session:
        rows = session.scalars(select(SignInThrottle).where(SignInThrottle.scope == "ip"))
        assert {r.key: r.failures for r in rows} == {"192.0.2.7": 10}
