"""Feishu endpoints of a connector instance: event callback, quick approval, sign-in."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from baoxiao.connectors.base import InboundRequest
from baoxiao.identity import sessions
from baoxiao.identity.deps import DbSession, cookie_secure, set_session_cookie
from baoxiao.integrations import inbound
from baoxiao.integrations import service as instances
from baoxiao.integrations.api import secret_box
from baoxiao.integrations.feishu import quick, signin
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.routing import TransactionalRoute

router = APIRouter(route_class=TransactionalRoute, tags=["feishu"])


def _receive(
    session: DbSession, request: Request, connector_id: uuid.UUID, inbound_request: InboundRequest
) -> dict[str, str]:
    instance = signin.feishu_instance(session, connector_id)
    connector = instances.connector_class(instance.kind)()
    ctx = instances.context(secret_box(request), instance)
    event = connector.verify_and_parse(ctx, inbound_request)
    if event.type == "url_verification":
        return {"challenge": str(event.data["challenge"])}
    is_new = inbound.store(session, instance, event, inbound_request.received_at)
    return {"msg": "success" if is_new else "duplicate"}


@router.post("/integrations/{connector_id}/feishu/events")
async def feishu_events(
    connector_id: uuid.UUID, request: Request, session: DbSession
) -> JSONResponse:
    """Feishu event subscription URL: url_verification, approval and contact events.
    Verified by lark-oapi, stored in the inbox (deduplicated by event id), answered 200 at
    once; the worker applies them."""
    inbound_request = InboundRequest(
        headers={k.lower(): v for k, v in request.headers.items()},
        body=await request.body(),
        received_at=utcnow(),
    )
    body = await run_in_threadpool(_receive, session, request, connector_id, inbound_request)
    return JSONResponse(body)


@router.post("/integrations/{connector_id}/feishu/quick")
async def feishu_quick_approval(
    connector_id: uuid.UUID, request: Request, session: DbSession
) -> JSONResponse:
    """Quick-approval callback of the external approval definition (mode "baoxiao")."""
    raw = await request.body()
    status, body = await run_in_threadpool(
        quick.handle, session, secret_box(request), connector_id, raw
    )
    return JSONResponse(body, status_code=status)


def _redirect_uri(request: Request, connector_id: uuid.UUID, base: object) -> str:
    return f"{str(base).rstrip('/')}/api/v1/integrations/{connector_id}/feishu/callback"


@router.get("/integrations/{connector_id}/feishu/login")
def feishu_login(
    connector_id: uuid.UUID, request: Request, session: DbSession, next: str = "/"
) -> RedirectResponse:
    """Start "Sign in with Feishu" (also the login-free entry inside the Feishu app)."""
    instance = signin.feishu_instance(session, connector_id)
    base = instance.config.get("public_base_url") or request.base_url
    url, sealed = signin.begin(
        secret_box(request), instance, _redirect_uri(request, connector_id, base), next
    )
    response = RedirectResponse(url, status_code=302)
    response.set_cookie(
        signin.COOKIE,
        sealed,
        max_age=signin.MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
        path=f"/api/v1/integrations/{connector_id}/feishu",
    )
    return response


@router.get("/integrations/{connector_id}/feishu/entry")
def feishu_entry(connector_id: uuid.UUID, request: Request, session: DbSession) -> RedirectResponse:
    """Login-free entry for the Feishu in-app web view (the app's home page URL)."""
    return feishu_login(connector_id, request, session, next="/")


@router.get("/integrations/{connector_id}/feishu/callback")
def feishu_callback(
    connector_id: uuid.UUID, request: Request, session: DbSession, code: str, state: str
) -> RedirectResponse:
    """Where Feishu sends the browser back with the authorization code."""
    instance = signin.feishu_instance(session, connector_id)
    base = instance.config.get("public_base_url") or request.base_url
    user, next_path = signin.finish(
        session,
        secret_box(request),
        instance,
        code=code,
        state=state,
        sealed=request.cookies.get(signin.COOKIE),
        redirect_uri=_redirect_uri(request, connector_id, base),
    )
    _web, plain = sessions.start(
        session,
        user,
        method="feishu",
        policy=request.app.state.settings.session_policy,
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )
    response = RedirectResponse(next_path, status_code=302)
    set_session_cookie(request, response, plain)
    response.delete_cookie(signin.COOKIE, path=f"/api/v1/integrations/{connector_id}/feishu")
    return response
