"""Amount, date and seller candidates from the recognised text of a receipt (pure).

OCR gives lines of text in reading order, each with a confidence. A value is
looked for after a label on the same line, else on the next line(s): Chinese
receipt vocabulary first (价税合计, 小写, 合计, 金额; 开票日期, 日期; 销售方 名称),
then English (total, amount, date, seller). Every candidate carries the OCR
confidence, lowered when it was found without a label.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

LOOKAHEAD = 2  # lines after a label where its value may sit
UNLABELLED = 0.5  # confidence factor of a value found without a label
MAX_AMOUNT = Decimal("100000000")  # a receipt over 100 million is a misread

# Labels, strongest first; the first label that yields a value wins.
AMOUNT_LABELS = (
    "价税合计",
    "小写",
    "合计金额",
    "合计",
    "实收金额",
    "实付",
    "金额",
    "grand total",
    "total",
    "amount",
)
DATE_LABELS = ("开票日期", "交易日期", "消费日期", "日期", "invoice date", "date")
SELLER_LABELS = ("销售方名称", "销方名称", "收款单位", "商户名称", "seller", "merchant")
SELLER_SECTION = ("销售方", "销方", "销售单位")
NAME_LABEL = "名称"

_AMOUNT = re.compile(
    r"(?<![A-Za-z\d.,])([¥$])?\s*(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?"
    r"(?![\d,]*\d)(?![A-Za-z])(?!\s*%)"
)
_DATE_YMD = re.compile(r"(?<!\d)(\d{4})\s*[年\-/.]\s*(\d{1,2})\s*[月\-/.]\s*(\d{1,2})(?!\d)")
_DATE_COMPACT = re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})(?!\d)")
_SEPARATORS = re.compile(r"^[\s::\-—|]+")

Value = Decimal | date | str
Parser = Callable[[str], Value | None]


@dataclass(frozen=True)
class TextLine:
    text: str
    confidence: float


@dataclass(frozen=True)
class Candidate:
    """One proposed value, with where it was found and how sure the reading is (0..1)."""

    value: Decimal | date | str
    confidence: float
    label: str | None


@dataclass(frozen=True)
class Proposal:
    amount: Candidate | None = None
    expense_date: Candidate | None = None
    seller_name: Candidate | None = None

    @property
    def empty(self) -> bool:
        return self.amount is None and self.expense_date is None and self.seller_name is None


def normalise(text: str) -> str:
    """Full-width forms to ASCII (NFKC: ￥ to ¥, full-width digits, comma and colon), 元 to a
    space, the ideographic full stop to a dot."""
    text = unicodedata.normalize("NFKC", text)
    return text.replace("元", " ").replace("\u3002", ".")


def parse_amount(text: str) -> Decimal | None:
    """The first money amount in a text: '¥1,234.50', '1234.5', '¥ 88'; None if there is none.
    Percentages and numbers glued to letters or digits (tax ids, plates) are not amounts."""
    for match in _AMOUNT.finditer(normalise(text)):
        sign, whole, cents = match.groups()
        if not sign and not cents and len(whole.replace(",", "")) > 7:
            continue  # a long bare number is an id or a phone number, not a price
        try:
            value = Decimal(whole.replace(",", "") + "." + (cents or "0"))
        except InvalidOperation:  # pragma: no cover - the pattern admits only digits
            continue
        if Decimal(0) < value < MAX_AMOUNT:
            return value.quantize(Decimal("0.01"))
    return None


def parse_date(text: str) -> date | None:
    """The first calendar date in a text: 2026年10月28日, 2026-10-28, 2026/10/28, 20261028."""
    text = normalise(text)
    for pattern in (_DATE_YMD, _DATE_COMPACT):
        for match in pattern.finditer(text):
            year, month, day = (int(g) for g in match.groups())
            try:
                found = date(year, month, day)
            except ValueError:
                continue
            if 2000 <= found.year <= 2100:
                return found
    return None


def _after(text: str, label: str) -> str | None:
    """The text after a label (case-insensitive), None if the label is not in it."""
    index = text.lower().find(label)
    return None if index < 0 else text[index + len(label) :]


def _labelled(
    lines: list[TextLine], labels: tuple[str, ...], parse: Parser
) -> tuple[Value, float, str] | None:
    for label in labels:
        for i, line in enumerate(lines):
            rest = _after(normalise(line.text), label)
            if rest is None:
                continue
            value = parse(rest)
            if value is not None:
                return value, line.confidence, label
            for follower in lines[i + 1 : i + 1 + LOOKAHEAD]:
                value = parse(normalise(follower.text))
                if value is not None:
                    return value, min(line.confidence, follower.confidence), label
    return None


def _candidate(
    lines: list[TextLine], labels: tuple[str, ...], parse: Parser, unlabelled: Parser
) -> Candidate | None:
    found = _labelled(lines, labels, parse)
    if found is not None:
        value, confidence, label = found
        return Candidate(value, round(confidence, 3), label)
    for line in lines:  # no label: the first plausible value, with less confidence
        guess = unlabelled(normalise(line.text))
        if guess is not None:
            return Candidate(guess, round(line.confidence * UNLABELLED, 3), None)
    return None


def _name(text: str) -> str | None:
    """A name: at least two characters, some of them letters (not an amount or a date)."""
    name = _SEPARATORS.sub("", text).strip()
    return name[:200] if len(name) >= 2 and any(c.isalpha() for c in name) else None


def _seller(lines: list[TextLine]) -> Candidate | None:
    for label in SELLER_LABELS:
        for i, line in enumerate(lines):
            rest = _after(normalise(line.text), label)
            if rest is None:
                continue
            name = _name(rest) or (
                _name(normalise(lines[i + 1].text)) if i + 1 < len(lines) else None
            )
            if name:
                return Candidate(name, round(line.confidence, 3), label)
    # A VAT invoice: 名称 under the 销售方 block (the buyer's 名称 comes before it).
    for i, line in enumerate(lines):
        if any(s in line.text for s in SELLER_SECTION):
            for follower in lines[i : i + 1 + LOOKAHEAD]:
                rest = _after(normalise(follower.text), NAME_LABEL)
                if rest is not None and (name := _name(rest)):
                    return Candidate(name, round(follower.confidence, 3), "销售方 名称")
    return None


def propose(lines: list[TextLine]) -> Proposal:
    """The amount, date and seller a receipt's text most likely states."""
    return Proposal(
        amount=_candidate(lines, AMOUNT_LABELS, parse_amount, _strict_amount),
        expense_date=_candidate(lines, DATE_LABELS, parse_date, parse_date),
        seller_name=_seller(lines),
    )


def _strict_amount(text: str) -> Decimal | None:
    """An amount without a label must look like one: a ¥ sign or two decimals, not a date."""
    if parse_date(text) is not None:
        return None
    for match in _AMOUNT.finditer(text):
        sign, _, cents = match.groups()
        if sign or (cents and len(cents) == 2):
            return parse_amount(match.group(0))
    return None
