"""The generic webhook connector (Standard Webhooks).

Response handling, chosen so that retrying only happens when it can help:
- 2xx: delivered.
- 410 Gone: the receiver says the endpoint is gone for good; the subscription
  is disabled (its pending deliveries wait until an admin re-enables it).
- 408, 425, 429 and 5xx, timeouts and connection errors: retried with backoff,
  honouring Retry-After.
- 3xx: redirects are never followed (a redirect to an internal address would
  bypass the SSRF guard); dead-lettered, like
- other 4xx: the receiver refuses this request as it is, so sending the same
  bytes again cannot help. Dead-lettered at once, replayable after the
  receiver is fixed.
"""

from __future__ import annotations

import httpx

from baoxiao.connectors.base import (
    Connector,
    ConnectorContext,
    ConnectorError,
    DeliveryResult,
    EventEnvelope,
    HealthResult,
    InboundEvent,
    InboundRequest,
)
from baoxiao.connectors.webhook import client as http
from baoxiao.connectors.webhook import crypto, payloads
from baoxiao.connectors.webhook.config import WebhookConfig
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.netguard import BlockedDestination, check_url

RETRYABLE_STATUS = frozenset({408, 425, 429})


class WebhookConnector(Connector):
    name = "webhook"
    title = "Webhook (Standard Webhooks)"
    config_schema = WebhookConfig

    def __init__(self) -> None:
        self._clients = http.Clients()

    @staticmethod
    def _config(ctx: ConnectorContext) -> WebhookConfig:
        assert isinstance(ctx.config, WebhookConfig)
        return ctx.config

    def handle(self, ctx: ConnectorContext, event: EventEnvelope) -> DeliveryResult:
        config = self._config(ctx)
        body = payloads.event_body(event)
        timestamp = int(utcnow().timestamp())
        headers = {
            "content-type": "application/json",
            "webhook-id": event.id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": crypto.signature_header(
                config.signing_secrets(), event.id, timestamp, body
            ),
        }
        client = self._clients.get(ctx.connector_id, config.timeout_seconds)
        try:
            response = http.post(
                client, str(config.url), body, headers, allow_private=ctx.allow_private_network
            )
        except BlockedDestination as exc:
            raise ConnectorError(f"blocked destination: {exc}", retryable=False) from exc
        except httpx.TimeoutException as exc:
            raise ConnectorError(f"timeout: {type(exc).__name__}", retryable=True) from exc
        except httpx.HTTPError as exc:
            raise ConnectorError(f"network error: {exc!r}"[:300], retryable=True) from exc
        return _outcome(response)

    def verify_and_parse(self, ctx: ConnectorContext, request: InboundRequest) -> InboundEvent:
        config = self._config(ctx)
        msg_id = crypto.verify(
            config.signing_secrets(),
            request.headers,
            request.body,
            now=request.received_at,
            tolerance_seconds=config.tolerance_seconds,
        )
        return payloads.parse_callback(msg_id, request.body)

    def health_check(self, ctx: ConnectorContext) -> HealthResult:
        """The URL passes the SSRF guard and answers a HEAD request (any status)."""
        config = self._config(ctx)
        try:
            check_url(str(config.url), allow_private=ctx.allow_private_network)
            response = self._clients.get(ctx.connector_id, config.timeout_seconds).head(
                str(config.url)
            )
        except BlockedDestination as exc:
            return HealthResult(ok=False, detail=f"blocked destination: {exc}")
        except httpx.HTTPError as exc:
            return HealthResult(ok=False, detail=f"unreachable: {exc!r}"[:300])
        return HealthResult(ok=True, detail=f"reachable (HTTP {response.status_code})")

    def close(self) -> None:
        self._clients.close()


def _outcome(response: httpx.Response) -> DeliveryResult:
    code = response.status_code
    if 200 <= code < 300:
        return DeliveryResult(status_code=code)
    reason = f"HTTP {code}: {response.text[:200]}"
    if code == 410:
        raise ConnectorError(reason, retryable=False, status_code=code, disable=True)
    if code in RETRYABLE_STATUS or code >= 500:
        raise ConnectorError(
            reason,
            retryable=True,
            retry_after=http.retry_after_seconds(response.headers.get("retry-after")),
            status_code=code,
        )
    raise ConnectorError(reason, retryable=False, status_code=code)
