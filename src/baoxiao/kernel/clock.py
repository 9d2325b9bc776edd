"""The one source of "now": timezone-aware UTC, replaceable in tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def utcnow() -> datetime:
    """Current time as an aware UTC datetime."""
    return _now()


def set_clock(func: Callable[[], datetime] | None) -> None:
    """Replace the clock (tests); None restores the real one."""
    global _now
    _now = func if func is not None else (lambda: datetime.now(UTC))


def ensure_utc(value: datetime) -> datetime:
    """Reject naive datetimes and normalise aware ones to UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime: Baoxiao stores timezone-aware UTC only")
    return value.astimezone(UTC)
