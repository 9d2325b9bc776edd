"""The database fixtures: savepoint isolation, real commits, a clear failure without a server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event, func, select
from sqlalchemy.orm import Session

from baoxiao.kernel.db import Database
from baoxiao.kernel.sequences import NumberSequence, next_value
from baoxiao.migrations import runner
from baoxiao.models import Company, Department, Employee
from tests.support.db import DatabaseUnavailable, create_database, rolled_back_database

FIXED_COMPANY = uuid.UUID("00000000-0000-4000-8000-000000000001")


def sequence_names(bind: Session | Connection, company_id: uuid.UUID) -> list[str]:
    query = (
        select(NumberSequence.name)
        .where(NumberSequence.company_id == company_id)
        .order_by(NumberSequence.name)
    )
    return list(bind.execute(query).scalars())


def add_sequence(session: Session, company_id: uuid.UUID, name: str) -> None:
    session.add(NumberSequence(company_id=company_id, name=name, last_value=1))


@contextmanager
def recorded_sql(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_session_database_is_at_head(db_url: str) -> None:
    assert runner.is_current(db_url)


def test_committed_savepoints_vanish_with_the_outer_rollback(db_engine: Engine) -> None:
    company = uuid.uuid4()
    with recorded_sql(db_engine) as statements, rolled_back_database(db_engine) as database:
        with database.transaction() as session:
            add_sequence(session, company, "claim")
        with database.session_factory() as session:
            add_sequence(session, company, "payment")
            session.commit()
        with pytest.raises(RuntimeError), database.transaction() as session:
            add_sequence(session, company, "advance")
            session.flush()
            raise RuntimeError("undo only this unit of work")
        with database.session_factory() as session:
            assert sequence_names(session, company) == ["claim", "payment"]

    assert any(s.startswith("RELEASE SAVEPOINT") for s in statements)
    assert any(s.startswith("ROLLBACK TO SAVEPOINT") for s in statements)
    with db_engine.connect() as connection:
        assert sequence_names(connection, company) == []


@pytest.mark.parametrize("attempt", [1, 2])
def test_each_test_starts_without_the_previous_ones_rows(db: Database, attempt: int) -> None:
    # Both attempts insert the same primary key and commit; the second would
    # fail with a duplicate if the first one's commit had outlived its test.
    with db.transaction() as session:
        assert sequence_names(session, FIXED_COMPANY) == []
        add_sequence(session, FIXED_COMPANY, "claim")


def test_row_locking_statements_work_inside_the_test_transaction(db: Database) -> None:
    with db.transaction() as session:
        assert next_value(session, FIXED_COMPANY, "claim") == 1
        assert next_value(session, FIXED_COMPANY, "claim") == 2
    with db.transaction() as session:
        row = session.execute(
            select(NumberSequence)
            .where(NumberSequence.company_id == FIXED_COMPANY)
            .with_for_update()
        ).scalar_one()
        assert row.last_value == 2


def test_migration_check_through_the_session_sees_the_test_transaction(db: Database) -> None:
    with db.session_factory() as session:
        assert runner.is_current(session.connection())


def test_committing_db_commits_for_other_connections_and_threads(committing_db: Database) -> None:
    company = uuid.uuid4()
    with committing_db.transaction() as session:
        add_sequence(session, company, "claim")

    def read_in_thread() -> list[str]:
        with committing_db.transaction() as session:
            return sequence_names(session, company)

    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(read_in_thread).result() == ["claim"]
    with committing_db.engine.connect() as connection:
        assert sequence_names(connection, company) == ["claim"]


def add_department_with_head(session: Session) -> None:
    """Rows on both sides of the departments <-> employees reference cycle."""
    company = Company(id=FIXED_COMPANY, code="ACME", name="Acme")
    department = Department(company_id=company.id, code="FIN", name="Finance")
    head = Employee(company_id=company.id, employee_no="E1", name="Head", department=department)
    session.add_all([company, department, head])
    session.flush()
    department.head_id = head.id


@pytest.mark.parametrize("attempt", [1, 2])
def test_committing_db_starts_empty(committing_db: Database, attempt: int) -> None:
    # Both attempts write the same keys; the second fails if the first one's rows remain.
    with committing_db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(NumberSequence)) == 0
        add_sequence(session, FIXED_COMPANY, "claim")
        add_department_with_head(session)
    assert runner.is_current(committing_db.engine)


def test_unreachable_postgresql_is_an_error_with_a_remedy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BAOXIAO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:1/postgres")
    with pytest.raises(DatabaseUnavailable, match="never skipped") as excinfo:
        create_database("postgresql", tmp_path)
    assert "BAOXIAO_TEST_PG_URL" in str(excinfo.value)
