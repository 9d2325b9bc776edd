"""kernel.i18n: choosing zh-CN or en from Accept-Language, and rendering messages."""

from __future__ import annotations

import pytest

from baoxiao.kernel.i18n import DEFAULT, SUPPORTED, Msg, negotiate


def test_default_is_simplified_chinese() -> None:
    assert DEFAULT == "zh-CN"
    assert set(SUPPORTED) == {"zh-CN", "en"}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "zh-CN"),
        ("", "zh-CN"),
        ("   ", "zh-CN"),
        (",,", "zh-CN"),
        ("en", "en"),
        ("EN-us", "en"),
        ("en-GB,en;q=0.9", "en"),
        ("zh-CN", "zh-CN"),
        ("zh", "zh-CN"),
        ("zh-TW", "zh-CN"),  # any Chinese gets the Chinese we have
        ("zh-Hant-HK", "zh-CN"),
        ("fr-FR", "zh-CN"),  # nothing we speak: the default
        ("fr-FR, de;q=0.8", "zh-CN"),
        ("*", "zh-CN"),
    ],
)
def test_negotiate_picks_a_supported_language(header: str | None, expected: str) -> None:
    assert negotiate(header) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN;q=0.5, en;q=0.9", "en"),  # q-values beat the order
        ("en;q=0.5, zh-CN;q=0.9", "zh-CN"),
        ("en-US,en;q=0.9,zh-CN;q=0.8,zh;q=0.7", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("fr;q=1.0, en;q=0.3, zh;q=0.2", "en"),  # unsupported tags are passed over
        ("de, en ; q=0.4, zh-TW;q=0.6", "zh-CN"),
        ("en;q=0.8, zh;q=0.8", "en"),  # equal q: the earlier one wins
        ("zh;q=0.8, en;q=0.8", "zh-CN"),
        ("en;q=abc, zh;q=0.1", "zh-CN"),  # an unreadable q counts as 0
    ],
)
def test_negotiate_honours_q_values(header: str, expected: str) -> None:
    assert negotiate(header) == expected


def test_negotiate_q_zero_means_not_acceptable() -> None:
    # RFC 9110 12.4.2: "a value of 0 means not acceptable".
    assert negotiate("en;q=0") == "zh-CN"
    assert negotiate("zh;q=0, en;q=0.1") == "en"
    assert negotiate("zh-CN;q=0", default="en") == "en"


def test_negotiate_with_another_default() -> None:
    assert negotiate(None, default="en") == "en"
    assert negotiate("fr", default="en") == "en"
    assert negotiate("fr, zh-TW;q=0.1", default="en") == "zh-CN"


MSG = Msg("Claim {number} is {status}.", "报销单 {number} 当前为 {status}。")


def test_msg_renders_each_language() -> None:
    assert MSG.render("en", number="BX-1", status="draft") == "Claim BX-1 is draft."
    assert MSG.render("zh-CN", number="BX-1", status="draft") == "报销单 BX-1 当前为 draft。"
    assert MSG.render("zh", number="BX-1", status="draft") == "报销单 BX-1 当前为 draft。"
    assert MSG.render("fr", number="BX-1", status="draft") == "Claim BX-1 is draft."


def test_msg_with_missing_params_returns_the_template() -> None:
    assert MSG.render("en", number="BX-1") == "Claim {number} is {status}."
    assert Msg("{0}", "{0}").render("en") == "{0}"
