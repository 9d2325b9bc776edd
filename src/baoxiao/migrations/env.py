"""Alembic environment: the models' metadata and a database URL.

The URL comes from the caller (`config.attributes["database_url"]`, set by
baoxiao.migrations.runner) or else from the settings (BAOXIAO_DATABASE_URL).
A caller may instead hand over an open connection in
`config.attributes["connection"]`; it then owns the transaction.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

import baoxiao.models  # noqa: F401 - importing the models fills Base.metadata
from baoxiao.kernel.db import Base, make_engine
from baoxiao.migrations.autogen import context_options
from baoxiao.settings import Settings

config = context.config
target_metadata = Base.metadata


def database_url() -> str:
    url = config.attributes.get("database_url")
    return str(url) if url else Settings().resolved_database_url


def run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, **context_options())
    with context.begin_transaction():
        context.run_migrations()
        if connection.dialect.name == "sqlite":
            _check_sqlite_foreign_keys(connection)


def _disable_sqlite_foreign_keys(connection: Connection) -> None:
    """Batch mode rebuilds a table by copy, drop and rename; with foreign keys on,
    the drop would fire ON DELETE actions on the rows that refer to it. The pragma
    only takes effect outside a transaction, so it goes to the driver directly."""
    connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]


def _check_sqlite_foreign_keys(connection: Connection) -> None:
    """With foreign keys off during the upgrade, make sure none was broken."""
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"migration left rows with dangling foreign keys: {broken[:10]}")


def run_online() -> None:
    given = config.attributes.get("connection")
    if given is not None:
        run_migrations(given)
        return
    engine = make_engine(database_url(), pool_size=1)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                _disable_sqlite_foreign_keys(connection)
            run_migrations(connection)
    finally:
        engine.dispose()


def run_offline() -> None:
    """`alembic upgrade --sql`: print the SQL instead of running it."""
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **context_options(),
    )
    with context.begin_transaction():
        context.run_migrations()


# The alembic command line configures logging from alembic.ini; the app and the
# tests keep their own (the runner sets configure_logger to False).
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

if context.is_offline_mode():
    run_offline()
else:
    run_online()
