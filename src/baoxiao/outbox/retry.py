"""When to try a failed delivery again: exponential backoff with full jitter."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryPolicy:
    base_delay: float = 5.0  # seconds before the first retry (upper bound of the jitter)
    max_delay: float = 6 * 3600.0
    horizon: timedelta = timedelta(hours=72)  # from the first attempt, then dead letter

    def delay(self, attempts: int, retry_after: float | None, rng: random.Random) -> float:
        """Full jitter (AWS): uniform(0, min(cap, base * 2**(n-1))), never below the
        receiver's Retry-After (even above the cap: the horizon still bounds it), and
        never below a tenth of the base so a retry is not immediate."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** max(0, attempts - 1))
        delay = max(self.base_delay / 10, rng.uniform(0, ceiling))
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay

    def next_attempt(
        self,
        *,
        now: datetime,
        first_attempt_at: datetime,
        attempts: int,
        retry_after: float | None,
        rng: random.Random,
    ) -> datetime | None:
        """The next attempt time, or None when it would fall past the horizon."""
        when = now + timedelta(seconds=self.delay(attempts, retry_after, rng))
        if when > first_attempt_at + self.horizon:
            return None
        return when
