"""Database fixtures shared by every test folder; see docs/TESTING.md.

- `db_backend`: "sqlite" or "postgresql"; tests that use a database run once per
  backend chosen with `--db` (default both), marked `sqlite` / `postgresql`.
- `db_url`: a database migrated to head, one per backend for the session.
- `db`: a Database whose sessions run in a transaction rolled back after the test.
- `committing_db`: a Database with real commits, on an empty schema per test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from baoxiao.kernel.db import Database, make_engine
from baoxiao.migrations import runner
from tests.support.db import (
    BACKENDS,
    DatabaseUnavailable,
    copy_sqlite_database,
    create_database,
    delete_all_rows,
    drop_database,
    rolled_back_database,
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        default=",".join(BACKENDS),
        help="comma-separated database backends to run database tests on (default: %(default)s)",
    )


def pytest_configure(config: pytest.Config) -> None:
    backends = selected_backends(config)
    if os.environ.get("CI", "").lower() == "true":
        markexpr = str(config.getoption("markexpr", "") or "")
        if "postgresql" not in backends or "not postgresql" in markexpr:
            raise pytest.UsageError("with CI=true the PostgreSQL tests must run")


def selected_backends(config: pytest.Config) -> list[str]:
    chosen = [name.strip() for name in str(config.getoption("--db")).split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(BACKENDS))
    if unknown or not chosen:
        raise pytest.UsageError(f"--db takes a comma-separated subset of {', '.join(BACKENDS)}")
    return chosen


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_backend" in metafunc.fixturenames:
        params = [
            pytest.param(name, id=name, marks=getattr(pytest.mark, name))
            for name in selected_backends(metafunc.config)
        ]
        metafunc.parametrize("db_backend", params, indirect=True, scope="session")


@pytest.fixture(scope="session")
def db_backend(request: pytest.FixtureRequest) -> str:
    """The backend this test runs on (parametrized by pytest_generate_tests)."""
    return str(request.param)


def _new_migrated_database(backend: str, folder: Path) -> str:
    try:
        url = create_database(backend, folder)
    except DatabaseUnavailable as exc:
        problem = str(exc)
    else:
        try:
            runner.upgrade(url)
        except BaseException:
            drop_database(url)
            raise
        return url
    pytest.fail(problem, pytrace=False)  # outside `except`: no chained traceback


@pytest.fixture(scope="session")
def db_url(db_backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway database migrated to head, shared by the whole session.

    SQLite: a file in a temporary folder. PostgreSQL: a database named
    baoxiao_test_<pid>_<random> on BAOXIAO_TEST_PG_URL (default the local
    server), dropped at the end. An unreachable server fails the tests.
    """
    url = _new_migrated_database(db_backend, tmp_path_factory.mktemp(db_backend))
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def db_engine(db_url: str) -> Iterator[Engine]:
    """The engine over db_url, configured as in production (kernel.db.make_engine)."""
    engine = make_engine(db_url, pool_size=2)
    yield engine
    engine.dispose()


@pytest.fixture
def db(db_engine: Engine) -> Iterator[Database]:
    """A Database whose work is rolled back after the test.

    Each test runs inside one outer transaction on one connection; every
    Session joins it with a SAVEPOINT, so code that commits (Database.transaction,
    session.commit) only releases its savepoint and nothing outlives the test.
    `db.engine` is the shared engine: its own connections see none of the test's
    data, and on SQLite they wait for the test's write lock; code that needs
    several connections or threads should use `committing_db`.
    """
    with rolled_back_database(db_engine) as database:
        yield database


@pytest.fixture(scope="session")
def committing_source(db_backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Where committing_db gets its schema: a migrated SQLite file to copy, or a
    second PostgreSQL database (kept apart from db_url) that is emptied after each test."""
    url = _new_migrated_database(db_backend, tmp_path_factory.mktemp(f"{db_backend}-committing"))
    yield url
    drop_database(url)


@pytest.fixture
def committing_db(db_backend: str, committing_source: str, tmp_path: Path) -> Iterator[Database]:
    """A Database with real commits, visible across connections and threads.

    Every test starts on an empty schema at head: on SQLite a fresh copy of a
    migrated file; on PostgreSQL a database of its own for the session whose
    rows are all deleted after each test. Slower than `db`; use it only for
    what needs real commits (outbox dispatch, locking, concurrent requests).
    """
    if db_backend == "sqlite":
        url = copy_sqlite_database(committing_source, tmp_path / "committing.db")
    else:
        url = committing_source
    database = Database(make_engine(url, pool_size=5))
    try:
        yield database
    finally:
        database.dispose()
        if db_backend == "postgresql":
            delete_all_rows(url)
