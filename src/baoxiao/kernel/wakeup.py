"""An in-process wake-up signal for the dispatcher (SQLite mode, and tests).

Only a hint to stop waiting early: the dispatcher polls anyway, so a lost
signal delays a delivery by at most one poll interval and never loses it.
"""

from __future__ import annotations

import threading

_signal = threading.Event()


def notify() -> None:
    """Something new was committed: wake the in-process dispatcher."""
    _signal.set()


def wait(timeout: float) -> bool:
    """Sleep until notified or `timeout` seconds pass; True if notified."""
    woke = _signal.wait(timeout)
    _signal.clear()
    return woke
