"""Inbound verification, delegated to lark-oapi's event dispatcher and AES helper.

The dispatcher checks the Verification Token, decrypts `{"encrypt": ...}` bodies
(AES-256-CBC, key SHA-256(Encrypt Key), IV prefixed), answers url_verification
before any signature check (as Feishu requires), and checks X-Lark-Signature
(SHA-256 of timestamp + nonce + Encrypt Key + body) on everything else. v1 approval
events are registered as customized p1 events, the contact events as p2 events.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any

from baoxiao.connectors.base import InboundRejected, PayloadInvalid, SignatureInvalid

P1_EVENTS = ("approval_instance", "approval_task")
P2_EVENTS = (
    "contact.user.created_v3",
    "contact.user.updated_v3",
    "contact.user.deleted_v3",
    "contact.department.created_v3",
    "contact.department.updated_v3",
    "contact.department.deleted_v3",
)
HEADERS = {
    "x-lark-request-timestamp": "X-Lark-Request-Timestamp",
    "x-lark-request-nonce": "X-Lark-Request-Nonce",
    "x-lark-signature": "X-Lark-Signature",
}


class TokenInvalid(InboundRejected):
    code = "verification_token_invalid"


def load_sdk() -> None:
    """Import lark-oapi's inbound parts (about 2 s of CPU) ahead of the first push:
    Feishu wants url_verification answered within one second."""
    import lark_oapi.core.model
    import lark_oapi.core.utils.decryptor
    import lark_oapi.event.dispatcher_handler  # noqa: F401


def dispatch(
    encrypt_key: str, verification_token: str, headers: dict[str, str], body: bytes
) -> dict[str, Any]:
    """Verify and decode one push; returns {"challenge": ...} or {"schema", "id", "type",
    "event", "header"} with the event's own id (v1 uuid, v2 header.event_id)."""
    # Imported here, not at the top, so CLI commands and processes without a Feishu
    # instance never load lark-oapi; a server loads it early through load_sdk().
    from lark_oapi.core.model import RawRequest
    from lark_oapi.event.dispatcher_handler import EventDispatcherHandler

    seen: list[Any] = []
    builder = EventDispatcherHandler.builder(encrypt_key, verification_token)
    for name in P1_EVENTS:
        builder = builder.register_p1_customized_event(name, seen.append)
    for name in P2_EVENTS:
        builder = builder.register_p2_customized_event(name, seen.append)
    request = RawRequest()
    request.uri, request.body = "/feishu/events", body
    request.headers = {HEADERS[k]: v for k, v in headers.items() if k in HEADERS}
    response = builder.build().do(request)
    if response.status_code != 200:
        reason = _reason(response.content)
        if "signature" in reason:
            raise SignatureInvalid()
        if "verification_token" in reason or "token" in reason:
            raise TokenInvalid()
        raise PayloadInvalid()
    if not seen:  # url_verification: the dispatcher answered it
        return {"challenge": json.loads(response.content)["challenge"]}
    event = seen[0]
    if event.header is not None:
        return {
            "schema": "2.0",
            "id": event.header.event_id,
            "type": event.header.event_type,
            "event": event.event or {},
        }
    return {"schema": "1.0", "id": event.uuid, "type": event.event["type"], "event": event.event}


def _reason(content: bytes | None) -> str:
    try:
        return str(json.loads(content or b"{}").get("msg", "")).lower()
    except ValueError:
        return ""


def open_quick_approval(key: str, token: str, body: bytes) -> dict[str, Any]:
    """The quick-approval callback: decrypt if a key is set, then check its `token`."""
    from lark_oapi.core.utils.decryptor import AESCipher

    try:
        message = json.loads(body)
        if key and "encrypt" in message:
            message = json.loads(AESCipher(key).decrypt_str(message["encrypt"]))
        elif key:
            raise TokenInvalid()  # a key is configured: plaintext callbacks are refused
    except (ValueError, KeyError, UnicodeDecodeError) as exc:
        raise PayloadInvalid() from exc
    if not isinstance(message, dict) or not token:
        raise TokenInvalid()
    if not hmac.compare_digest(str(message.get("token", "")).encode(), token.encode()):
        raise TokenInvalid()
    return message


def pkce_pair() -> tuple[str, str]:
    """A PKCE code_verifier and its S256 code_challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
