"""Which claim amounts can reach a node: a small, sound interval analysis of CEL conditions.

Publishing uses it to refuse a node whose condition can never hold for the
amounts the flow matches (e.g. `claim.total > 5000` under `max_amount: 3000`).

Sound, not complete: only comparisons of `claim.total` or `claim.total_minor`
with a number literal are understood, combined with `&&`, `||` and
parentheses. Anything else (`!`, `? :`, function calls, other variables, arithmetic)
counts as "may hold", so a node is only ever refused when it is certainly
unreachable; contradictions the analysis cannot see are let through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

_COMPARE = re.compile(
    r"^(?:(?P<var>claim\.total(?:_minor)?)\s*(?P<op><=|>=|==|<|>)\s*(?P<num>-?\d+(?:\.\d+)?)"
    r"|(?P<num2>-?\d+(?:\.\d+)?)\s*(?P<op2><=|>=|==|<|>)\s*(?P<var2>claim\.total(?:_minor)?))$"
)
_FLIP = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "==": "=="}
_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Interval:
    """Amounts between low and high; None means unbounded; *_open excludes the bound."""

    low: Decimal | None = None
    low_open: bool = False
    high: Decimal | None = None
    high_open: bool = False

    @property
    def empty(self) -> bool:
        if self.low is None or self.high is None:
            return False
        if self.low > self.high:
            return True
        return self.low == self.high and (self.low_open or self.high_open)

    def meet(self, other: Interval) -> Interval:
        low, low_open = self.low, self.low_open
        if other.low is not None and (
            low is None or other.low > low or (other.low == low and other.low_open)
        ):
            low, low_open = other.low, other.low_open
        high, high_open = self.high, self.high_open
        if other.high is not None and (
            high is None or other.high < high or (other.high == high and other.high_open)
        ):
            high, high_open = other.high, other.high_open
        return Interval(low, low_open, high, high_open)

    def describe(self) -> str:
        low = "-inf" if self.low is None else str(self.low)
        high = "+inf" if self.high is None else str(self.high)
        return f"{'(' if self.low_open else '['}{low}, {high}{')' if self.high_open else ']'}"


EVERYTHING = Interval()


def match_range(min_amount: Decimal | None, max_amount: Decimal | None) -> Interval:
    """The amounts a flow's match block lets through (bounds inclusive, as engine.matches)."""
    return Interval(low=min_amount, high=max_amount)


def _strip(text: str) -> str:
    text = text.strip()
    while text.startswith("(") and text.endswith(")") and _balanced_inside(text[1:-1]):
        text = text[1:-1].strip()
    return text


def _balanced_inside(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def _split(text: str, operator: str) -> list[str]:
    """Split at top-level `&&` or `||` (outside parentheses and string literals)."""
    parts, depth, start, quote, i = [], 0, 0, "", 0
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and text.startswith(operator, i):
            parts.append(text[start:i])
            start = i + len(operator)
            i += 1
        i += 1
    parts.append(text[start:])
    return parts


def _compare(var: str, op: str, number: Decimal) -> Interval:
    """The total amounts a comparison allows (widened for total_minor, so still sound)."""
    if var == "claim.total":
        return {
            "<": Interval(high=number, high_open=True),
            "<=": Interval(high=number),
            ">": Interval(low=number, low_open=True),
            ">=": Interval(low=number),
            "==": Interval(low=number, high=number),
        }[op]
    # total_minor = int(total * 100), so total_minor = m means m/100 <= total < (m+1)/100.
    low, high = number / _HUNDRED, (number + 1) / _HUNDRED
    return {
        "<": Interval(high=high, high_open=True),
        "<=": Interval(high=high, high_open=True),
        ">": Interval(low=low, low_open=True),
        ">=": Interval(low=low),
        "==": Interval(low=low, high=high, high_open=True),
    }[op]


def _atom(text: str) -> list[Interval]:
    found = _COMPARE.match(text)
    if found is None:
        return [EVERYTHING]
    try:
        if found.group("var"):
            return [_compare(found["var"], found["op"], Decimal(found["num"]))]
        return [_compare(found["var2"], _FLIP[found["op2"]], Decimal(found["num2"]))]
    except InvalidOperation:
        return [EVERYTHING]


def possible(source: str, within: Interval = EVERYTHING, _depth: int = 0) -> list[Interval]:
    """Intervals (a union) of `within` where the condition may hold; [] = never."""
    if _depth > 32:
        return [within]
    text = _strip(source)
    if "?" in text:  # a conditional (a ? b : c) binds loosest: do not split it
        return [within]
    alternatives = _split(text, "||")
    if len(alternatives) > 1:
        union: list[Interval] = []
        for alt in alternatives:
            union += possible(alt, within, _depth + 1)
        return union
    conjuncts = _split(text, "&&")
    current = [within]
    for part in conjuncts:
        part = _strip(part)
        pieces = (
            possible(part, EVERYTHING, _depth + 1)
            if len(_split(part, "||")) > 1 or len(_split(part, "&&")) > 1
            else _atom(part)
        )
        current = [c.meet(p) for c in current for p in pieces]
        current = [c for c in current if not c.empty]
        if not current:
            return []
    return current


def never_holds(source: str, within: Interval) -> bool:
    """True only when the condition certainly cannot hold for any amount in `within`."""
    return not possible(source, within)
