"""Open API routes: tokens, approval v4, external approval and im messages."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from tests.tools.feishu_sim.approval import Approvals
from tests.tools.feishu_sim.state import FeishuError, State, now_ms

Handler = Callable[..., dict[str, Any]]


def ok(data: dict[str, Any] | None = None) -> JSONResponse:
    return JSONResponse({"code": 0, "msg": "success", "data": data or {}})


def failure(exc: FeishuError) -> JSONResponse:
    return JSONResponse({"code": exc.code, "msg": exc.msg, "data": {}}, status_code=exc.http_status)


def gate(state: State, request: Request, *, token: str | None = "tenant") -> JSONResponse | None:
    """Faults first (down, throttled), then the bearer token; None when the call may proceed."""
    with state.lock:
        state.calls.append(
            {
                "method": request.method,
                "path": request.url.path,
                "query": dict(request.query_params),
                "at": time.time(),
            }
        )
        if state.faults.down:
            return JSONResponse({"code": 1, "msg": "service unavailable"}, status_code=503)
        if state.faults.throttle_count > 0:
            state.faults.throttle_count -= 1
            reset = str(state.faults.throttle_reset)
            return JSONResponse(
                {"code": 99991400, "msg": "request trigger frequency limit"},
                status_code=429,
                headers={"x-ogw-ratelimit-limit": "50", "x-ogw-ratelimit-reset": reset},
            )
        if token is None:
            return None
        auth = request.headers.get("authorization", "")
        bearer = auth[7:] if auth.startswith("Bearer ") else ""
        store = {"tenant": state.tenant_tokens, "app": state.app_tokens}.get(token)
        if store is not None:
            if store.get(bearer, 0) > time.time():
                return None
        elif bearer in state.user_tokens and state.user_tokens[bearer]["exp"] > time.time():
            return None
        return JSONResponse(
            {"code": 99991663, "msg": "Invalid access token for authorization"}, status_code=400
        )


def build(state: State, approvals: Approvals) -> APIRouter:
    router = APIRouter()

    async def body_of(request: Request) -> dict[str, Any]:
        raw = await request.body()
        return dict(json.loads(raw)) if raw else {}

    def issue(store: dict[str, float], prefix: str) -> tuple[str, int]:
        token = state.next_id(prefix)
        store[token] = time.time() + state.token_ttl
        return token, state.token_ttl

    def token_endpoint(kind: str, store: dict[str, float], prefix: str) -> None:
        async def endpoint(request: Request) -> JSONResponse:
            blocked = gate(state, request, token=None)
            if blocked:
                return blocked
            body = await body_of(request)
            if body.get("app_id") != state.app_id or body.get("app_secret") != state.app_secret:
                return JSONResponse({"code": 10014, "msg": "app secret invalid"}, status_code=400)
            token, expire = issue(store, prefix)
            return JSONResponse({"code": 0, "msg": "ok", kind: token, "expire": expire})

        path = f"/open-apis/auth/v3/{kind}/internal"
        router.add_api_route(path, endpoint, methods=["POST"])

    token_endpoint("tenant_access_token", state.tenant_tokens, "t-")
    token_endpoint("app_access_token", state.app_tokens, "a-")

    def route(method: str, path: str) -> Callable[[Handler], Handler]:
        """Register a tenant-token API whose handler returns `data` or raises FeishuError."""

        def deco(fn: Handler) -> Handler:
            async def endpoint(request: Request) -> JSONResponse:
                blocked = gate(state, request)
                if blocked:
                    return blocked
                body = await body_of(request) if method == "POST" else {}
                try:
                    return ok(fn(request, body, **request.path_params))
                except FeishuError as exc:
                    return failure(exc)

            router.add_api_route(path, endpoint, methods=[method])
            return fn

        return deco

    @route("GET", "/open-apis/approval/v4/approvals/{approval_code}")
    def get_definition(
        request: Request, body: dict[str, Any], approval_code: str
    ) -> dict[str, Any]:
        d = state.approvals.get(approval_code)
        if d is None:
            raise FeishuError(1390002, "approval code not found")
        return {
            "approval_name": d.get("approval_name", ""),
            "status": "ACTIVE",
            "form": json.dumps(d.get("form", []), ensure_ascii=False),
            "node_list": [
                {
                    "name": n.get("name", ""),
                    "need_approver": n.get("approver") == "self_select",
                    "node_id": n["node_id"],
                    "custom_node_id": n.get("custom_node_id", ""),
                    "node_type": "AND",
                }
                for n in d.get("nodes", [])
            ],
            "viewers": [],
            "approval_admin_ids": [],
        }

    @route("POST", "/open-apis/approval/v4/approvals/{approval_code}/subscribe")
    def subscribe(request: Request, body: dict[str, Any], approval_code: str) -> dict[str, Any]:
        if approval_code not in state.approvals:
            raise FeishuError(1390002, "approval code not found")
        if approval_code in state.subscribed:
            raise FeishuError(1390007, "subscription existed")
        state.subscribed.add(approval_code)
        return {}

    @route("POST", "/open-apis/approval/v4/instances")
    def create_instance(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        return approvals.create(body)

    @route("GET", "/open-apis/approval/v4/instances/{instance_id}")
    def get_instance(request: Request, body: dict[str, Any], instance_id: str) -> dict[str, Any]:
        return approvals.get(instance_id)

    @route("GET", "/open-apis/approval/v4/instances")
    def list_instances(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        q = request.query_params
        codes = approvals.list_codes(
            q.get("approval_code", ""),
            int(q.get("start_time", 0)),
            int(q.get("end_time", now_ms())),
        )
        size = min(int(q.get("page_size", 100)), 100)
        start = int(q.get("page_token") or 0)
        page = codes[start : start + size]
        more = start + size < len(codes)
        return {
            "instance_code_list": page,
            "has_more": more,
            "page_token": str(start + size) if more else "",
        }

    @route("POST", "/open-apis/approval/v4/instances/cancel")
    def cancel_instance(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        inst = state.instances.get(body.get("instance_code", ""))
        if inst is None or inst["approval_code"] != body.get("approval_code"):
            raise FeishuError(1390003, "instance code not found")
        approvals.set_status(inst["instance_code"], "CANCELED", body.get("user_id"))
        return {}

    @route("POST", "/open-apis/approval/v4/external_approvals")
    def external_approval(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        code = body.get("approval_code") or ""
        if not code:
            raise FeishuError(1390001, "param is invalid: approval_code")
        state.external_approvals[code] = body
        return {"approval_code": code}

    @route("GET", "/open-apis/approval/v4/external_approvals/{approval_code}")
    def get_external_approval(
        request: Request, body: dict[str, Any], approval_code: str
    ) -> dict[str, Any]:
        if approval_code not in state.external_approvals:
            raise FeishuError(1390002, "approval code not found")
        return state.external_approvals[approval_code]

    @route("POST", "/open-apis/approval/v4/external_instances")
    def external_instance(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        code = body.get("approval_code", "")
        if code not in state.external_approvals:
            raise FeishuError(1390002, "approval code not found")
        for key in ("instance_id", "status", "links", "start_time", "update_time"):
            if key not in body:
                raise FeishuError(1390001, f"param is invalid: {key} is required")
        ids = [t["task_id"] for t in body.get("task_list", [])]
        if len(ids) != len(set(ids)):
            raise FeishuError(1390001, "param is invalid: task ids must be unique")
        with state.lock:
            key = (code, body["instance_id"])
            old = state.external_instances.get(key)
            if old is None or int(body["update_time"]) >= int(old["update_time"]):
                state.external_instances[key] = body  # Feishu keeps the newest update_time
            state.external_history.append(body)
            return {"data": state.external_instances[key]}

    @route("POST", "/open-apis/approval/v4/external_instances/check")
    def check_external(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        diffs = []
        for item in body.get("instances", []):
            known = next(
                (v for (c, i), v in state.external_instances.items() if i == item["instance_id"]),
                None,
            )
            if known is None or str(known["update_time"]) != str(item["update_time"]):
                diffs.append(
                    {
                        "instance_id": item["instance_id"],
                        "update_time": known["update_time"] if known else "",
                        "tasks": [],
                    }
                )
        return {"diff_instances": diffs}

    @route("POST", "/open-apis/im/v1/messages")
    def send_message(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        id_type = request.query_params.get("receive_id_type", "open_id")
        if state.user_by(body.get("receive_id", ""), id_type) is None:
            raise FeishuError(230013, "Bot has NO availability to this user.")
        if body.get("msg_type") == "interactive":
            json.loads(body.get("content", ""))  # a card is a JSON string
        with state.lock:
            uid = body.get("uuid")
            if uid and uid in state.message_uuids:  # dedupe within the hour, as Feishu does
                return {"message_id": state.message_uuids[uid]}
            message_id = state.next_id("om_")
            state.messages.append({"message_id": message_id, "receive_id_type": id_type, **body})
            if uid:
                state.message_uuids[uid] = message_id
            return {
                "message_id": message_id,
                "msg_type": body.get("msg_type"),
                "create_time": str(now_ms()),
            }

    return router
