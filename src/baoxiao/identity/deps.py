"""FastAPI dependencies for the request's session and caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session

from baoxiao.identity import sessions
from baoxiao.identity.errors import InsufficientScope, InvalidToken, SessionInvalid
from baoxiao.identity.principal import Principal
from baoxiao.identity.scopes import required_scope
from baoxiao.identity.service import authenticate_token
from baoxiao.kernel.errors import Unauthorized
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


CurrentWebSession = Annotated[WebSession, Depends(current_web_session)]
WebPrincipal = Annotated[Principal, Depends(web_principal)]
CsrfProtected = Depends(csrf_protect)
