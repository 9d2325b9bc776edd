"""HTTP for the webhook connector: pooled clients, explicit timeouts, no redirects,
and the SSRF guard before every request."""

from __future__ import annotations

import threading
from email.utils import parsedate_to_datetime
from uuid import UUID

import httpx

from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.netguard import BlockedDestination, check_url


class Clients:
    """One keep-alive pool per connector instance, shared by the worker's threads."""

    def __init__(self) -> None:
        self._clients: dict[tuple[UUID, float], httpx.Client] = {}
        self._lock = threading.Lock()

    def get(self, instance: UUID, timeout: float) -> httpx.Client:
        key = (instance, timeout)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = httpx.Client(
                    follow_redirects=False,
                    timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
                    limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
                    headers={"user-agent": "Baoxiao-Webhooks/1"},
                )
                self._clients[key] = client
            return client

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()


def post(
    client: httpx.Client, url: str, body: bytes, headers: dict[str, str], *, allow_private: bool
) -> httpx.Response:
    """POST after the SSRF check; raises BlockedDestination or httpx errors."""
    check_url(url, allow_private=allow_private)
    return client.post(url, content=body, headers=headers)


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - utcnow()).total_seconds())


__all__ = ["BlockedDestination", "Clients", "post", "retry_after_seconds"]
