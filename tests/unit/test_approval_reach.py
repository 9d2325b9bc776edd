"""The amount reachability analysis: what it refuses, and that it is sound against CEL itself."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from baoxiao.approvals.conditions import compile_condition
from baoxiao.approvals.reach import EVERYTHING, Interval, match_range, never_holds, possible

UP_TO_3000 = match_range(None, Decimal(3000))


def test_contradictions_with_the_match_range_are_found() -> None:
    assert never_holds("claim.total > 5000", UP_TO_3000)
    assert never_holds("claim.total > 3000", UP_TO_3000)
    assert never_holds("5000 <= claim.total", UP_TO_3000)
    assert never_holds("claim.total_minor > 300000", UP_TO_3000)
    assert never_holds("(claim.total > 4000 && size(lines) > 1) || claim.total > 9000", UP_TO_3000)
    assert never_holds("claim.total > 10 && claim.total < 5", EVERYTHING)
    assert never_holds("claim.total == 50", match_range(Decimal(100), None))


def test_anything_it_does_not_understand_may_hold() -> None:
    for source in [
        "claim.total >= 3000",
        "claim.total_minor >= 300000",
        "claim.total > 5000 || claim.type == 'travel'",
        "!(claim.total > 5000)",
        "claim.total * 2 > 9000",
        "claim.total > 5000 ? false : claim.total < 1",
        "policy.over_limit && claim.total > 2999.99",
    ]:
        assert not never_holds(source, UP_TO_3000), source


def test_intervals_describe_their_bounds() -> None:
    assert possible("claim.total > 2000", UP_TO_3000) == [
        Interval(Decimal(2000), True, Decimal(3000), False)
    ]
    assert UP_TO_3000.describe() == "[-inf, 3000]"


atoms = st.builds(
    lambda var, op, n: f"{var} {op} {n}",
    st.sampled_from(["claim.total", "claim.total_minor"]),
    st.sampled_from(["<", "<=", ">", ">=", "=="]),
    st.sampled_from(["0", "50", "99.5", "100", "3000", "5000", "10000", "300000", "500000"]),
)


def _combine(children: Any) -> Any:
    return st.builds(
        lambda a, op, b: f"({a} {op} {b})", children, st.sampled_from(["&&", "||"]), children
    )


conditions = st.recursive(atoms | st.just("size(lines) > 1"), _combine, max_leaves=6)


@settings(max_examples=300, deadline=None)
@given(
    conditions,
    st.one_of(st.none(), st.sampled_from([Decimal(0), Decimal(100), Decimal(3000)])),
    st.one_of(st.none(), st.sampled_from([Decimal(100), Decimal(3000), Decimal(6000)])),
    st.decimals(min_value=0, max_value=600000, places=2),
    st.booleans(),
)
def test_never_holds_is_sound(
    source: str, low: Decimal | None, high: Decimal | None, total: Decimal, many: bool
) -> None:
    """Whenever it says "never", CEL is false for every amount in the range."""
    if (low is not None and total < low) or (high is not None and total > high):
        return
    if low is not None and high is not None and low > high:
        return
    if never_holds(source, match_range(low, high)):
        activation = {
            "claim": {"total": float(total), "total_minor": int(total * 100)},
            "lines": [1, 2] if many else [1],
        }
        assert compile_condition(source).evaluate(activation) is False
