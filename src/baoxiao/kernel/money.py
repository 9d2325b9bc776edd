"""Money rules: Decimal only, quantised to the currency's minor units.

Amounts travel as strings in JSON and as Decimal in code. Rounding is
ROUND_HALF_UP (the convention of Chinese accounting, 四舍五入).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# ISO 4217 minor units for the currencies a Chinese company meets most. A
# currency not listed here must be added to the currencies table with its
# minor units before use; the table is the source of truth at run time.
ISO_MINOR_UNITS: dict[str, int] = {
    "CNY": 2,
    "HKD": 2,
    "MOP": 2,
    "TWD": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "JPY": 0,
    "KRW": 0,
    "SGD": 2,
    "AUD": 2,
    "CAD": 2,
    "CHF": 2,
    "THB": 2,
    "MYR": 2,
    "VND": 0,
    "IDR": 2,
    "INR": 2,
    "RUB": 2,
    "AED": 2,
    "KWD": 3,
    "BHD": 3,
    "NZD": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "PHP": 2,
}

MAX_AMOUNT = Decimal("1000000000000")  # 10^12: larger is a typing error, not an expense
RATE_PLACES = 8
# 10^10: what the rate column holds on both backends (SQLite keeps a 64-bit count of 10^-8).
MAX_RATE = Decimal("10000000000")


class MoneyError(ValueError):
    """An amount that is not acceptable money."""


def to_decimal(value: object) -> Decimal:
    """Parse a str/int/Decimal into Decimal; floats are refused."""
    if isinstance(value, float):
        raise MoneyError("floats are not accepted for money; send a string")
    if isinstance(value, bool):
        raise MoneyError("not an amount")
    try:
        result = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise MoneyError(f"not an amount: {value!r}") from exc
    if not result.is_finite():
        raise MoneyError("amount must be finite")
    return result


def quantum(minor_units: int) -> Decimal:
    return Decimal(1).scaleb(-minor_units)


def check_amount(value: Decimal, minor_units: int, *, allow_zero: bool = False) -> Decimal:
    """Validate a claimed amount: positive, within range, no finer than minor units."""
    if value < 0 or (value == 0 and not allow_zero):
        raise MoneyError("amount must be greater than zero")
    if value >= MAX_AMOUNT:
        raise MoneyError("amount is too large")
    q = quantum(minor_units)
    if value != value.quantize(q):
        raise MoneyError(f"amount has more than {minor_units} decimal places")
    return value.quantize(q)


def round_money(value: Decimal, minor_units: int) -> Decimal:
    """Round a computed amount (e.g. a conversion) to the currency's minor units."""
    return value.quantize(quantum(minor_units), rounding=ROUND_HALF_UP)


def convert(amount: Decimal, rate: Decimal, target_minor_units: int) -> Decimal:
    """Convert with a rate expressed as target units per one source unit."""
    return round_money(amount * rate, target_minor_units)


def check_rate(value: Decimal) -> Decimal:
    """An exchange rate: positive, at most RATE_PLACES decimals."""
    if value <= 0:
        raise MoneyError("exchange rate must be greater than zero")
    if value >= MAX_RATE:
        raise MoneyError("exchange rate is too large")
    q = quantum(RATE_PLACES)
    if value != value.quantize(q):
        raise MoneyError(f"exchange rate has more than {RATE_PLACES} decimal places")
    return value.quantize(q)
