"""The pure rules engine: facts + a standard -> checks. No I/O, no ORM.

`evaluate(rules, facts)` returns one Check per rule that applies to each line:
pass, warn (the approver sees it) or block (the claim cannot be submitted),
each with a message in zh-CN and en naming the rule and the numbers, and a
trace of how the decision was reached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from baoxiao.kernel.i18n import Msg
from baoxiao.models.policy import Outcome
from baoxiao.policies import messages as m
from baoxiao.policies.rules import ANY, CapRule, StandardRules, normalise_city

ORDER = {Outcome.PASS: 0, Outcome.WARN: 1, Outcome.BLOCK: 2}


@dataclass(frozen=True)
class LineFacts:
    line_id: str
    category: str
    amount: Decimal  # claimed, in the claim currency, before any cap
    currency: str
    expense_date: date
    city: str | None = None
    days: int | None = None
    has_receipt: bool = False
    justification: str | None = None
    has_invoice: bool = False
    buyer_name: str | None = None
    buyer_tax_id: str | None = None


@dataclass(frozen=True)
class ClaimFacts:
    grade: str | None
    company_name: str
    company_tax_id: str | None
    filed_on: date  # the day the claim is (or was) filed, in the company's time zone
    lines: tuple[LineFacts, ...] = ()


@dataclass(frozen=True)
class Check:
    line_id: str | None
    rule: str
    outcome: Outcome
    message: Msg
    trace: Msg
    params: dict[str, str] = field(default_factory=dict)
    reduce_to: Decimal | None = None  # set when the standard cuts the line to its cap

    def text(self, lang: str) -> str:
        return self.message.render(lang, **self.params)

    def trace_text(self, lang: str) -> str:
        return self.trace.render(lang, **self.params)


def money(value: Decimal, currency: str) -> str:
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)} {currency}"


def worst_outcome(outcomes: list[Outcome]) -> Outcome:
    return max(outcomes, key=ORDER.__getitem__, default=Outcome.PASS)


def worst(checks: list[Check]) -> Outcome:
    return worst_outcome([c.outcome for c in checks])


def tier_of(rules: StandardRules, city: str | None) -> tuple[str, bool]:
    """The city's tier, and whether it came from the tier lists (else the default)."""
    if city:
        key = normalise_city(city)
        for tier, cities in rules.city_tiers.items():
            if key in {normalise_city(c) for c in cities}:
                return tier, True
    return rules.default_tier, False


def find_cap(rules: StandardRules, category: str, grade: str | None, tier: str) -> CapRule | None:
    """The most specific cap for category x grade x tier ("*" matches anything)."""
    matches = [
        cap
        for cap in rules.caps
        if cap.category == category and cap.grade in (ANY, grade) and cap.tier in (ANY, tier)
    ]
    return max(matches, key=lambda cap: cap.specificity, default=None)


def evaluate(rules: StandardRules, facts: ClaimFacts) -> list[Check]:
    """Every applicable check for every line, in a stable order."""
    checks: list[Check] = []
    for line in facts.lines:
        checks += _cap(rules, facts, line)
        checks += _receipt(rules, line)
        checks += _deadline(rules, facts, line)
        checks += _calendar(rules, line)
        checks += _invoice_title(rules, facts, line)
    return checks


def _cap(rules: StandardRules, facts: ClaimFacts, line: LineFacts) -> list[Check]:
    tier, listed = tier_of(rules, line.city)
    cap = find_cap(rules, line.category, facts.grade, tier)
    if cap is None:
        return []
    units = max(line.days or 1, 1) if cap.per != "line" else 1
    allowed = cap.amount * units
    rule = {"line": "cap", "day": "per_diem", "night": "hotel_night"}[cap.per]
    params = {
        "rule": rule,
        "cap": money(allowed, rules.currency),
        "unit_cap": money(cap.amount, rules.currency),
        "claimed": money(line.amount, rules.currency),
        "over": money(max(line.amount - allowed, Decimal(0)), rules.currency),
        "grade": facts.grade or "-",
        "grade_rule": cap.grade,
        "tier": tier,
        "tier_source_en": "" if listed or not line.city else " (city not listed: default)",
        "tier_source_zh": "" if listed or not line.city else "(城市未列入:默认)",
        "city": line.city or "-",
        "units": str(units),
        "per_en": m.PER_EN[cap.per],
        "per_zh": m.PER_ZH[cap.per],
        "reason": line.justification or "",
    }
    trace = m.CAP_TRACE
    if line.amount <= allowed:
        return [Check(line.line_id, rule, Outcome.PASS, m.CAP_OK, trace, params)]
    if cap.over_cap == "reduce":
        return [
            Check(line.line_id, rule, Outcome.WARN, m.CAP_REDUCED, trace, params, reduce_to=allowed)
        ]
    if cap.over_cap == "justify" and line.justification:
        return [Check(line.line_id, rule, Outcome.WARN, m.CAP_JUSTIFIED, trace, params)]
    message = m.CAP_NEEDS_REASON if cap.over_cap == "justify" else m.CAP_BLOCKED
    return [Check(line.line_id, rule, Outcome.BLOCK, message, trace, params)]


