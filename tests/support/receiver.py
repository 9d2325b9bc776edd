"""A real HTTP webhook receiver on 127.0.0.1 for delivery tests (stdlib http.server).

It verifies Standard Webhooks signatures, records every request (wire log,
with duplicates) and applies each webhook-id once (the idempotent consumer),
and can be told to answer with given status codes, to be slow, or to go down.
Run as a process too: `python -m tests.support.receiver PORT SECRET LOGFILE`.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from baoxiao.connectors.base import SignatureInvalid, TimestampStale
from baoxiao.connectors.webhook import crypto
from baoxiao.kernel.clock import utcnow


@dataclass
class Received:
    webhook_id: str
    at: float
    body: dict[str, Any]
    status: int


@dataclass
class Behaviour:
    statuses: list[int] = field(default_factory=list)  # consumed one per request, then 200
    delay: float = 0.0
    retry_after: str | None = None


class Receiver:
    def __init__(self, secret: str, port: int = 0) -> None:
        self.secret = secret
        self.wire: list[Received] = []
        self.applied: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []  # webhook ids in the order first applied
        self.bad_signatures = 0
        self.behaviour = Behaviour()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_HEAD(self) -> None:
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                status, extra = receiver.handle(
                    {k.lower(): v for k, v in self.headers.items()}, body
                )
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("content-length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def handle(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str]]:
        try:
            msg_id = crypto.verify(
                [self.secret], headers, body, now=utcnow(), tolerance_seconds=300
            )
        except (SignatureInvalid, TimestampStale):
            with self.lock:
                self.bad_signatures += 1
            return 401, {}
        with self.lock:
            status = self.behaviour.statuses.pop(0) if self.behaviour.statuses else 200
            delay = self.behaviour.delay
        if delay:
            time.sleep(delay)
        event = json.loads(body)
        with self.lock:
            self.wire.append(Received(msg_id, time.monotonic(), event, status))
            if 200 <= status < 300 and msg_id not in self.applied:
                self.applied[msg_id] = event
                self.order.append(msg_id)
        extra = {"retry-after": self.behaviour.retry_after} if self.behaviour.retry_after else {}
        return status, extra

    def start(self) -> Receiver:
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def sequences_by_subject(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        with self.lock:
            for msg_id in self.order:
                event = self.applied[msg_id]
                out.setdefault(event["subject_id"], []).append(event["sequence"])
        return out


def main() -> None:  # pragma: no cover - used by bench/outbox.py
    port, secret, logfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    receiver = Receiver(secret, port)
    original = receiver.handle
    fh = open(logfile, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - lives with the process

    def logging_handle(headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str]]:
        status, extra = original(headers, body)
        with receiver.lock:
            fh.write(f"{headers.get('webhook-id')} {time.time():.6f} {status}\n")
        return status, extra

    receiver.handle = logging_handle  # type: ignore[method-assign]
    receiver.server.serve_forever()


if __name__ == "__main__":  # pragma: no cover
    main()
