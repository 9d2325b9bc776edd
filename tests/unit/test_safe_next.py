"""Where a sign-in may send the browser afterwards: same-site relative paths only."""

from __future__ import annotations

import pytest

from baoxiao.identity.errors import PasswordTooWeak
from baoxiao.identity.passwords import check_policy
from baoxiao.identity.sso_web import safe_next


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("/claims/42?tab=lines", "/claims/42?tab=lines"),
        ("/", "/"),
        (None, "/"),
        ("", "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("/ok\\..\\x", "/"),
        ("javascript:alert(1)", "/"),
        ("claims", "/"),
        ("/line\r\nSet-Cookie: x=1", "/"),
    ],
)
def test_safe_next(given: str | None, kept: str) -> None:
    assert safe_next(given) == kept


def test_a_good_password_passes_the_policy() -> None:
    check_policy("correct horse battery staple", "tina")
    with pytest.raises(PasswordTooWeak):
        check_policy("1234567890", "tina")