def _receipt(rules: StandardRules, line: LineFacts) -> list[Check]:
    rule = rules.receipts
    if rule is None:
        return []
    params = {
        "threshold": money(rule.above, rules.currency),
        "claimed": money(line.amount, rules.currency),
    }
    if line.amount <= rule.above:
        return [Check(line.line_id, "receipt", Outcome.PASS, m.RECEIPT_NOT_NEEDED, m.NONE, params)]
    if line.has_receipt:
        return [Check(line.line_id, "receipt", Outcome.PASS, m.RECEIPT_OK, m.NONE, params)]
    outcome = Outcome(rule.outcome)
    return [Check(line.line_id, "receipt", outcome, m.RECEIPT_MISSING, m.NONE, params)]


def _deadline(rules: StandardRules, facts: ClaimFacts, line: LineFacts) -> list[Check]:
    rule = rules.filing_deadline
    if rule is None:
        return []
    age = (facts.filed_on - line.expense_date).days
    params = {
        "days": str(rule.days),
        "age": str(age),
        "expense_date": line.expense_date.isoformat(),
        "filed_on": facts.filed_on.isoformat(),
    }
    outcome = Outcome.PASS if age <= rule.days else Outcome(rule.outcome)
    message = m.DEADLINE_OK if outcome is Outcome.PASS else m.DEADLINE_MISSED
    return [Check(line.line_id, "filing_deadline", outcome, message, m.DEADLINE_TRACE, params)]


def _calendar(rules: StandardRules, line: LineFacts) -> list[Check]:
    rule = rules.calendar
    if rule is None or (rule.categories and line.category not in rule.categories):
        return []
    day = line.expense_date
    params = {"date": day.isoformat(), "weekday_en": m.WEEKDAYS_EN[day.weekday()]}
    params["weekday_zh"] = m.WEEKDAYS_ZH[day.weekday()]
    checks: list[Check] = []
    if rule.weekend != "off":
        on_weekend = day.weekday() >= 5 and day not in rule.workdays
        outcome = Outcome(rule.weekend) if on_weekend else Outcome.PASS
        message = m.WEEKEND if on_weekend else m.WEEKDAY
        checks.append(Check(line.line_id, "weekend", outcome, message, m.NONE, params))
    if rule.holiday != "off":
        on_holiday = day in rule.holidays
        outcome = Outcome(rule.holiday) if on_holiday else Outcome.PASS
        message = m.HOLIDAY if on_holiday else m.NOT_HOLIDAY
        checks.append(Check(line.line_id, "holiday", outcome, message, m.NONE, params))
    return checks


def _same_name(a: str, b: str) -> bool:
    table = str.maketrans({"(": "(", ")": ")", " ": "", "\u3000": ""})
    return a.translate(table).strip().lower() == b.translate(table).strip().lower()


def _invoice_title(rules: StandardRules, facts: ClaimFacts, line: LineFacts) -> list[Check]:
    rule = rules.invoice_title
    if rule is None or not line.has_invoice:
        return []
    params = {
        "company": facts.company_name,
        "company_tax_id": facts.company_tax_id or "-",
        "buyer": line.buyer_name or "-",
        "buyer_tax_id": line.buyer_tax_id or "-",
    }
    if not line.buyer_name and not line.buyer_tax_id:
        return [Check(line.line_id, "invoice_title", Outcome.PASS, m.TITLE_UNKNOWN, m.NONE, params)]
    name_ok = line.buyer_name is None or _same_name(line.buyer_name, facts.company_name)
    tax_ok = (
        not rule.require_tax_id
        or line.buyer_tax_id is None
        or facts.company_tax_id is None
        or line.buyer_tax_id.strip().upper() == facts.company_tax_id.strip().upper()
    )
    if name_ok and tax_ok:
        return [Check(line.line_id, "invoice_title", Outcome.PASS, m.TITLE_OK, m.NONE, params)]
    outcome = Outcome(rule.outcome)
    return [Check(line.line_id, "invoice_title", outcome, m.TITLE_MISMATCH, m.NONE, params)]
