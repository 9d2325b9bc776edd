"""Column types that keep money exact and time in UTC on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Numeric, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

from baoxiao.kernel.clock import ensure_utc


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out; naive values are refused on write.

    SQLite keeps no offset, so values are stored as naive UTC there and made
    aware again on read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = ensure_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ScaledDecimal(TypeDecorator[Decimal]):
    """An exact decimal with a fixed scale.

    PostgreSQL stores NUMERIC(precision, scale). SQLite has no exact decimal
    type (SQLAlchemy would round-trip through float), so there the value is
    stored as a BIGINT count of 10^-scale units; SUM() stays exact too.
    """

    impl = Numeric
    cache_ok = True

    def __init__(self, scale: int = 4, precision: int = 20) -> None:
        super().__init__()
        self.scale = scale
        self.precision = precision

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Decimal | int | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("float given for an exact decimal column")
        dec = Decimal(value)
        if not dec.is_finite():
            raise ValueError(f"{value} is not a finite amount")
        # Refused on every backend: PostgreSQL would otherwise round to the scale silently.
        scaled = dec.scaleb(self.scale)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value} has more than {self.scale} decimal places")
        if dialect.name == "sqlite":
            return int(scaled)
        return dec

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-self.scale)
        return Decimal(value)

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal


def Money() -> ScaledDecimal:  # noqa: N802 - reads like a type in column definitions
    """Amounts: 4 decimal places covers every ISO 4217 currency."""
    return ScaledDecimal(scale=4, precision=20)


def Rate() -> ScaledDecimal:  # noqa: N802
    """Exchange rates: 8 decimal places."""
    return ScaledDecimal(scale=8, precision=20)


JSONDoc = JSON().with_variant(JSONB(), "postgresql")
UUIDType = Uuid(as_uuid=True)

__all__ = ["JSONDoc", "Money", "Rate", "ScaledDecimal", "UTCDateTime", "UUIDType", "uuid"]
