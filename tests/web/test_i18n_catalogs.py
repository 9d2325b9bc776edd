"""The zh_CN and en catalogs are complete, and money and dates follow the locale."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from baoxiao.web import i18n

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def catalog(locale: str) -> dict[str, str]:
    with open(i18n.po_path(locale), "rb") as handle:
        return {m.id: m.string for m in read_po(handle) if m.id}


def extracted() -> set[str]:
    found = extract_from_dir(
        str(ROOT / "src" / "baoxiao"),
        method_map=[("**/templates/**.html", "jinja2")],
        options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
    )
    return {str(message) for _file, _line, message, _comments, _ctx in found}


def test_every_message_in_the_templates_is_in_both_catalogs() -> None:
    wanted = extracted()
    assert len(wanted) > 150
    for locale in ("zh_CN", "en"):
        missing = wanted - set(catalog(locale))
        assert not missing, f"run `make messages`; {locale} lacks {sorted(missing)[:5]}"


def test_every_msgid_has_a_chinese_translation_with_the_same_placeholders() -> None:
    zh = catalog("zh_CN")
    untranslated = [msgid for msgid, text in zh.items() if not text.strip()]
    assert not untranslated
    for msgid, text in zh.items():
        assert set(PLACEHOLDER.findall(msgid)) == set(PLACEHOLDER.findall(text)), msgid


def test_the_compiled_catalog_translates() -> None:
    assert i18n.translations("zh-CN").gettext("Sign in") == "登录"
    assert i18n.translations("en").gettext("Sign in") == "Sign in"


def test_money_is_formatted_per_locale_from_decimal_only() -> None:
    assert i18n.money(Decimal("1234.5"), "CNY", "zh-CN") == "¥1,234.50"
    assert i18n.money(Decimal("1234.5"), "CNY", "en") == "CN¥1,234.50"
    assert i18n.money(Decimal("99"), "JPY", "en") == "¥99"
    with pytest.raises(TypeError):
        i18n.money(12.5, "CNY", "en")  # type: ignore[arg-type]


def test_dates_and_times_follow_the_locale_and_the_company_zone() -> None:
    assert i18n.day(date(2026, 11, 2), "zh-CN") == "2026年11月2日"
    assert i18n.day(date(2026, 11, 2), "en") == "Nov 2, 2026"
    late = datetime(2026, 11, 2, 17, 30, tzinfo=UTC)  # 01:30 the next day in Shanghai
    assert "2026年11月3日" in i18n.moment(late, "zh-CN")


def test_the_saved_choice_wins_over_the_browser() -> None:
    assert i18n.choose("en", "zh-CN,zh;q=0.9") == "en"
    assert i18n.choose(None, "en-US,en;q=0.9") == "en"
    assert i18n.choose(None, None) == "zh-CN"
