"""Expense categories, currencies and exchange rates."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from baoxiao.kernel.db import Base
from baoxiao.kernel.ids import new_id
from baoxiao.kernel.money import round_money
from baoxiao.kernel.types import Rate


class ExpenseCategory(Base):
    __tablename__ = "expense_categories"
    __table_args__ = (UniqueConstraint("company_id", "code"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    gl_account: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(default=True)


class Currency(Base):
    __tablename__ = "currencies"

    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    minor_units: Mapped[int]
    active: Mapped[bool] = mapped_column(default=True)


class ExchangeRate(Base):
    """Units of `quote` for one unit of `base`, effective from a date until superseded."""

    __tablename__ = "exchange_rates"
    __table_args__ = (UniqueConstraint("company_id", "base", "quote", "effective_date"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id"), index=True)
    base: Mapped[str] = mapped_column(ForeignKey("currencies.code"))
    quote: Mapped[str] = mapped_column(ForeignKey("currencies.code"))
    rate: Mapped[Decimal] = mapped_column(Rate())
    effective_date: Mapped[date]


def rate_on(
    session: Session, company_id: uuid.UUID, base: str, quote: str, on: date
) -> Decimal | None:
    """The rate in force on a date: the latest one effective on or before it."""
    if base == quote:
        return Decimal(1)
    return session.scalars(
        select(ExchangeRate.rate)
        .where(
            ExchangeRate.company_id == company_id,
            ExchangeRate.base == base,
            ExchangeRate.quote == quote,
            ExchangeRate.effective_date <= on,
        )
        .order_by(ExchangeRate.effective_date.desc())
        .limit(1)
    ).first()


# Minor units per currency code, shared by the process: they are a code's ISO 4217
# exponent, reference data that does not change, and every response needs them.
_MINOR_UNITS: dict[str, int] = {}


def minor_units(session: Session, currency: str) -> int:
    """The currency's number of decimal places, read once per process."""
    units = _MINOR_UNITS.get(currency)
    if units is None:
        found = session.get(Currency, currency)
        if found is None:
            raise LookupError(f"currency {currency} is not in the currencies table")
        units = _MINOR_UNITS[currency] = found.minor_units
    return units


def in_minor_units(session: Session, amount: Decimal, currency: str) -> Decimal:
    """An amount in its currency's precision (722.80 CNY, 1000 JPY).

    Columns keep 4 places for every currency, so a value read back would
    otherwise show as 722.8000 while the same value just computed shows 722.80.
    """
    return round_money(amount, minor_units(session, currency))
