"""Standard Webhooks signatures: HMAC-SHA256 over `id.timestamp.body`.

Secrets are `whsec_` + base64 of the key bytes. The `webhook-signature`
header holds space-separated `v1,<base64 signature>` entries, one per active
secret, so a receiver holding either key verifies during a rotation.
Checked against the specification's published test vector in the tests.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from datetime import datetime

from baoxiao.connectors.base import SignatureInvalid, TimestampStale

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def decode_secret(secret: str) -> bytes:
    raw = secret.removeprefix(PREFIX)
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("secret must be whsec_ followed by base64") from exc
    if not 24 <= len(key) <= 64:
        raise ValueError("secret must decode to 24-64 bytes")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,<base64>` signature entry."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(decode_secret(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets_: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    return " ".join(sign(s, msg_id, timestamp, body) for s in secrets_)


def verify(
    secrets_: list[str],
    headers: dict[str, str],
    body: bytes,
    *,
    now: datetime,
    tolerance_seconds: int,
) -> str:
    """Check id, timestamp and signature headers; return the message id."""
    msg_id = headers.get("webhook-id", "")
    raw_ts = headers.get("webhook-timestamp", "")
    header = headers.get("webhook-signature", "")
    if not msg_id or not raw_ts.isdigit() or not header:
        raise SignatureInvalid()
    timestamp = int(raw_ts)
    if abs(now.timestamp() - timestamp) > tolerance_seconds:
        raise TimestampStale()
    expected = {sign(s, msg_id, timestamp, body) for s in secrets_}
    offered = header.split(" ")
    # Compare every pair in constant time; no early exit on the first match.
    matched = False
    for candidate in offered:
        for good in expected:
            matched |= hmac.compare_digest(candidate.encode(), good.encode())
    if not matched:
        raise SignatureInvalid()
    return msg_id
