"""The simulator's crypto and envelopes, checked against the published vector and lark-oapi."""

from __future__ import annotations

import base64
import json
from typing import Any

from lark_oapi.core.model import RawRequest
from lark_oapi.core.utils.decryptor import AESCipher
from lark_oapi.event.custom import CustomizedEvent
from lark_oapi.event.dispatcher_handler import EventDispatcherHandler

from tests.tools.feishu_sim import crypto
from tests.tools.feishu_sim.push import v1_envelope, v2_envelope, wire_body
from tests.tools.feishu_sim.state import State

VECTOR_KEY = "test key"
VECTOR = "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk="


def test_published_vector_decrypts_to_hello_world() -> None:
    assert crypto.decrypt(VECTOR_KEY, VECTOR) == b"hello world"


def test_encrypt_round_trips_and_lark_oapi_decrypts_it() -> None:
    token = crypto.encrypt(VECTOR_KEY, "报销 hello".encode())
    assert crypto.decrypt(VECTOR_KEY, token) == "报销 hello".encode()
    assert AESCipher(VECTOR_KEY).decrypt_str(token) == "报销 hello"
    fixed = crypto.encrypt(VECTOR_KEY, b"hello world", iv=base64.b64decode(VECTOR)[:16])
    assert fixed == VECTOR  # same IV and key give the published ciphertext bit for bit


def _dispatch(state: State, envelope: dict[str, Any], seen: list[Any]) -> tuple[int, bytes]:
    handler = (
        EventDispatcherHandler.builder(
            state.callback.encrypt_key, state.callback.verification_token
        )
        .register_p1_customized_event("approval_instance", seen.append)
        .register_p2_customized_event("contact.user.created_v3", seen.append)
        .build()
    )
    body = wire_body(state.callback.encrypt_key, envelope)
    request = RawRequest()
    request.uri, request.body = "/events", body
    request.headers = crypto.signed_headers(state.callback.encrypt_key, body)
    response = handler.do(request)
    return response.status_code, response.content


def _state() -> State:
    state = State()
    state.callback.encrypt_key, state.callback.verification_token = "ek-123", "vt-456"
    return state


def test_lark_oapi_dispatcher_accepts_simulated_v1_and_v2_pushes() -> None:
    state, seen = _state(), []
    v1 = v1_envelope(
        state, {"type": "approval_instance", "instance_code": "I1", "status": "APPROVED"}
    )
    assert _dispatch(state, v1, seen) == (200, b'{"msg":"success"}')
    v2 = v2_envelope(state, "contact.user.created_v3", {"object": {"open_id": "ou_1"}})
    assert _dispatch(state, v2, seen)[0] == 200
    assert isinstance(seen[0], CustomizedEvent) and seen[0].event["status"] == "APPROVED"
    assert seen[0].uuid == v1["uuid"]
    assert seen[1].header.event_id == v2["header"]["event_id"]


def test_lark_oapi_dispatcher_refuses_bad_signature_and_bad_token() -> None:
    state, seen = _state(), []
    envelope = v1_envelope(state, {"type": "approval_instance", "status": "APPROVED"})
    handler = (
        EventDispatcherHandler.builder("ek-123", "vt-456")
        .register_p1_customized_event("approval_instance", seen.append)
        .build()
    )
    body = wire_body("ek-123", envelope)
    request = RawRequest()
    request.uri, request.body = "/events", body
    request.headers = crypto.signed_headers("ek-123", body)
    request.headers["X-Lark-Signature"] = "0" * 64
    assert handler.do(request).status_code == 500
    state.callback.verification_token = "wrong"
    assert _dispatch(_state(), v1_envelope(state, {"type": "approval_instance"}), seen)[0] == 500
    assert seen == []


def test_url_verification_is_answered_by_lark_oapi_without_signature() -> None:
    body = wire_body("ek-123", {"challenge": "c-1", "token": "vt-456", "type": "url_verification"})
    handler = EventDispatcherHandler.builder("ek-123", "vt-456").build()
    request = RawRequest()
    request.uri, request.body, request.headers = "/events", body, {}
    response = handler.do(request)
    assert response.status_code == 200 and json.loads(response.content) == {"challenge": "c-1"}
