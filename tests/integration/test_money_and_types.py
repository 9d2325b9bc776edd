"""Column types on both databases: exact money and rates, aware UTC time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, func, insert, select
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from baoxiao.claims import service as claims
from baoxiao.claims.errors import InvalidAmount
from baoxiao.claims.schemas import ClaimCreate, ClaimLineCreate
from baoxiao.identity.service import principal_for
from baoxiao.kernel.db import Database
from baoxiao.kernel.types import Money, Rate, UTCDateTime
from baoxiao.models import Claim, ClaimLine, ExchangeRate
from tests.support.factories import build_world

probe_metadata = MetaData()
probe = Table(
    "type_probe",
    probe_metadata,
    Column("id", Integer, primary_key=True),
    Column("amount", Money()),
    Column("rate", Rate()),
    Column("at", UTCDateTime()),
)


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    """A session with the probe table created inside the test's rolled-back transaction."""
    with db.session_factory() as session:
        probe_metadata.create_all(session.connection())
        yield session


def _put(session: Session, **values: object) -> int:
    return int(session.execute(insert(probe).values(**values).returning(probe.c.id)).scalar_one())


def _get(session: Session, row_id: int, column: str) -> object:
    return session.execute(select(probe.c[column]).where(probe.c.id == row_id)).scalar_one()


@pytest.mark.parametrize(
    "value",
    [
        "12345678901234.5678",
        "0.0001",
        "-0.0001",
        "0",
        "1",
        "999.99",
        "-12345678901234.5678",
        "922337203685477.5807",
        "0.1",
        "100.10",
    ],
)
def test_money_round_trips_exactly(session: Session, value: str) -> None:
    row = _put(session, amount=Decimal(value))
    back = _get(session, row, "amount")
    assert isinstance(back, Decimal)
    assert back == Decimal(value)
    assert format(back, "f") == f"{Decimal(value):.4f}"  # the column's scale on both backends


@pytest.mark.parametrize(
    "value", ["0.04710000", "7.10500000", "0.00000001", "0.91230000", "99999.99999999", "1"]
)
def test_rates_round_trip_exactly(session: Session, value: str) -> None:
    row = _put(session, rate=Decimal(value))
    back = _get(session, row, "rate")
    assert back == Decimal(value)
    assert format(back, "f") == f"{Decimal(value):.8f}"


def test_ints_are_accepted_as_exact(session: Session) -> None:
    row = _put(session, amount=42, rate=7)
    assert (_get(session, row, "amount"), _get(session, row, "rate")) == (Decimal(42), Decimal(7))


def test_null_stays_null(session: Session) -> None:
    row = _put(session, amount=None, rate=None, at=None)
    assert session.execute(
        select(probe.c.amount, probe.c.rate, probe.c.at).where(probe.c.id == row)
    ).one() == (None, None, None)


@pytest.mark.parametrize("value", [0.1, 1.0, 12345.5])
def test_money_refuses_floats(session: Session, value: float) -> None:
    with pytest.raises(StatementError, match="float given for an exact decimal column"):
        _put(session, amount=value)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("amount", "0.00001"),
        ("amount", "12.34567"),
        ("amount", "-0.00005"),
        ("rate", "0.000000001"),
        ("rate", "7.105000001"),
    ],
)
def test_more_places_than_the_scale_are_refused_not_rounded(
    session: Session, column: str, value: str
) -> None:
    with pytest.raises(StatementError, match="decimal places"):
        _put(session, **{column: Decimal(value)})


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "sNaN"])
def test_money_refuses_non_finite_values(session: Session, value: str) -> None:
    with pytest.raises(StatementError, match="not a finite amount"):
        _put(session, amount=Decimal(value))


def test_a_failed_write_stores_nothing(session: Session) -> None:
    with pytest.raises(StatementError):
        _put(session, amount=Decimal("0.00001"))
    assert session.execute(select(func.count()).select_from(probe)).scalar_one() == 0


def test_sum_over_money_is_exact(session: Session) -> None:
    tenths = [Decimal("0.1")] * 10  # ten float 0.1s sum to 0.9999999999999999
    cents = [Decimal("0.0001")] * 1000
    large = [Decimal("12345678901234.5678"), Decimal("-0.0001"), Decimal("0.0003")]
    for amount in tenths + cents + large:
        _put(session, amount=amount)
    total = session.execute(select(func.sum(probe.c.amount))).scalar_one()
    assert isinstance(total, Decimal)
    assert total == Decimal("12345678901235.6680")  # 1 + 0.1 + 12345678901234.568
    tenth_total = session.execute(
        select(func.sum(probe.c.amount)).where(probe.c.amount == Decimal("0.1"))
    ).scalar_one()
    assert tenth_total == Decimal("1.0000")
    assert sum(float(x) for x in tenths) != 1.0  # what a float column would have given


