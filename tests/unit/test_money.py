"""kernel.money: amounts are exact Decimals, checked and rounded the accountant's way."""

from __future__ import annotations

from decimal import Decimal

import pytest

from baoxiao.kernel.money import (
    ISO_MINOR_UNITS,
    MAX_AMOUNT,
    MAX_RATE,
    MoneyError,
    check_amount,
    check_rate,
    convert,
    quantum,
    round_money,
    to_decimal,
)


@pytest.mark.parametrize(
    ("value", "minor_units", "expected"),
    [
        ("0.01", 2, "0.01"),
        ("128.5", 2, "128.50"),
        ("128.50", 2, "128.50"),
        ("32000", 0, "32000"),
        ("32000.0", 0, "32000"),
        ("1.234", 3, "1.234"),
        ("999999999999.99", 2, "999999999999.99"),
    ],
)
def test_check_amount_accepts_and_quantizes(value: str, minor_units: int, expected: str) -> None:
    result = check_amount(Decimal(value), minor_units)
    assert result == Decimal(expected)
    assert str(result) == expected  # the exponent is the currency's, not the input's


@pytest.mark.parametrize(
    ("value", "minor_units", "message"),
    [
        ("0", 2, "greater than zero"),
        ("0.00", 2, "greater than zero"),
        ("-0.01", 2, "greater than zero"),
        ("0.001", 2, "more than 2 decimal places"),
        ("10.005", 2, "more than 2 decimal places"),
        ("100.5", 0, "more than 0 decimal places"),
        ("1000000000000", 2, "too large"),
        ("1000000000000.00", 2, "too large"),
    ],
)
def test_check_amount_refuses(value: str, minor_units: int, message: str) -> None:
    with pytest.raises(MoneyError, match=message):
        check_amount(Decimal(value), minor_units)


def test_check_amount_allows_zero_only_when_asked() -> None:
    assert check_amount(Decimal("0"), 2, allow_zero=True) == Decimal("0.00")
    with pytest.raises(MoneyError):
        check_amount(Decimal("-1"), 2, allow_zero=True)


def test_max_amount_boundary() -> None:
    assert Decimal(10) ** 12 == MAX_AMOUNT
    assert check_amount(MAX_AMOUNT - Decimal("0.01"), 2) == Decimal("999999999999.99")


@pytest.mark.parametrize(
    ("amount", "rate", "minor_units", "expected"),
    [
        ("0.005", "1", 2, "0.01"),  # half up, not half even
        ("0.025", "1", 2, "0.03"),  # banker's rounding would give 0.02
        ("0.004", "1", 2, "0.00"),
        ("-0.005", "1", 2, "-0.01"),  # half away from zero
        ("100.00", "7.10500000", 2, "710.50"),
        ("33.33", "7.10500000", 2, "236.81"),  # 236.80965
        ("12.34", "7.12345678", 2, "87.90"),  # 87.9034566652
        ("32000", "0.04710000", 2, "1507.20"),  # JPY -> CNY
        ("8600", "0.04710000", 2, "405.06"),
        ("10.55", "21.2", 0, "224"),  # into JPY: 223.66 -> 224, no minor units
        ("10.50", "1", 0, "11"),
        ("1.005", "1", 3, "1.005"),
    ],
)
def test_convert_rounds_half_up_to_target_minor_units(
    amount: str, rate: str, minor_units: int, expected: str
) -> None:
    result = convert(Decimal(amount), Decimal(rate), minor_units)
    assert result == Decimal(expected)
    assert str(result) == expected


def test_round_money_and_quantum() -> None:
    assert quantum(2) == Decimal("0.01")
    assert quantum(0) == Decimal("1")
    assert quantum(3) == Decimal("0.001")
    assert round_money(Decimal("2.675"), 2) == Decimal("2.68")  # 2.675 as a float is 2.67499...
    assert round_money(Decimal("2.5"), 0) == Decimal("3")
    assert round_money(Decimal("1.0005"), 3) == Decimal("1.001")


@pytest.mark.parametrize("value", [0.1, 1.0, float("nan"), float("inf")])
def test_to_decimal_refuses_floats(value: float) -> None:
    with pytest.raises(MoneyError, match="floats are not accepted"):
        to_decimal(value)


@pytest.mark.parametrize("value", [True, False, "abc", "", "1,5", "NaN", "Infinity", "-inf", None])
def test_to_decimal_refuses_non_amounts(value: object) -> None:
    with pytest.raises(MoneyError):
        to_decimal(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("128.50", Decimal("128.50")),
        (3, Decimal(3)),
        (Decimal("0.1"), Decimal("0.1")),
        (" 7.5 ", Decimal("7.5")),
    ],
)
def test_to_decimal_parses_exactly(value: object, expected: Decimal) -> None:
    result = to_decimal(value)
    assert isinstance(result, Decimal)
    assert result == expected
    assert result.as_tuple() == expected.as_tuple()


def test_check_rate() -> None:
    assert check_rate(Decimal("7.105")) == Decimal("7.10500000")
    assert str(check_rate(Decimal("0.0471"))) == "0.04710000"
    assert check_rate(Decimal("0.00000001")) == Decimal("0.00000001")
    with pytest.raises(MoneyError, match="more than 8 decimal places"):
        check_rate(Decimal("0.000000001"))
    with pytest.raises(MoneyError, match="greater than zero"):
        check_rate(Decimal("0"))
    with pytest.raises(MoneyError, match="greater than zero"):
        check_rate(Decimal("-7.1"))


def test_check_rate_refuses_what_the_rate_column_cannot_hold() -> None:
    # SQLite keeps a rate as a 64-bit count of 10^-8: about 9.2 * 10^10 at most.
    assert Decimal(10) ** 10 == MAX_RATE
    assert check_rate(Decimal("9999999999.99999999")) == Decimal("9999999999.99999999")
    assert (MAX_RATE - Decimal("0.00000001")).scaleb(8) < 2**63
    for too_large in ("10000000000", "92233720368.54775808", "1000000000000"):
        with pytest.raises(MoneyError, match="exchange rate is too large"):
            check_rate(Decimal(too_large))


def test_minor_units_table() -> None:
    assert ISO_MINOR_UNITS["CNY"] == 2
    assert ISO_MINOR_UNITS["USD"] == 2
    assert ISO_MINOR_UNITS["JPY"] == 0
    assert ISO_MINOR_UNITS["KRW"] == 0
    assert ISO_MINOR_UNITS["KWD"] == 3
