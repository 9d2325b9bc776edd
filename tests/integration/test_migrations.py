"""The packaged migrations build the schema the models describe, on both backends."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import BIGINT, NUMERIC, Engine, inspect, text

from baoxiao.migrations import runner
from baoxiao.migrations.autogen import next_revision_id
from tests.support.db import create_database, drop_database, user_tables


def test_models_and_migrations_agree(db_engine: Engine) -> None:
    # Fails when a model changed without a revision: run `make migration m="..."`.
    assert runner.model_differences(db_engine) == []


def test_upgrade_at_head_changes_nothing(db_url: str) -> None:
    runner.upgrade(db_url)
    assert runner.current_revision(db_url) == runner.head_revision()


def test_money_is_exact_and_time_is_zoned(db_engine: Engine, db_backend: str) -> None:
    with db_engine.connect() as connection:
        columns = {c["name"]: c["type"] for c in inspect(connection).get_columns("claims")}
    amount, created_at = columns["total_amount"], columns["created_at"]
    if db_backend == "postgresql":
        assert isinstance(amount, NUMERIC)
        assert (amount.precision, amount.scale) == (20, 4)
        assert created_at.timezone is True  # type: ignore[attr-defined]
    else:
        assert isinstance(amount, BIGINT)  # a count of 10^-4 units, never a float


def test_one_live_payment_per_claim_is_a_partial_index(db_engine: Engine, db_backend: str) -> None:
    query = {
        "postgresql": "SELECT indexdef FROM pg_indexes WHERE indexname = 'uq_payments_live_claim'",
        "sqlite": "SELECT sql FROM sqlite_master WHERE name = 'uq_payments_live_claim'",
    }[db_backend]
    with db_engine.connect() as connection:
        definition = connection.execute(text(query)).scalar_one()
    assert "UNIQUE" in definition.upper()
    assert "WHERE" in definition.upper()
    assert "pending" in definition and "succeeded" in definition


def test_downgrade_to_base_and_up_again(db_backend: str, tmp_path: Path) -> None:
    url = create_database(db_backend, tmp_path)
    try:
        runner.upgrade(url)
        runner.downgrade(url, "base")
        assert runner.current_revision(url) is None
        assert user_tables(url) == []
        runner.upgrade(url)
        assert runner.is_current(url)
        assert runner.model_differences(url) == []
    finally:
        drop_database(url)


def test_revisions_are_numbered() -> None:
    assert next_revision_id(None) == "0001"
    assert next_revision_id("0009") == "0010"
    assert next_revision_id("ae1027a6acf") is None
