"""Throwaway test databases and the rolled-back Database each integration test gets.

The fixtures in tests/conftest.py are thin wrappers around these functions;
see docs/TESTING.md for how they fit together.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, delete, inspect, make_url, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import NullPool

import baoxiao.models  # noqa: F401 - importing the models fills Base.metadata
from baoxiao.kernel.db import Base, Database

BACKENDS = ("sqlite", "postgresql")
DEFAULT_PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TEST_DB_PREFIX = "baoxiao_test_"


class DatabaseUnavailable(Exception):
    """The database server for a chosen backend cannot be reached."""


def pg_admin_url() -> str:
    """A PostgreSQL URL allowed to CREATE DATABASE (env BAOXIAO_TEST_PG_URL)."""
    return os.environ.get("BAOXIAO_TEST_PG_URL") or DEFAULT_PG_ADMIN_URL


def create_database(backend: str, folder: Path) -> str:
    """An empty database of `backend`; returns its URL. Remove it with drop_database."""
    if backend == "sqlite":
        return sqlite_url(folder / f"{secrets.token_hex(4)}.db")
    if backend == "postgresql":
        return _create_postgresql_database(pg_admin_url())
    raise ValueError(f"unknown database backend {backend!r}")


def drop_database(url: str) -> None:
    """Drop a database made by create_database (a SQLite file is just deleted)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)
        return
    name = parsed.database or ""
    if not name.startswith(TEST_DB_PREFIX):
        raise ValueError(f"refusing to drop {name!r}: not a test database")
    with _admin_connection(pg_admin_url()) as admin:
        admin.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )
        admin.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


def copy_sqlite_database(source_url: str, target: Path) -> str:
    """A fresh copy of a closed SQLite database file; returns the copy's URL."""
    source = make_url(source_url).database
    assert source is not None
    shutil.copyfile(source, target)
    return sqlite_url(target)


def user_tables(url: str) -> list[str]:
    """Every table of the schema except Alembic's bookkeeping."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            names = inspect(connection).get_table_names()
    finally:
        engine.dispose()
    return sorted(name for name in names if name != "alembic_version")


def delete_all_rows(url: str) -> None:
    """Empty every model table, children first; fails fast if a leaked connection holds a lock.

    Plain DELETEs take a few milliseconds where TRUNCATE of the whole schema
    takes about 60. Foreign keys of a reference cycle (use_alter) are cleared first.
    """
    tables = Base.metadata.sorted_tables
    cycle_fks = [fk for table in tables for fk in table.foreign_key_constraints if fk.use_alter]
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
            for fk in cycle_fks:
                connection.execute(update(fk.table).values({c.name: None for c in fk.columns}))
            for table in reversed(tables):
                connection.execute(delete(table))
    finally:
        engine.dispose()


@contextmanager
def rolled_back_database(engine: Engine) -> Iterator[Database]:
    """A Database whose sessions all run inside one transaction, rolled back at exit.

    Every Session joins that outer transaction through a SAVEPOINT, so
    `session.commit()` in the code under test only releases its savepoint.
    Connections taken from `database.engine` directly are outside it.
    """
    with engine.connect() as connection:
        outer = connection.begin()
        database = Database(engine)
        database.session_factory = sessionmaker(
            bind=connection,
            expire_on_commit=False,
            autoflush=True,
            join_transaction_mode="create_savepoint",
        )
        try:
            yield database
        finally:
            if outer.is_active:
                outer.rollback()


def _create_postgresql_database(admin_url: str) -> str:
    name = f"{TEST_DB_PREFIX}{os.getpid()}_{secrets.token_hex(4)}"
    with _admin_connection(admin_url) as admin:
        admin.exec_driver_sql(f'CREATE DATABASE "{name}"')
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


@contextmanager
def _admin_connection(admin_url: str) -> Iterator[Connection]:
    engine = create_engine(
        admin_url,
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
        connect_args={"connect_timeout": 5},
    )
    try:
        try:
            connection = engine.connect()
        except OperationalError as exc:
            # The message carries the driver's reason; the chain would only add noise.
            raise DatabaseUnavailable(_unreachable_message(admin_url, exc)) from None
        with connection:
            yield connection
    finally:
        engine.dispose()


def _unreachable_message(admin_url: str, exc: OperationalError) -> str:
    shown = make_url(admin_url).render_as_string(hide_password=True)
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    return (
        f"PostgreSQL is not reachable at {shown}: {reason}\n"
        "PostgreSQL tests are never skipped. Start the server (CI: .ci/run does), "
        "set BAOXIAO_TEST_PG_URL to a server where you may create databases, "
        "or choose SQLite only with `--db sqlite`."
    )
