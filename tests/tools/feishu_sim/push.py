"""Pushes events to the configured callback URL the way Feishu does.

Each event is serialised once (v1 or v2 envelope), encrypted when an Encrypt Key is
set, signed, and POSTed; anything but HTTP 200 within the timeout is retried after
the configured intervals (Feishu: 15 s, 5 min, 1 h, 6 h; scaled down in tests).
"""

from __future__ import annotations

import heapq
import json
import threading
import time
from typing import Any

import httpx

from tests.tools.feishu_sim import crypto
from tests.tools.feishu_sim.state import State, now_ms


def v1_envelope(state: State, event: dict[str, Any]) -> dict[str, Any]:
    return {
        "ts": f"{time.time():.4f}",
        "uuid": state.next_id("evt1_"),
        "token": state.callback.verification_token,
        "type": "event_callback",
        "event": {"app_id": state.app_id, "tenant_key": state.tenant_key, **event},
    }


def v2_envelope(state: State, event_type: str, event: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema": "2.0",
        "header": {
            "event_id": state.next_id("evt2_"),
            "event_type": event_type,
            "create_time": str(now_ms()),
            "token": state.callback.verification_token,
            "app_id": state.app_id,
            "tenant_key": state.tenant_key,
        },
        "event": event,
    }


def wire_body(encrypt_key: str, envelope: dict[str, Any]) -> bytes:
    plain = json.dumps(envelope, ensure_ascii=False).encode()
    if not encrypt_key:
        return plain
    return json.dumps({"encrypt": crypto.encrypt(encrypt_key, plain)}).encode()


def event_id(envelope: dict[str, Any]) -> str:
    return str(envelope.get("uuid") or envelope["header"]["event_id"])


class Pusher:
    """A background thread with a due-time heap of (event, attempt)."""

    def __init__(self, state: State) -> None:
        self.state = state
        self._heap: list[tuple[float, int, dict[str, Any], int]] = []
        self._held: list[dict[str, Any]] = []
        self._seq = 0
        self._cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="feishu-sim-push", daemon=True)
        self._thread.start()

    def emit(self, envelope: dict[str, Any]) -> None:
        """Queue an event for push (if a callback URL is configured)."""
        if not self.state.callback.url:
            return
        if self.state.faults.hold:
            with self._cond:
                self._held.append(envelope)
            return
        copies = 2 if self.state.faults.duplicate else 1
        for _ in range(copies):
            self._schedule(envelope, 0, 0.0)

    def release(self, order: str = "reverse") -> int:
        with self._cond:
            held, self._held = self._held, []
        for envelope in reversed(held) if order == "reverse" else held:
            self._schedule(envelope, 0, 0.0)
        return len(held)

    def _schedule(self, envelope: dict[str, Any], attempt: int, delay: float) -> None:
        with self._cond:
            self._seq += 1
            heapq.heappush(self._heap, (time.monotonic() + delay, self._seq, envelope, attempt))
            self._cond.notify()

    def pending(self) -> int:
        with self._cond:
            return len(self._heap)

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()

    def _run(self) -> None:
        client = httpx.Client(timeout=self.state.push_timeout)
        while True:
            with self._cond:
                while not self._stop and (not self._heap or self._heap[0][0] > time.monotonic()):
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(timeout=wait)
                if self._stop:
                    client.close()
                    return
                _, _, envelope, attempt = heapq.heappop(self._heap)
            self._deliver(client, envelope, attempt)

    def _deliver(self, client: httpx.Client, envelope: dict[str, Any], attempt: int) -> None:
        cb = self.state.callback
        body = wire_body(cb.encrypt_key, envelope)
        headers = crypto.signed_headers(cb.encrypt_key, body)
        started = time.monotonic()
        try:
            response = client.post(cb.url, content=body, headers=headers)
            status, text = response.status_code, response.text[:300]
        except httpx.HTTPError as exc:
            status, text = None, repr(exc)[:300]
        ok = status == 200
        with self.state.lock:
            if ok and self.state.faults.lose_acks > 0:
                self.state.faults.lose_acks -= 1
                ok, text = False, "ack lost (fault injection)"
            self.state.pushes.append(
                {
                    "event_id": event_id(envelope),
                    "type": envelope.get("event", {}).get("type")
                    or envelope.get("header", {}).get("event_type"),
                    "attempt": attempt,
                    "status": status,
                    "ok": ok,
                    "response": text,
                    "seconds": round(time.monotonic() - started, 4),
                    "envelope": envelope,
                }
            )
        intervals = self.state.retry_intervals
        if not ok and attempt < len(intervals):
            self._schedule(envelope, attempt + 1, intervals[attempt])


def url_verification(state: State, url: str) -> dict[str, Any]:
    """What Feishu does when the developer saves the request URL: send a challenge."""
    cb = state.callback
    challenge = state.next_id("challenge_")
    envelope = {"challenge": challenge, "token": cb.verification_token, "type": "url_verification"}
    body = wire_body(cb.encrypt_key, envelope)
    # The clock runs from the request to the answer, as on Feishu's side: building the
    # HTTP client (its TLS context alone takes tens of milliseconds) is not the app's time.
    with httpx.Client(timeout=state.push_timeout) as client:
        started = time.monotonic()
        try:
            response = client.post(url, content=body, headers=crypto.signed_headers(None, body))
        except httpx.HTTPError as exc:
            return {"ok": False, "error": repr(exc)}
        seconds = time.monotonic() - started
    try:
        echoed = response.json().get("challenge")
    except ValueError:
        echoed = None
    correct = response.status_code == 200 and echoed == challenge
    return {
        "ok": correct and seconds < 1.0,
        "correct": correct,
        "status": response.status_code,
        "seconds": round(seconds, 4),
        "body": response.text,
    }
