"""The control API for tests (/_control/...): act as a Feishu user, change the org, inject faults.

Not part of Feishu: it stands in for the people and admins who click in the Feishu app.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse

from tests.tools.feishu_sim import crypto
from tests.tools.feishu_sim.approval import Approvals
from tests.tools.feishu_sim.push import Pusher, url_verification, v2_envelope
from tests.tools.feishu_sim.state import FeishuError, State

Payload = dict[str, Any]
JsonBody = Annotated[Payload, Body()]
OptBody = Annotated[Payload | None, Body()]


def build(state: State, approvals: Approvals, pusher: Pusher) -> APIRouter:
    router = APIRouter(prefix="/_control")

    def answer(fn: Any, *args: Any) -> JSONResponse:
        try:
            return JSONResponse(fn(*args))
        except FeishuError as exc:
            return JSONResponse({"code": exc.code, "msg": exc.msg}, status_code=409)

    @router.post("/callback")
    def set_callback(body: JsonBody) -> JSONResponse:
        """Save the request URL and keys as in the developer console (sends url_verification)."""
        state.callback.url = body["url"]
        state.callback.encrypt_key = body.get("encrypt_key", "")
        state.callback.verification_token = body.get("verification_token", "")
        return JSONResponse(
            url_verification(state, body["url"]) if body.get("verify", True) else {"ok": True}
        )

    @router.post("/instances/{code}/{action}")
    def act(code: str, action: str, body: OptBody = None) -> JSONResponse:
        body = body or {}
        if code not in state.instances:
            return JSONResponse({"msg": "no such instance"}, status_code=404)
        if action in ("approve", "reject"):
            return answer(approvals.decide, code, body["user"], action, body.get("comment", ""))
        status = {"cancel": "CANCELED", "delete": "DELETED", "revert": "REVERTED"}.get(action)
        if status is None:
            return JSONResponse({"msg": f"unknown action {action}"}, status_code=404)
        return answer(approvals.set_status, code, status, body.get("user"))

    @router.get("/instances")
    def instances() -> list[Payload]:
        return [approvals.get(c) for c in state.instances]

    @router.get("/external_instances")
    def external_instances() -> Payload:
        return {
            "current": list(state.external_instances.values()),
            "history": state.external_history,
        }

    @router.post("/external/quick")
    def quick(body: JsonBody) -> JSONResponse:
        """An approver clicks 同意/拒绝 on a task in the approval center (quick approval)."""
        key = (body["approval_code"], body["instance_id"])
        inst = state.external_instances.get(key)
        definition = state.external_approvals.get(body["approval_code"])
        if inst is None or definition is None:
            return JSONResponse({"msg": "no such external instance"}, status_code=404)
        task = next((t for t in inst.get("task_list", []) if t["task_id"] == body["task_id"]), None)
        user = state.user_by(body["user"]) or state.user_by(body["user"], "user_id")
        if task is None or user is None:
            return JSONResponse({"msg": "no such task or user"}, status_code=404)
        ext = definition.get("external", {})
        message = {
            "action_type": body.get("action_type", "APPROVE"),
            "action_context": task.get("action_context", ""),
            "user_id": user["user_id"],
            "approval_code": body["approval_code"],
            "instance_id": body["instance_id"],
            "task_id": body["task_id"],
            "message_id": 7123456789012345678,
            "id": state.next_id("qa"),
            "reason": body.get("reason", ""),
            "token": ext.get("action_callback_token", ""),
        }
        raw = json.dumps(message, ensure_ascii=False).encode()
        if ext.get("action_callback_key"):
            raw = json.dumps({"encrypt": crypto.encrypt(ext["action_callback_key"], raw)}).encode()
        try:
            resp = httpx.post(
                ext["action_callback_url"],
                content=raw,
                timeout=10.0,
                headers={"Content-Type": "application/json"},
            )
            result = {"status": resp.status_code, "body": resp.text}
        except httpx.HTTPError as exc:
            result = {"status": None, "body": repr(exc)}
        state.quick_results.append(result)
        return JSONResponse(result)

    # -- org changes, each pushed as the contact event Feishu sends ------------------
    def contact_event(kind: str, obj: Payload, old: Payload | None = None) -> None:
        event: Payload = {"object": obj}
        if old is not None:
            event["old_object"] = old
        pusher.emit(v2_envelope(state, f"contact.{kind}_v3", event))

    def crud(kind: str, store: dict[str, Payload], add: Any, view: Any) -> None:
        """POST, PATCH and DELETE of users or departments, each pushed as its event."""
        label = kind.rstrip("s")
        noun = "user" if kind == "users" else "department"

        def create(body: JsonBody) -> Payload:
            with state.lock:
                item = add(body)
            contact_event(f"{noun}.created", view(item))
            return dict(item)

        def change(item_id: str, body: JsonBody) -> JSONResponse:
            with state.lock:
                item = store.get(item_id)
                if item is None:
                    return JSONResponse({"msg": f"no such {label}"}, status_code=404)
                old = {k: item[k] for k in body if k in item}
                item.update(body)
            contact_event(f"{noun}.updated", view(item), old)
            return JSONResponse(item)

        def remove(item_id: str) -> JSONResponse:
            with state.lock:
                item = store.pop(item_id, None)
            if item is None:
                return JSONResponse({"msg": f"no such {label}"}, status_code=404)
            if noun == "user":
                item["status"]["is_resigned"] = True
                contact_event("user.deleted", item, {"department_ids": item["department_ids"]})
            else:
                item["status"]["is_deleted"] = True
                contact_event("department.deleted", item)
            return JSONResponse(item)

        router.add_api_route(f"/contact/{kind}", create, methods=["POST"])
        router.add_api_route(f"/contact/{kind}/{{item_id}}", change, methods=["PATCH"])
        router.add_api_route(f"/contact/{kind}/{{item_id}}", remove, methods=["DELETE"])

    crud("users", state.users, state.add_user, state.user_view)
    crud(
        "departments",
        state.departments,
        state.add_department,
        state.department_view,
    )

    # -- faults and observation ---------------------------------------------------
    @router.post("/faults")
    def faults(body: JsonBody) -> Payload:
        with state.lock:
            for key, value in body.items():
                if not hasattr(state.faults, key):
                    raise ValueError(f"unknown fault {key}")
                setattr(state.faults, key, value)
            return asdict(state.faults)

    @router.post("/release")
    def release(body: OptBody = None) -> Payload:
        body = body or {}
        state.faults.hold = False
        return {"released": pusher.release(body.get("order", "reverse"))}

    @router.post("/tokens/expire")
    def expire_tokens() -> Payload:
        with state.lock:
            state.tenant_tokens.clear()
            state.app_tokens.clear()
        return {"ok": True}

    @router.get("/pushes")
    def pushes() -> Payload:
        return {"pushes": state.pushes, "pending": pusher.pending()}

    @router.get("/messages")
    def messages() -> list[Payload]:
        return state.messages

    @router.get("/calls")
    def calls() -> list[Payload]:
        return state.calls

    @router.get("/state")
    def summary() -> Payload:
        return {
            "users": len(state.users),
            "departments": len(state.departments),
            "instances": len(state.instances),
            "subscribed": sorted(state.subscribed),
            "app_id": state.app_id,
        }

    return router
