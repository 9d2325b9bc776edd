"""Pure delivery rules: backoff with jitter and horizon, subscriptions, the SSRF guard."""

from __future__ import annotations

import ipaddress
import random
from datetime import UTC, datetime, timedelta

import pytest

from baoxiao.connectors.webhook.client import retry_after_seconds
from baoxiao.kernel.netguard import BlockedDestination, check_url, is_internal
from baoxiao.outbox.retry import RetryPolicy
from baoxiao.outbox.service import subscribes

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def test_backoff_grows_exponentially_with_full_jitter_under_the_cap() -> None:
    policy = RetryPolicy(base_delay=5, max_delay=3600)
    rng = random.Random(7)
    for attempts in range(1, 20):
        ceiling = min(3600, 5 * 2 ** (attempts - 1))
        delays = [policy.delay(attempts, None, rng) for _ in range(200)]
        assert all(0.5 <= d <= ceiling for d in delays)
        if ceiling > 20:  # jitter spreads the retries over the whole window
            assert min(delays) < ceiling / 4 and max(delays) > ceiling * 3 / 4


def test_retry_after_is_a_floor() -> None:
    policy = RetryPolicy(base_delay=1, max_delay=3600)
    assert policy.delay(1, 120, random.Random(1)) == 120


def test_past_the_horizon_the_delivery_is_dead() -> None:
    policy = RetryPolicy(base_delay=5, max_delay=6 * 3600, horizon=timedelta(hours=72))
    rng = random.Random(3)
    assert policy.next_attempt(
        now=T0 + timedelta(hours=10), first_attempt_at=T0, attempts=5, retry_after=None, rng=rng
    )
    assert (
        policy.next_attempt(
            now=T0 + timedelta(hours=71, minutes=59),
            first_attempt_at=T0,
            attempts=30,
            retry_after=3600,
            rng=rng,
        )
        is None
    )


def test_default_policy_keeps_retrying_for_about_three_days() -> None:
    policy = RetryPolicy()
    rng = random.Random(11)
    now, attempts = T0, 0
    while True:
        attempts += 1
        nxt = policy.next_attempt(
            now=now, first_attempt_at=T0, attempts=attempts, retry_after=None, rng=rng
        )
        if nxt is None:
            break
        now = nxt
    assert timedelta(hours=60) < now - T0 <= timedelta(hours=72)
    assert 15 < attempts < 40


@pytest.mark.parametrize(
    ("patterns", "event_type", "expected"),
    [
        (["*"], "claim.paid", True),
        (["claim.*"], "claim.paid", True),
        (["claim.*"], "approval.task.created", False),
        (["approval.task.*", "payment.failed"], "payment.failed", True),
        ([], "claim.paid", False),
    ],
)
def test_subscription_patterns(patterns: list[str], event_type: str, expected: bool) -> None:
    assert subscribes(patterns, event_type) is expected


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://127.1/x",
        "http://2130706433/x",
        "http://0x7f000001/x",
        "http://[::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.8/",
        "http://172.16.3.4/",
        "http://192.168.1.1/",
        "http://[fc00::1]/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://localhost./",
        "file:///etc/passwd",
        "gopher://127.0.0.1:25/",
    ],
)
def test_ssrf_guard_refuses_internal_destinations(url: str) -> None:
    with pytest.raises(BlockedDestination):
        check_url(url)


def test_ssrf_guard_allows_loopback_only_when_the_instance_allows_it() -> None:
    check_url("http://127.0.0.1:9/x", allow_private=True)
    with pytest.raises(BlockedDestination):
        check_url("ftp://127.0.0.1/x", allow_private=True)
    assert not is_internal(ipaddress.ip_address("8.8.8.8"))


def test_retry_after_parses_seconds_and_dates() -> None:
    assert retry_after_seconds("52") == 52
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0
    assert retry_after_seconds("soon") is None