def test_sum_of_real_claim_lines_is_exact(db: Database) -> None:
    """Lines of 0.10 CNY and of USD at 7.105 (rounded half up per line), summed in SQL."""
    with db.transaction() as session:
        world = build_world(session)
        principal = principal_for(world["claimant"].user)
        lines = [
            ClaimLineCreate(
                category_code="TAXI", expense_date=date(2026, 4, 1), amount=Decimal("0.10")
            )
            for _ in range(7)
        ]
        lines += [
            ClaimLineCreate(
                category_code="MEAL",
                expense_date=date(2026, 4, 1),
                amount=Decimal("0.01"),
                currency="USD",
                exchange_rate=Decimal("7.105"),
            )
        ] * 3  # 0.07105 -> 0.07
        lines += [
            ClaimLineCreate(
                category_code="HOTEL",
                expense_date=date(2026, 4, 1),
                amount=Decimal("33.33"),
                currency="USD",
            )
        ]  # table 7.1: 236.643 -> 236.64
        claim = claims.create_draft(session, principal, ClaimCreate(reason="sums", lines=lines))
        session.flush()
        summed = session.execute(
            select(func.sum(ClaimLine.amount_base)).where(ClaimLine.claim_id == claim.id)
        ).scalar_one()
        stored = session.execute(
            select(Claim.total_amount).where(Claim.id == claim.id)
        ).scalar_one()
        rate = session.execute(
            select(ExchangeRate.rate).where(
                ExchangeRate.company_id == world.company.id, ExchangeRate.base == "USD"
            )
        ).scalar_one()
    assert summed == stored == Decimal("237.55")  # 0.70 + 0.21 + 236.64
    assert rate == Decimal("7.10000000")


def test_utc_datetime_returns_aware_utc(session: Session) -> None:
    shanghai = timezone(timedelta(hours=8))
    local = datetime(2026, 11, 28, 12, 30, 15, 123456, tzinfo=shanghai)
    row = _put(session, at=local)
    back = _get(session, row, "at")
    assert isinstance(back, datetime)
    assert back.tzinfo is UTC
    assert back == local
    assert back == datetime(2026, 11, 28, 4, 30, 15, 123456, tzinfo=UTC)  # microseconds kept


def test_utc_datetime_across_a_date_line(session: Session) -> None:
    samoa = timezone(timedelta(hours=13))
    local = datetime(2026, 1, 1, 0, 0, tzinfo=samoa)
    back = _get(session, _put(session, at=local), "at")
    assert isinstance(back, datetime)
    assert back == datetime(2025, 12, 31, 11, 0, tzinfo=UTC)
    assert back.tzinfo is UTC


def test_utc_datetime_refuses_naive(session: Session) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        _put(session, at=datetime(2026, 11, 28, 12, 0))


def test_utc_datetime_compares_in_sql(session: Session) -> None:
    """Ordering and filtering work on the stored instants, whatever zone they came in."""
    early = datetime(2026, 5, 1, 9, 0, tzinfo=timezone(timedelta(hours=8)))  # 01:00 UTC
    late = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)
    first, second = _put(session, at=late), _put(session, at=early)
    ordered = session.execute(select(probe.c.id).order_by(probe.c.at)).scalars().all()
    assert ordered == [second, first]
    after = (
        session.execute(
            select(probe.c.id).where(probe.c.at > datetime(2026, 5, 1, 1, 30, tzinfo=UTC))
        )
        .scalars()
        .all()
    )
    assert after == [first]


@pytest.mark.parametrize("rate", ["100000000000", "92233720368.54775808", "10000000000"])
def test_a_rate_the_column_cannot_hold_is_refused_as_invalid(db: Database, rate: str) -> None:
    """The rate column holds less on SQLite (a 64-bit count of 10^-8) than NUMERIC(20, 8)."""
    with db.transaction() as session:
        world = build_world(session)
        principal = principal_for(world["claimant"].user)
        line = ClaimLineCreate(
            category_code="TAXI",
            expense_date=date(2026, 4, 1),
            amount=Decimal("0.01"),
            currency="USD",
            exchange_rate=Decimal(rate),
        )
        with pytest.raises(InvalidAmount) as caught:
            claims.create_draft(session, principal, ClaimCreate(reason="rate", lines=[line]))
    assert caught.value.params == {
        "field": "lines[0].exchange_rate",
        "reason": "exchange rate is too large",
    }


def test_the_largest_accepted_rate_is_stored_exactly(db: Database) -> None:
    rate = Decimal("9999999999.99999999")
    with db.transaction() as session:
        world = build_world(session)
        principal = principal_for(world["claimant"].user)
        line = ClaimLineCreate(
            category_code="TAXI",
            expense_date=date(2026, 4, 1),
            amount=Decimal("0.01"),
            currency="USD",
            exchange_rate=rate,
        )
        claim = claims.create_draft(session, principal, ClaimCreate(reason="rate", lines=[line]))
        session.flush()
        claim_id = claim.id
    with db.transaction() as session:
        stored = session.execute(
            select(ClaimLine.exchange_rate, ClaimLine.amount_base).where(
                ClaimLine.claim_id == claim_id
            )
        ).one()
    assert tuple(stored) == (rate, Decimal("100000000.00"))  # 99999999.9999999999 half up
