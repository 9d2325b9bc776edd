"""Contact v3 (departments, users, paging) and login (authorize, token, user info)."""

from __future__ import annotations

import base64
import hashlib
import html
import time
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from tests.tools.feishu_sim.openapi import failure, gate, ok
from tests.tools.feishu_sim.state import FeishuError, State

MAX_PAGE = 50


def page(items: list[dict[str, Any]], request: Request) -> dict[str, Any]:
    size = min(int(request.query_params.get("page_size", 10)), MAX_PAGE)
    start = int(request.query_params.get("page_token") or 0)
    more = start + size < len(items)
    out: dict[str, Any] = {"has_more": more, "items": items[start : start + size]}
    if more:
        out["page_token"] = str(start + size)
    return out


def build(state: State) -> APIRouter:
    router = APIRouter()

    def dept_key(request: Request, value: str) -> dict[str, Any] | None:
        if request.query_params.get("department_id_type", "open_department_id") == "department_id":
            return next(
                (d for d in state.departments.values() if d["department_id"] == value), None
            )
        return state.departments.get(value)

    @router.get("/open-apis/contact/v3/departments/{department_id}/children")
    def children(request: Request, department_id: str) -> JSONResponse:
        blocked = gate(state, request)
        if blocked:
            return blocked
        id_type = request.query_params.get("user_id_type", "open_id")
        with state.lock:
            parent = (
                "0"
                if department_id == "0"
                else (dept_key(request, department_id) or {}).get("open_department_id")
            )
            if parent is None:
                return failure(FeishuError(40003, "department not found"))
            fetch_all = request.query_params.get("fetch_child", "").lower() == "true"
            found, frontier = [], [parent]
            while frontier:
                current = frontier.pop(0)
                kids = [
                    d for d in state.departments.values() if d["parent_department_id"] == current
                ]
                found.extend(kids)
                if fetch_all:
                    frontier.extend(k["open_department_id"] for k in kids)
            items = [state.department_view(d, id_type) for d in found]
        return ok(page(items, request))

    @router.get("/open-apis/contact/v3/departments/{department_id}")
    def get_department(request: Request, department_id: str) -> JSONResponse:
        blocked = gate(state, request)
        if blocked:
            return blocked
        dept = dept_key(request, department_id)
        if dept is None:
            return failure(FeishuError(40003, "department not found"))
        id_type = request.query_params.get("user_id_type", "open_id")
        return ok({"department": state.department_view(dept, id_type)})

    @router.get("/open-apis/contact/v3/users/find_by_department")
    def find_by_department(request: Request) -> JSONResponse:
        blocked = gate(state, request)
        if blocked:
            return blocked
        id_type = request.query_params.get("user_id_type", "open_id")
        dept_id = request.query_params.get("department_id", "0")
        with state.lock:
            dept = None if dept_id == "0" else dept_key(request, dept_id)
            if dept_id != "0" and dept is None:
                return failure(FeishuError(40003, "department not found"))
            target = "0" if dept is None else dept["open_department_id"]
            items = [
                state.user_view(u, id_type)
                for u in state.users.values()
                if target in u["department_ids"] or (target == "0" and not u["department_ids"])
            ]
        return ok(page(items, request))

    @router.get("/open-apis/contact/v3/users/{user_id}")
    def get_user(request: Request, user_id: str) -> JSONResponse:
        blocked = gate(state, request)
        if blocked:
            return blocked
        id_type = request.query_params.get("user_id_type", "open_id")
        user = state.user_by(user_id, id_type)
        if user is None:
            return failure(FeishuError(41050, "no user authority error / user not found"))
        return ok({"user": state.user_view(user, id_type)})

    # -- login ---------------------------------------------------------------------------
    @router.get("/open-apis/authen/v1/authorize")
    def authorize(request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != state.app_id or not q.get("redirect_uri"):
            return HTMLResponse("<h1>20029: invalid client_id or redirect_uri</h1>", 400)
        who = q.get("sim_user")
        if not who:  # the sign-in page: pick a user of the simulated tenant
            links = "".join(
                f'<li><a href="?{html.escape(urlencode({**q, "sim_user": u["open_id"]}))}">'
                f"{html.escape(u['name'])}</a></li>"
                for u in list(state.users.values())[:50]
            )
            return HTMLResponse(f"<h1>Feishu simulator sign-in</h1><ul>{links}</ul>")
        if who not in state.users:
            return HTMLResponse("<h1>unknown user</h1>", 400)
        code = state.next_id("code_")
        state.oauth_codes[code] = {
            "open_id": who,
            "redirect_uri": q["redirect_uri"],
            "exp": time.time() + 300,
            "challenge": q.get("code_challenge"),
            "method": q.get("code_challenge_method", "plain"),
            "scope": q.get("scope", ""),
        }
        sep = "&" if "?" in q["redirect_uri"] else "?"
        return RedirectResponse(
            f"{q['redirect_uri']}{sep}{urlencode({'code': code, 'state': q.get('state', '')})}",
            status_code=302,
        )

    def token_error(code: int, error: str, description: str) -> JSONResponse:
        return JSONResponse(
            {"code": code, "error": error, "error_description": description}, status_code=400
        )

    @router.post("/open-apis/authen/v2/oauth/token")
    async def oauth_token(request: Request) -> JSONResponse:
        blocked = gate(state, request, token=None)
        if blocked:
            return blocked
        ctype = request.headers.get("content-type", "")
        form: dict[str, Any] = dict(
            await request.json() if "json" in ctype else await request.form()
        )
        if form.get("client_id") != state.app_id or form.get("client_secret") != state.app_secret:
            return token_error(20002, "invalid_client", "client authentication failed")
        if form.get("grant_type") != "authorization_code":
            return token_error(20024, "unsupported_grant_type", "grant_type")
        grant = state.oauth_codes.pop(str(form.get("code", "")), None)  # single use
        if grant is None or grant["exp"] < time.time():
            return token_error(20003, "invalid_grant", "code is invalid or expired")
        if form.get("redirect_uri") and form["redirect_uri"] != grant["redirect_uri"]:
            return token_error(20003, "invalid_grant", "redirect_uri mismatch")
        verifier = str(form.get("code_verifier", ""))
        if grant["challenge"]:
            digest = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
                .rstrip(b"=")
                .decode()
                if grant["method"] == "S256"
                else verifier
            )
            if digest != grant["challenge"]:
                return token_error(20003, "invalid_grant", "code_verifier mismatch")
        elif verifier:
            return token_error(20003, "invalid_grant", "code_verifier without code_challenge")
        token = state.next_id("u-")
        state.user_tokens[token] = {"open_id": grant["open_id"], "exp": time.time() + 7200}
        return JSONResponse(
            {
                "code": 0,
                "access_token": token,
                "expires_in": 7200,
                "token_type": "Bearer",
                "scope": grant["scope"],
            }
        )

    @router.get("/open-apis/authen/v1/user_info")
    def user_info(request: Request) -> JSONResponse:
        blocked = gate(state, request, token="user")
        if blocked:
            return blocked
        bearer = request.headers["authorization"][7:]
        user = state.users.get(state.user_tokens[bearer]["open_id"])
        if user is None:
            return failure(FeishuError(20021, "user not found"))
        return ok(
            {
                key: user.get(key, "")
                for key in (
                    "name",
                    "en_name",
                    "open_id",
                    "union_id",
                    "user_id",
                    "email",
                    "enterprise_email",
                    "mobile",
                    "employee_no",
                )
            }
            | {"tenant_key": state.tenant_key, "avatar_url": ""}
        )

    return router
