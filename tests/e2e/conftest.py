"""End-to-end fixtures: a real uvicorn server on 127.0.0.1 over a migrated database seeded
with the demo company, and Debian's headless Chromium driven by Playwright.

Chromium is /usr/bin/chromium (apt-get install chromium; never `playwright install`).
Without it these tests are skipped locally and FAIL under CI=true.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, sync_playwright

from baoxiao.app import create_app
from baoxiao.demo.seed import seed
from baoxiao.kernel.db import Database
from baoxiao.settings import Settings

CHROMIUM = Path(os.environ.get("BAOXIAO_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: apt-get install -y chromium"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


class LiveServer:
    """uvicorn serving the app in a thread, on a port the OS chose."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(
            create_app(settings, db), log_level="warning", access_log=False, lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@pytest.fixture
def live_server(committing_db: Database, tmp_path: Path) -> Iterator[LiveServer]:
    """The demo company on a committing database, served over real HTTP."""
    _require_chromium()
    settings = Settings(
        var_dir=tmp_path, secret_key="e" * 40, embedded_dispatcher=False, ocr_enabled=False
    )
    with committing_db.transaction() as session:
        seed(session, settings.secret_box)  # with payee accounts: a batch can pay li.na
    with LiveServer(settings, committing_db) as server:
        yield server


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    # Module scope: Playwright's sync API keeps an event loop running in this thread
    # while it is open, and later tests call asyncio.run().
    _require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()
