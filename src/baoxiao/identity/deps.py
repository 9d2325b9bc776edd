"""FastAPI dependencies for the request's session and caller."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from functools import cache
from typing import Annotated

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session

from baoxiao.identity import sessions
from baoxiao.identity.errors import CsrfFailed, InsufficientScope, InvalidToken, SessionInvalid
from baoxiao.identity.principal import Principal
from baoxiao.identity.scopes import required_scope
from baoxiao.identity.service import authenticate_token
from baoxiao.kernel.crypto import constant_time_equal, derive_key
from baoxiao.kernel.errors import Unauthorized
from baoxiao.kernel.ids import random_token
from baoxiao.kernel.routing import request_session
from baoxiao.kernel.sessions import SessionPolicy
from baoxiao.models.identity import WebSession

DbSession = Annotated[Session, Depends(request_session)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def authenticate(request: Request, session: Session) -> Principal:
    """The caller of this request, resolved once and cached on the request."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    token = _bearer(request)
    if token is None:
        raise Unauthorized()
    principal = authenticate_token(session, token)
    request.state.principal = principal
    return principal


def client_ip(request: Request) -> str | None:
    """The client's address as the server sees it (uvicorn applies trusted proxy headers)."""
    return request.client.host if request.client else None


def enforce_token_scope(request: Request, principal: Principal) -> None:
    """A scoped token reaches only the endpoints whose scope it holds (identity/scopes.py)."""
    if principal.token_scopes is None:
        return
    path = request.url.path.removeprefix(request.scope.get("root_path", "") or "")
    known, needed = required_scope(request.method, path)
    if not known or (needed is not None and needed not in principal.token_scopes):
        raise InsufficientScope(required=needed)


def current_principal(request: Request, session: DbSession) -> Principal:
    principal = authenticate(request, session)
    enforce_token_scope(request, principal)
    return principal


def idempotency_scope(request: Request, session: Session) -> str | None:
    """Idempotency keys are scoped per user; None when the caller is anonymous."""
    try:
        return str(authenticate(request, session).user_id)
    except (Unauthorized, InvalidToken):
        return None


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


# Browser sessions (HTML pages). The cookie is HttpOnly and SameSite=Lax; Secure as
# cookie_secure decides.
SESSION_COOKIE = "bx_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def session_policy(request: Request) -> SessionPolicy:
    policy: SessionPolicy = request.app.state.settings.session_policy
    return policy


def current_web_session(request: Request, session: DbSession) -> WebSession:
    """The caller's live browser session, or SessionInvalid (pages redirect to sign-in)."""
    cached: WebSession | None = getattr(request.state, "web_session", None)
    if cached is not None:
        return cached
    plain = request.cookies.get(SESSION_COOKIE)
    if not plain:
        raise SessionInvalid()
    web, principal = sessions.resolve(session, plain, session_policy(request))
    request.state.web_session = web
    request.state.principal = principal
    return web


def web_principal(request: Request, web: CurrentWebSession) -> Principal:
    """Who is signed in to this browser session."""
    principal: Principal = request.state.principal
    return principal


async def csrf_protect(request: Request, web: CurrentWebSession) -> None:
    """Every state-changing request of a page carries the session's CSRF token, as the
    form field `csrf_token` or (HTMX, fetch) the X-CSRF-Token header."""
    submitted = request.headers.get(CSRF_HEADER)
    if submitted is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()  # Starlette keeps it: the endpoint reads it again
        value = form.get(CSRF_FIELD)
        submitted = value if isinstance(value, str) else None
    sessions.check_csrf(web, submitted)


def cookie_secure(request: Request) -> bool:
    """Whether our cookies get the Secure flag: BAOXIAO_SESSION_COOKIE_SECURE when set,
    else when the public URL or this request is https (a TLS proxy in front may hide
    the scheme from us; the plain-http demo on 127.0.0.1 stays without)."""
    settings = request.app.state.settings
    forced: bool | None = settings.session_cookie_secure
    if forced is not None:
        return forced
    public: str | None = settings.public_url
    return request.url.scheme == "https" or bool(public and public.startswith("https://"))


def set_session_cookie(request: Request, response: Response, plain: str) -> None:
    settings = request.app.state.settings
    response.set_cookie(
        SESSION_COOKIE,
        plain,
        max_age=int(settings.session_policy.absolute.total_seconds()),
        path="/",
        secure=cookie_secure(request),
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")


def end_previous_session(request: Request, session: Session) -> None:
    """A new sign-in in this browser ends the session its cookie still names, so the
    old cookie (perhaps someone else's, on a shared computer) stops working."""
    plain = request.cookies.get(SESSION_COOKIE)
    if not plain:
        return
    try:
        previous, _principal = sessions.resolve(session, plain, session_policy(request))
    except SessionInvalid:
        return
    sessions.end(session, previous, reason="replaced")


# The sign-in form has no session to take a CSRF token from, yet a forged post to it
# would sign the victim in to the attacker's account (login CSRF). A signed double-submit
# cookie stands in: the cookie holds a random value, the form field its HMAC under the
# instance key, so a site that can plant cookies for us (a sibling subdomain) still
# cannot make a matching pair; over https the __Host- prefix keeps it from planting one.
LOGIN_CSRF_FIELD = "login_csrf"
LOGIN_CSRF_MAX_AGE = 12 * 3600
_LOGIN_CSRF_VALUE = re.compile(r"[A-Za-z0-9_-]{43}")


def _login_csrf_cookie(request: Request) -> str:
    return "__Host-bx_login" if cookie_secure(request) else "bx_login"


@cache
def _login_csrf_key(secret: str) -> bytes:
    return derive_key(secret, "baoxiao:login-csrf")


def _login_csrf_mac(request: Request, value: str) -> str:
    key = _login_csrf_key(request.app.state.settings.resolved_secret_key)
    digest = hmac.new(key, value.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def login_csrf_token(request: Request) -> tuple[str, str]:
    """This browser's login-CSRF cookie value (kept, or a new one) and the form field for it."""
    value = request.cookies.get(_login_csrf_cookie(request)) or ""
    if not _LOGIN_CSRF_VALUE.fullmatch(value):
        value = random_token(32)
    return value, _login_csrf_mac(request, value)


def set_login_csrf_cookie(request: Request, response: Response, value: str) -> None:
    """Send the sign-in form's cookie half (HttpOnly: scripts never need it)."""
    response.set_cookie(
        _login_csrf_cookie(request),
        value,
        max_age=LOGIN_CSRF_MAX_AGE,
        path="/",
        secure=cookie_secure(request),
        httponly=True,
        samesite="lax",
    )


async def login_csrf_protect(request: Request) -> None:
    """The sign-in post carries the field that matches this browser's login cookie."""
    value = request.cookies.get(_login_csrf_cookie(request))
    submitted = (await request.form()).get(LOGIN_CSRF_FIELD)  # kept for the endpoint
    if (
        not value
        or not isinstance(submitted, str)
        or not constant_time_equal(submitted, _login_csrf_mac(request, value))
    ):
        raise CsrfFailed()


CurrentWebSession = Annotated[WebSession, Depends(current_web_session)]
WebPrincipal = Annotated[Principal, Depends(web_principal)]
CsrfProtected = Depends(csrf_protect)
LoginCsrfProtected = Depends(login_csrf_protect)
