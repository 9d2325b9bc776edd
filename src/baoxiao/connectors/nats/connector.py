"""NATS JetStream connector: a broker sink on the same delivery road as webhooks.

Each delivery is one JetStream publish that waits for the server's PubAck
(the publisher confirm: the message is stored in the stream). The header
`Nats-Msg-Id` is the event id, so a retry after a lost ack (or after a
worker was killed between publish and recording the outcome) is dropped by
the server's de-duplication window instead of stored twice; the consumer
still dedupes on the id, as with any at-least-once channel.

Order: the dispatcher hands over event n+1 of a subject only after event n
was acknowledged, so the stream holds each claim's events in sequence order.

nats-py is asyncio-only; the connector runs one event loop in a daemon
thread and the dispatcher's pool threads submit publishes to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any

import nats
from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js.api import StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from baoxiao.connectors.base import (
    Connector,
    ConnectorContext,
    ConnectorError,
    DeliveryResult,
    EventEnvelope,
    HealthResult,
)
from baoxiao.connectors.nats.config import NatsConfig


def subject_for(config: NatsConfig, event: EventEnvelope) -> str:
    """`<prefix>.<company id>.<event type>`, e.g. baoxiao.<uuid>.claim.submitted."""
    return f"{config.subject_prefix}.{event.company_id}.{event.type}"


class NatsConnector(Connector):
    name = "nats"
    title = "NATS JetStream (broker)"
    config_schema = NatsConfig

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._clients: dict[str, Client] = {}
        self._connecting: asyncio.Lock | None = None  # used on the loop only
        self._streams: set[tuple[str, str]] = set()

    @staticmethod
    def _config(ctx: ConnectorContext) -> NatsConfig:
        assert isinstance(ctx.config, NatsConfig)
        return ctx.config

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        """The connector's loop, started on first use (a connector may never publish)."""
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=self._loop.run_forever, daemon=True, name="baoxiao-nats"
                )
                self._thread.start()
            return self._loop

    def _run(self, coro: Coroutine[Any, Any, Any], timeout: float) -> Any:
        future = asyncio.run_coroutine_threadsafe(coro, self._event_loop())
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()  # do not leave a late publish running on the loop
            raise

    async def _client(self, config: NatsConfig) -> Client:
        """One connection per URL, shared by all publishes (connects once, not per thread)."""
        url = config.url.get_secret_value()
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            client = self._clients.get(url)
            if client is None or client.is_closed:
                client = await nats.connect(
                    url,
                    connect_timeout=config.timeout_seconds,
                    max_reconnect_attempts=-1,
                    allow_reconnect=True,
                )
                self._clients[url] = client
            return client

    async def _ensure_stream(self, js: JetStreamContext, config: NatsConfig, url: str) -> None:
        key = (url, config.stream)
        if key in self._streams:
            return
        try:
            await js.stream_info(config.stream)
        except NotFoundError:
            await js.add_stream(
                StreamConfig(
                    name=config.stream,
                    subjects=[f"{config.subject_prefix}.>"],
                    duplicate_window=config.duplicate_window_seconds,
                )
            )
        self._streams.add(key)

    async def _publish(self, config: NatsConfig, event: EventEnvelope) -> bool:
        client = await self._client(config)
        js = client.jetstream(timeout=config.timeout_seconds)
        await self._ensure_stream(js, config, config.url.get_secret_value())
        ack = await js.publish(
            subject_for(config, event),
            event.to_json(),
            stream=config.stream,
            headers={"Nats-Msg-Id": event.id, "Content-Type": "application/json"},
        )
        return bool(ack.duplicate)

    def handle(self, ctx: ConnectorContext, event: EventEnvelope) -> DeliveryResult:
        config = self._config(ctx)
        try:
            duplicate = self._run(self._publish(config, event), config.timeout_seconds * 3)
        except (TimeoutError, NatsError, OSError) as exc:
            # No ack: the message may or may not be stored; retrying is safe (same id).
            raise ConnectorError(f"NATS publish failed: {exc!r}"[:500], retryable=True) from None
        return DeliveryResult(detail="duplicate" if duplicate else "stored")

    def health_check(self, ctx: ConnectorContext) -> HealthResult:
        config = self._config(ctx)

        async def _check() -> str:
            client = await self._client(config)
            js = client.jetstream(timeout=config.timeout_seconds)
            await self._ensure_stream(js, config, config.url.get_secret_value())
            info = await js.stream_info(config.stream)
            return f"stream {config.stream}: {info.state.messages} messages"

        try:
            return HealthResult(ok=True, detail=self._run(_check(), config.timeout_seconds * 3))
        except (TimeoutError, NatsError, OSError) as exc:
            return HealthResult(ok=False, detail=f"NATS unreachable: {exc!r}"[:300])

    def close(self) -> None:
        if self._loop is None:
            return

        async def _drain() -> None:
            for client in self._clients.values():
                if not client.is_closed:
                    with contextlib.suppress(NatsError, OSError, TimeoutError):
                        await client.drain()
            self._clients.clear()
            current = asyncio.current_task()
            rest = [t for t in asyncio.all_tasks() if t is not current]
            for task in rest:
                task.cancel()
            await asyncio.gather(*rest, return_exceptions=True)

        with contextlib.suppress(TimeoutError, NatsError, OSError):
            self._run(_drain(), 10.0)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(5.0)
        self._loop = self._thread = None
