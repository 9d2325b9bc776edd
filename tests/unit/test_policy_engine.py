"""Every rule of the pure policy engine: pass, warn and block, in en and zh-CN."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from baoxiao.models.policy import Outcome
from baoxiao.policies.engine import ClaimFacts, LineFacts, evaluate, find_cap, tier_of, worst
from baoxiao.policies.rules import StandardRules

RULES: dict[str, Any] = {
    "city_tiers": {"1": ["北京", "上海"], "2": ["杭州市"]},
    "default_tier": "3",
    "caps": [
        {
            "category": "HOTEL",
            "grade": "P6",
            "tier": "1",
            "amount": "450",
            "per": "night",
            "over_cap": "reduce",
        },
        {"category": "HOTEL", "tier": "1", "amount": "400", "per": "night", "over_cap": "justify"},
        {"category": "HOTEL", "amount": "300", "per": "night", "over_cap": "block"},
        {"category": "PER_DIEM", "tier": "1", "amount": "100", "per": "day", "over_cap": "block"},
        {"category": "MEAL", "amount": "200", "over_cap": "justify"},
    ],
    "receipts": {"above": "200", "outcome": "block"},
    "filing_deadline": {"days": 90, "outcome": "warn"},
    "calendar": {
        "weekend": "warn",
        "holiday": "block",
        "holidays": ["2026-10-01"],
        "workdays": ["2026-09-27"],
    },
    "invoice_title": {"outcome": "block"},
}


def facts(grade: str | None = "P6", filed: date = date(2026, 11, 2), **line: Any) -> ClaimFacts:
    values: dict[str, Any] = {
        "line_id": "L1",
        "category": "HOTEL",
        "amount": Decimal("400.00"),
        "currency": "CNY",
        "expense_date": date(2026, 10, 28),
        "city": "北京",
        "days": 1,
    }
    values.update(line)
    return ClaimFacts(
        grade=grade,
        company_name="甲公司(上海)有限公司",
        company_tax_id="91310000X",
        filed_on=filed,
        lines=(LineFacts(**values),),
    )


def check(rule: str, rules: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    found = [
        c
        for c in evaluate(StandardRules.model_validate(rules or RULES), facts(**kwargs))
        if c.rule == rule
    ]
    assert len(found) == 1, found
    return found[0]


# ---- caps: category x grade x city tier ---------------------------------------------------------


def test_the_most_specific_cap_wins() -> None:
    rules = StandardRules.model_validate(RULES)
    assert find_cap(rules, "HOTEL", "P6", "1").amount == Decimal("450")  # type: ignore[union-attr]
    assert find_cap(rules, "HOTEL", "P5", "1").amount == Decimal("400")  # type: ignore[union-attr]
    assert find_cap(rules, "HOTEL", "P6", "3").amount == Decimal("300")  # type: ignore[union-attr]
    assert find_cap(rules, "TAXI", "P6", "1") is None


def test_city_tiers_ignore_the_shi_suffix_and_fall_back_to_the_default() -> None:
    rules = StandardRules.model_validate(RULES)
    assert tier_of(rules, "北京市") == ("1", True)
    assert tier_of(rules, "杭州") == ("2", True)
    assert tier_of(rules, "拉萨") == ("3", False)
    assert tier_of(rules, None) == ("3", False)


def test_hotel_within_the_cap_passes_with_its_trace() -> None:
    c = check("hotel_night", amount=Decimal("900.00"), days=2)
    assert c.outcome is Outcome.PASS
    assert (
        c.text("en") == "Within the standard (hotel per night): 900.00 CNY claimed, cap 900.00 CNY."
    )
    assert c.text("zh-CN") == "符合标准(住宿每晚):申报 900.00 CNY,上限 900.00 CNY。"
    assert c.trace_text("en").startswith(
        "capped at 900.00 CNY: grade P6, city tier 1, hotel per night (450.00 CNY x 2"
    )


def test_hotel_over_the_cap_is_reduced_when_the_standard_says_so() -> None:
    c = check("hotel_night", amount=Decimal("520.00"))
    assert c.outcome is Outcome.WARN
    assert c.reduce_to == Decimal("450")
    assert c.text("en") == (
        "Over the standard (hotel per night): 520.00 CNY claimed, cap 450.00 CNY; "
        "reduced to 450.00 CNY."
    )
    assert "已按上限 450.00 CNY 报销" in c.text("zh-CN")
    assert c.trace_text("en").startswith(
        "capped at 450.00 CNY: grade P6, city tier 1, hotel per night"
    )
    assert c.trace_text("zh-CN").startswith("上限 450.00 CNY:职级 P6,城市等级 1,住宿每晚")


def test_over_the_cap_without_a_reason_blocks_and_with_one_warns() -> None:
    blocked = check("hotel_night", grade="P5", amount=Decimal("480.00"))
    assert blocked.outcome is Outcome.BLOCK
    assert blocked.text("en") == (
        "Over the standard (hotel per night) by 80.00 CNY: 480.00 CNY claimed, cap 400.00 CNY. "
        "Give a reason on the line or lower the amount."
    )
    assert blocked.text("zh-CN").startswith("超出标准(住宿每晚)80.00 CNY")
    kept = check("hotel_night", grade="P5", amount=Decimal("480.00"), justification="会展期间")
    assert kept.outcome is Outcome.WARN
    assert kept.text("en").endswith("kept with the reason: 会展期间")
    assert kept.text("zh-CN").endswith("报销人说明:会展期间")
    assert kept.reduce_to is None


def test_a_hard_cap_blocks_even_with_a_reason() -> None:
    c = check("hotel_night", city="拉萨", amount=Decimal("350.00"), justification="no choice")
    assert c.outcome is Outcome.BLOCK
    assert c.text("en").endswith("not reimbursable.")
    assert c.text("zh-CN").endswith("不予报销。")
    assert "(city not listed: default)" in c.trace_text("en")


def test_per_diem_is_per_day_by_city_tier() -> None:
    ok = check("per_diem", category="PER_DIEM", amount=Decimal("300.00"), days=3, city="上海")
    assert ok.outcome is Outcome.PASS
    assert "per-diem per day" in ok.text("en") and "每日补贴" in ok.text("zh-CN")
    over = check("per_diem", category="PER_DIEM", amount=Decimal("301.00"), days=3, city="上海")
    assert over.outcome is Outcome.BLOCK
    assert "by 1.00 CNY" in over.text("en")


def test_per_line_cap_and_warn() -> None:
    c = check("cap", category="MEAL", amount=Decimal("250.00"), justification="client dinner")
    assert c.outcome is Outcome.WARN
    assert "(per line) by 50.00 CNY" in c.text("en")
    assert "(每笔)50.00 CNY" in c.text("zh-CN")


# ---- receipts -----------------------------------------------------------------------------------


def test_receipt_rule_pass_warn_block() -> None:
    assert check("receipt", amount=Decimal("200.00")).outcome is Outcome.PASS
    assert check("receipt", amount=Decimal("400.00"), has_receipt=True).outcome is Outcome.PASS
    blocked = check("receipt", amount=Decimal("400.00"))
    assert blocked.outcome is Outcome.BLOCK
    assert blocked.text("en") == (
        "Receipt required: 400.00 CNY is above 200.00 CNY and the line has no receipt."
    )
    assert blocked.text("zh-CN") == "缺少票据:金额 400.00 CNY 超过 200.00 CNY,该明细未附票据。"
    warned = check("receipt", {**RULES, "receipts": {"above": "200", "outcome": "warn"}})
    assert warned.outcome is Outcome.WARN


# ---- filing deadline ----------------------------------------------------------------------------


def test_filing_deadline_pass_warn_block() -> None:
    on_time = check("filing_deadline", expense_date=date(2026, 8, 4), filed=date(2026, 11, 2))
    assert on_time.outcome is Outcome.PASS
    assert on_time.text("en") == "Filed in time: 90 days after the expense (limit 90 days)."
    late = check("filing_deadline", expense_date=date(2026, 8, 3), filed=date(2026, 11, 2))
    assert late.outcome is Outcome.WARN
    assert late.text("en") == (
        "Filed too late: 91 days after the expense on 2026-08-03; the limit is 90 days."
    )
    assert late.text("zh-CN") == "超期提交:费用日期 2026-08-03,已过 91 天,期限为 90 天。"
    strict = {**RULES, "filing_deadline": {"days": 90, "outcome": "block"}}
    blocked = check("filing_deadline", strict, expense_date=date(2026, 1, 1))
    assert blocked.outcome is Outcome.BLOCK


# ---- weekend and holiday ------------------------------------------------------------------------


def test_weekend_flags() -> None:
    assert check("weekend", expense_date=date(2026, 10, 28)).outcome is Outcome.PASS
    saturday = check("weekend", expense_date=date(2026, 10, 31))
    assert saturday.outcome is Outcome.WARN
    assert saturday.text("en") == "Expense on a weekend: 2026-10-31 is a Saturday."
    assert saturday.text("zh-CN") == "周末发生的费用:2026-10-31 为星期六。"
    # A make-up working Sunday (调休) is not a weekend.
    assert check("weekend", expense_date=date(2026, 9, 27)).outcome is Outcome.PASS
    strict = {**RULES, "calendar": {**RULES["calendar"], "weekend": "block"}}
    assert check("weekend", strict, expense_date=date(2026, 11, 1)).outcome is Outcome.BLOCK


def test_holiday_flags() -> None:
    assert check("holiday", expense_date=date(2026, 10, 2)).outcome is Outcome.PASS
    national_day = check("holiday", expense_date=date(2026, 10, 1))
    assert national_day.outcome is Outcome.BLOCK
    assert national_day.text("en") == (
        "Expense on a public holiday: 2026-10-01 is in the holiday calendar."
    )
    assert national_day.text("zh-CN") == "节假日发生的费用:2026-10-01 在节假日日历中。"
    mild = {**RULES, "calendar": {**RULES["calendar"], "holiday": "warn"}}
    assert check("holiday", mild, expense_date=date(2026, 10, 1)).outcome is Outcome.WARN


def test_calendar_flags_can_be_limited_to_categories_or_off() -> None:
    only_taxi = {**RULES, "calendar": {**RULES["calendar"], "categories": ["TAXI"]}}
    checks = evaluate(
        StandardRules.model_validate(only_taxi), facts(expense_date=date(2026, 10, 1))
    )
    assert not [c for c in checks if c.rule in ("weekend", "holiday")]
    off = {**RULES, "calendar": {"weekend": "off", "holiday": "off"}}
    checks = evaluate(StandardRules.model_validate(off), facts(expense_date=date(2026, 10, 31)))
    assert not [c for c in checks if c.rule in ("weekend", "holiday")]


# ---- invoice title ------------------------------------------------------------------------------


def test_invoice_title_pass_warn_block() -> None:
    ok = check(
        "invoice_title",
        has_invoice=True,
        buyer_name="甲公司(上海)有限公司",
        buyer_tax_id="91310000x",
    )
    assert ok.outcome is Outcome.PASS  # full-width brackets and case do not matter
    wrong = check("invoice_title", has_invoice=True, buyer_name="乙公司", buyer_tax_id="91310000X")
    assert wrong.outcome is Outcome.BLOCK
    assert wrong.text("en") == (
        "Invoice title does not match the company: buyer 乙公司 (91310000X), "
        "company 甲公司(上海)有限公司 (91310000X)."
    )
    assert wrong.text("zh-CN").startswith("发票抬头与公司不符:购买方 乙公司")
    bad_tax = check(
        "invoice_title",
        {**RULES, "invoice_title": {"outcome": "warn"}},
        has_invoice=True,
        buyer_name="甲公司(上海)有限公司",
        buyer_tax_id="123",
    )
    assert bad_tax.outcome is Outcome.WARN
    unknown = check("invoice_title", has_invoice=True)
    assert unknown.outcome is Outcome.PASS
    assert unknown.text("en").startswith("Invoice title not checked")


def test_no_invoice_no_title_check_and_worst_outcome() -> None:
    checks = evaluate(StandardRules.model_validate(RULES), facts(amount=Decimal("520.00")))
    assert "invoice_title" not in {c.rule for c in checks}
    assert worst(checks) is Outcome.BLOCK  # no receipt above 200
    assert worst([]) is Outcome.PASS


def test_rule_documents_are_validated() -> None:
    with pytest.raises(ValidationError):
        StandardRules.model_validate({"caps": [{"category": "HOTEL", "amount": "-1"}]})
    with pytest.raises(ValidationError):
        StandardRules.model_validate({"city_tiers": {"1": ["北京"], "2": ["北京市"]}})
    with pytest.raises(ValidationError):
        StandardRules.model_validate(
            {"caps": [{"category": "MEAL", "amount": "1"}, {"category": "MEAL", "amount": "2"}]}
        )
    with pytest.raises(ValidationError):
        StandardRules.model_validate({"unknown_rule": True})
