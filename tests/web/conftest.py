"""Page test fixtures: the real application over the per-test database, browsers signed in
through real server-side sessions (identity/sessions.py), and helpers for forms."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from baoxiao.app import create_app
from baoxiao.identity import deps, sessions
from baoxiao.kernel.db import Database
from baoxiao.settings import Settings
from tests.support.factories import World, build_world

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(var_dir=tmp_path, secret_key="x" * 40, max_attachment_bytes=256 * 1024)


@pytest.fixture
def world(db: Database) -> World:
    with db.transaction() as session:
        return build_world(session)


class Browser:
    """One person's browser: a session cookie, its CSRF token, and page helpers."""

    def __init__(self, client: TestClient, csrf: str) -> None:
        self.client = client
        self.csrf = csrf

    def get(self, url: str, **kwargs: object) -> Response:
        return self.client.get(url, **kwargs)  # type: ignore[arg-type]

    def post(self, url: str, data: dict[str, object] | None = None, **kwargs: object) -> Response:
        """A form post carrying the CSRF token, not following redirects."""
        body = {"csrf_token": self.csrf, **(data or {})}
        return self.client.post(url, data=body, follow_redirects=False, **kwargs)  # type: ignore[arg-type]

    def htmx(self, url: str, data: dict[str, object] | None = None, **kwargs: object) -> Response:
        """What HTMX sends: the token in the X-CSRF-Token header."""
        headers = {"HX-Request": "true", "X-CSRF-Token": self.csrf}
        return self.client.post(url, data=data or {}, headers=headers, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def browser_for(db: Database, settings: Settings, world: World) -> Iterator[Callable[..., Browser]]:
    clients: list[TestClient] = []
    app = create_app(settings, db)

    def open_as(who: str, lang: str = "en") -> Browser:
        client = TestClient(app, headers={"Accept-Language": lang})
        client.__enter__()
        clients.append(client)
        with db.transaction() as session:
            user = session.merge(world[who].user)
            web, plain = sessions.start(
                session, user, method="password", policy=settings.session_policy
            )
            csrf = web.csrf_token
        client.cookies.set(deps.SESSION_COOKIE, plain)
        return Browser(client, csrf)

    yield open_as
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def anonymous(db: Database, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, db)) as client:
        yield client
