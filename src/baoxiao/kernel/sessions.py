"""The time limits of a browser session, as plain data (settings builds it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)
    reauth: timedelta = timedelta(minutes=5)
