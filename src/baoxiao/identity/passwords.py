"""Argon2id password hashing (argon2-cffi defaults follow RFC 9106) and the password policy."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from baoxiao.identity.errors import PasswordTooWeak

_hasher = PasswordHasher()
# Verifying against this keeps the timing of "no such user" close to "wrong password".
_DUMMY_HASH = _hasher.hash("baoxiao-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


MIN_LENGTH = 10


@cache
def _common_passwords() -> frozenset[str]:
    text = files("baoxiao.identity").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def check_policy(password: str, username: str) -> None:
    """Refuse a new password that is short, is (or holds) the username, or is common."""
    if len(password) < MIN_LENGTH:
        raise PasswordTooWeak(reason="too_short", min_length=MIN_LENGTH)
    lowered = password.lower()
    if username and username.lower() in lowered:
        raise PasswordTooWeak(reason="contains_username")
    if lowered in _common_passwords():
        raise PasswordTooWeak(reason="common")
