"""Helpers for integration tests: configure a webhook instance, sign callbacks."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from baoxiao.connectors.webhook import crypto
from baoxiao.settings import Settings


def fast_settings(settings: Settings, **overrides: Any) -> Settings:
    """Delivery timings scaled down so retries happen within a test."""
    values: dict[str, Any] = {
        "delivery_base_delay_seconds": 0.05,
        "delivery_max_delay_seconds": 0.5,
        "delivery_lease_seconds": 2.0,
        "delivery_poll_seconds": 0.05,
        "delivery_concurrency": 4,
    }
    values.update(overrides)
    return settings.model_copy(update=values)


def create_webhook(
    client: TestClient,
    headers: dict[str, str],
    url: str,
    secret: str,
    **fields: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "webhook",
        "name": "ERP hook",
        "config": {"url": url, "secret": secret, "timeout_seconds": 2},
        "allow_private_network": True,
        "rate_limit_qps": 0,
    }
    body.update(fields)
    response = client.post("/api/v1/connectors", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def post_callback(
    client: TestClient,
    connector_id: str,
    secret: str,
    payload: dict[str, Any],
    *,
    msg_id: str | None = None,
    timestamp: int | None = None,
    tamper: bool = False,
) -> Response:
    body = json.dumps(payload).encode()
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    ts = int(time.time()) if timestamp is None else timestamp
    signature = crypto.signature_header([secret], msg_id, ts, body)
    if tamper:
        body = body.replace(b"}", b', "x": 1}')
    return client.post(
        f"/api/v1/integrations/{connector_id}/events",
        content=body,
        headers={
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(ts),
            "webhook-signature": signature,
        },
    )
