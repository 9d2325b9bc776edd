"""The `baoxiao` command, run as a real process against a SQLite file in a temporary folder."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from baoxiao.demo.seed import DEMO_LOGINS, DEMO_PASSWORD, PEOPLE
from baoxiao.migrations import runner

BAOXIAO = Path(sys.executable).with_name("baoxiao")
HEAD = runner.head_revision()
DEMO_STATUSES = {
    "draft": 1,
    "approving": 2,
    "approved": 1,
    "paying": 1,
    "paid": 3,  # two claims and a travel advance
    "returned": 1,
    "rejected": 1,
    "withdrawn": 1,
    "cancelled": 1,
}


class Cli:
    """Runs `baoxiao` with BAOXIAO_* pointing into one temporary folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.db_file = folder / "var" / "baoxiao.db"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("BAOXIAO_")}
        self.env.update(
            {
                "BAOXIAO_VAR_DIR": str(folder / "var"),
                "BAOXIAO_DATABASE_URL": f"sqlite:///{self.db_file}",
                "BAOXIAO_LOG_JSON": "false",
            }
        )

    def run(
        self, *args: str, database_url: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        env = dict(self.env)
        if database_url is not None:
            env["BAOXIAO_DATABASE_URL"] = database_url
        # cwd is the temporary folder, so no .env of the developer's is read.
        return subprocess.run(
            [str(BAOXIAO), *args],
            cwd=self.folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def query(self, sql: str) -> list[tuple[object, ...]]:
        with sqlite3.connect(self.db_file) as conn:
            return conn.execute(sql).fetchall()

    def scalar(self, sql: str) -> object:
        return self.query(sql)[0][0]

    def count(self, table: str) -> int:
        (value,) = self.query(f"SELECT count(*) FROM {table}")[0]
        assert isinstance(value, int)
        return value


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    assert BAOXIAO.exists(), f"the console script is missing: {BAOXIAO}"
    return Cli(tmp_path)


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The CLI's error contract: non-zero exit, nothing on stdout, one line on stderr."""
    assert result.returncode != 0, result
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_migrate_creates_the_schema_and_can_run_again(cli: Cli) -> None:
    first = cli.run("migrate")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"database at revision {HEAD}"
    assert cli.query("SELECT version_num FROM alembic_version") == [(HEAD,)]
    tables = {row[0] for row in cli.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"claims", "claim_lines", "audit_records", "payments", "outbox_events"} <= tables
    assert (cli.folder / "var" / "secret_key").exists()  # generated on first use

    second = cli.run("migrate")
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == f"database at revision {HEAD}"
    assert cli.query("SELECT version_num FROM alembic_version") == [(HEAD,)]
    assert cli.scalar("SELECT count(*) FROM companies") == 0


def test_serve_refuses_an_unmigrated_database(cli: Cli) -> None:
    line = _one_error_line(cli.run("serve", "--port", str(_free_port())))
    assert "baoxiao migrate" in line
    assert line == (
        "error: the database is not migrated to the latest version: run `baoxiao migrate`"
    )


def test_audit_verify_refuses_an_unmigrated_database(cli: Cli) -> None:
    assert "baoxiao migrate" in _one_error_line(cli.run("audit", "verify"))


@pytest.mark.parametrize(
    "command", [["migrate"], ["serve"], ["demo", "--no-serve"], ["audit", "verify"]]
)
@pytest.mark.parametrize("url", ["nonsense://x", "not a url at all"])
def test_a_bad_database_url_is_one_line(cli: Cli, command: list[str], url: str) -> None:
    line = _one_error_line(cli.run(*command, database_url=url))
    assert line == f"error: BAOXIAO_DATABASE_URL is not a database URL: {url!r}"


@pytest.mark.parametrize("command", [["migrate"], ["serve"], ["audit", "verify"]])
def test_an_unreachable_postgresql_is_one_line(cli: Cli, command: list[str]) -> None:
    started = time.monotonic()
    result = cli.run(*command, database_url="postgresql+psycopg://postgres@127.0.0.1:1/x")
    line = _one_error_line(result)
    assert line.startswith("error: cannot connect to the database (")
    assert "127.0.0.1" in line and "1" in line
    assert time.monotonic() - started < 60


def test_demo_seeds_once(cli: Cli) -> None:
    first = cli.run("demo", "--no-serve")
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0] == "Demo company seeded."
    assert "http://127.0.0.1:8000" in lines[1]
    assert lines[2] == f"Demo logins (password: {DEMO_PASSWORD}):"
    assert [line.split()[0] for line in lines[3:]] == [login.username for login in DEMO_LOGINS]
    counts = _demo_counts(cli)
    assert counts == {
        "companies": 1,
        "employees": len(PEOPLE),
        "users": len(PEOPLE),
        "departments": 9,
        "claims": sum(DEMO_STATUSES.values()),
        "payments": 4,
        "statuses": DEMO_STATUSES,
        "audit": counts["audit"],
    }
    assert len(PEOPLE) == 30
    assert isinstance(counts["audit"], int) and counts["audit"] > 40
    # The Tokyo trip in yen, converted at 0.0471 and half up: 1507.20 + 405.06.
    assert cli.query("SELECT status, total_amount FROM claims WHERE reason = '东京客户拜访'") == [
        ("paying", 19122600)  # SQLite keeps money as a count of 0.0001
    ]

    second = cli.run("demo", "--no-serve")
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines()[0] == "Demo company already present; nothing added."
    assert _demo_counts(cli) == counts


def _demo_counts(cli: Cli) -> dict[str, object]:
    counts: dict[str, object] = {
        table: cli.count(table)
        for table in ("companies", "employees", "users", "departments", "claims", "payments")
    }
    counts["statuses"] = {
        status: n for status, n in cli.query("SELECT status, count(*) FROM claims GROUP BY status")
    }
    counts["audit"] = cli.count("audit_records")
    return counts


@pytest.fixture
def demo(cli: Cli) -> Cli:
    result = cli.run("demo", "--no-serve")
    assert result.returncode == 0, result.stderr
    return cli


def test_audit_verify_passes_after_the_demo_and_names_a_tampered_record(demo: Cli) -> None:
    records = demo.count("audit_records")
    ok = demo.run("audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == f"audit chain intact: {records} records verified"

    with sqlite3.connect(demo.db_file) as conn:
        conn.execute("UPDATE audit_records SET actor = 'user:nobody' WHERE seq = 7")
    broken = demo.run("audit", "verify")
    assert broken.returncode == 1
    assert broken.stdout == ""
    assert broken.stderr.strip() == (
        "audit chain broken at record 7: content does not match its hash"
        " (6 records verified before it)"
    )


def test_audit_verify_reports_a_removed_tail(demo: Cli) -> None:
    records = demo.count("audit_records")
    with sqlite3.connect(demo.db_file) as conn:
        conn.execute("DELETE FROM audit_records WHERE seq = ?", (records,))
    broken = demo.run("audit", "verify")
    assert broken.returncode == 1
    assert broken.stderr.strip() == (
        f"audit chain broken at record {records}: records after this point were removed "
        f"({records - 1} records verified before it)"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(demo: Cli) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = _free_port()
    log = (demo.folder / "serve.log").open("wb")
    proc = subprocess.Popen(
        [str(BAOXIAO), "serve", "--port", str(port)],
        cwd=demo.folder,
        env=demo.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield f"http://127.0.0.1:{port}", proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_serve_serves(server: tuple[str, subprocess.Popen[bytes]], demo: Cli) -> None:
    base, proc = server
    deadline = time.monotonic() + 60
    health: httpx.Response | None = None
    while time.monotonic() < deadline:
        assert proc.poll() is None, (demo.folder / "serve.log").read_text()
        try:
            health = httpx.get(f"{base}/healthz", timeout=2)
            break
        except httpx.TransportError:
            time.sleep(0.2)
    assert health is not None, (demo.folder / "serve.log").read_text()
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    ready = httpx.get(f"{base}/readyz", timeout=5)
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "migrations": "ok"}}
    # The demo data is really there: log in as the demo employee and list her claims.
    login = httpx.post(
        f"{base}/api/v1/auth/token",
        json={"username": "li.na", "password": DEMO_PASSWORD},
        timeout=30,
    )
    assert login.status_code == 201, login.text
    token = login.json()["access_token"]
    mine = httpx.get(
        f"{base}/api/v1/claims",
        params={"mine": "true"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert mine.status_code == 200, mine.text
    # A draft, a paid claim and her paid travel advance (借款).
    assert sorted(c["status"] for c in mine.json()["items"]) == ["draft", "paid", "paid"]

    proc.terminate()  # a graceful stop; uvicorn re-raises SIGTERM once it has shut down
    assert proc.wait(timeout=15) in (0, -signal.SIGTERM)
    log = (demo.folder / "serve.log").read_text()
    assert "Application shutdown complete." in log
    assert "GET /readyz 200" in log
