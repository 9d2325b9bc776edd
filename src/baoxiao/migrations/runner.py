"""Run the packaged migrations: `baoxiao migrate`, readiness checks and tests.

Works from an installed package: the scripts and their alembic.ini sit next
to this module, so no alembic.ini in the working directory is needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, make_url

import baoxiao.models  # noqa: F401 - importing the models fills Base.metadata
from baoxiao.kernel.db import Base, make_engine
from baoxiao.migrations.autogen import context_options

MIGRATIONS_DIR = Path(__file__).resolve().parent
CONFIG_FILE = MIGRATIONS_DIR / "alembic.ini"


def alembic_config(database_url: str) -> Config:
    """An Alembic config for the packaged scripts, pointed at this database."""
    config = Config(str(CONFIG_FILE))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logger"] = False
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the schema up to `revision`; creates the folder of a SQLite file if needed."""
    _ensure_sqlite_folder(database_url)
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Take the schema down to `revision` ("base" drops everything)."""
    command.downgrade(alembic_config(database_url), revision)


@cache
def head_revision() -> str:
    """The newest revision shipped with this code."""
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def current_revision(database: Connection | Engine | str) -> str | None:
    """The revision the database is at; None for a database never migrated."""
    with _connect(database) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_current(database: Connection | Engine | str) -> bool:
    """True when the schema is at the newest revision (for /readyz and startup).

    Pass the request's `session.connection()` to read inside its transaction
    (tests run each request inside one that is rolled back afterwards).
    """
    return current_revision(database) == head_revision()


def model_differences(database: Connection | Engine | str) -> list[Any]:
    """What autogenerate would put in a new revision; empty when models and schema agree."""
    with _connect(database) as connection:
        context = MigrationContext.configure(connection, opts=context_options())
        return list(compare_metadata(context, Base.metadata))


@contextmanager
def _connect(database: Connection | Engine | str) -> Iterator[Connection]:
    if isinstance(database, Connection):
        yield database
        return
    if isinstance(database, Engine):
        with database.connect() as connection:
            yield connection
        return
    engine = make_engine(database, pool_size=1)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def _ensure_sqlite_folder(database_url: str) -> None:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
