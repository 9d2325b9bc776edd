"""Browser sign-in routes: OpenID Connect redirects, logout, re-authentication.

These are page routes (redirects and problem+json for now; the web UI renders its
own pages around them). They run in the request transaction like the API.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.identity import oidc, providers, sessions, sso
from baoxiao.identity.deps import (
    CsrfProtected,
    CurrentWebSession,
    DbSession,
    WebPrincipal,
    clear_session_cookie,
    client_ip,
    cookie_secure,
    current_web_session,
    end_previous_session,
    session_policy,
    set_session_cookie,
)
from baoxiao.identity.errors import (
    OidcStateMismatch,
    ProviderDisabled,
    ProviderNotFound,
    ProviderUnreachable,
    SsoReauthOtherAccount,
)
from baoxiao.identity.service import check_password
from baoxiao.kernel.crypto import SecretBox
from baoxiao.kernel.routing import TransactionalRoute
from baoxiao.models.identity import IdentityProvider, User, WebSession

log = logging.getLogger("baoxiao.signin")
router = APIRouter(route_class=TransactionalRoute, tags=["sign-in"])

LOGIN_COOKIE = "bx_oidc"
LOGIN_COOKIE_PATH = "/auth/oidc/"


def safe_next(value: str | None) -> str:
    """Only a path on this site: no scheme, no host, no `//` or `/\\` tricks."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(ord(ch) < 32 or ord(ch) == 127 or ch == "\\" for ch in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


def base_url(request: Request) -> str:
    configured: str | None = request.app.state.settings.public_url
    return (configured or str(request.base_url)).rstrip("/")


def callback_uri(base: str, provider_key: str) -> str:
    """The redirect URI to register at the provider."""
    return f"{base}/auth/oidc/{provider_key}/callback"


def signed_out_uri(base: str) -> str:
    """The post-logout redirect URI to register at the provider."""
    return f"{base}/auth/signed-out"


def _box(request: Request) -> SecretBox:
    box: SecretBox = request.app.state.settings.secret_box
    return box


def _ttl(request: Request) -> float:
    return float(request.app.state.settings.oidc_cache_seconds)


def _provider(session: Session, key: str) -> IdentityProvider:
    """The enabled provider, detached, its read transaction ended (providers.detach_for_io):
    the route talks to the provider next."""
    provider = session.scalars(select(IdentityProvider).where(IdentityProvider.key == key)).first()
    if provider is None:
        raise ProviderNotFound()
    if not provider.enabled:
        raise ProviderDisabled()
    return providers.detach_for_io(session, provider)


@router.get("/auth/oidc/{provider_key}/login")
def oidc_login(
    provider_key: str,
    request: Request,
    session: DbSession,
    next: str | None = None,
    prompt: str | None = None,
) -> Response:
    """Send the browser to the provider (state, nonce, PKCE S256)."""
    provider = _provider(session, provider_key)
    url, login = oidc.authorization_url(
        provider,
        _box(request),
        redirect_uri=callback_uri(base_url(request), provider.key),
        next_path=safe_next(next),
        ttl=_ttl(request),
        prompt=prompt if prompt in ("login", "consent", "select_account") else None,
    )
    return _to_provider(request, url, login)


@router.get("/auth/oidc/{provider_key}/reauth")
def oidc_reauth(
    provider_key: str, request: Request, session: DbSession, web: CurrentWebSession, next: str = "/"
) -> Response:
    """Confirm who you are at your provider before a sensitive change: it asks for the
    sign-in again (prompt=login, max_age=0), and this session counts as just signed in."""
    web_id, user_id = str(web.id), web.user_id
    if provider_key not in {o.key for o in oidc.providers_linked_to(session, user_id)}:
        raise ProviderNotFound()  # not one this person signs in with
    provider = _provider(session, provider_key)
    url, login = oidc.authorization_url(
        provider,
        _box(request),
        redirect_uri=callback_uri(base_url(request), provider.key),
        next_path=safe_next(next),
        ttl=_ttl(request),
        prompt="login",
        max_age=0,
        purpose=oidc.REAUTH,
        session_id=web_id,
    )
    return _to_provider(request, url, login)


def _to_provider(request: Request, url: str, login: oidc.LoginState) -> Response:
    """The redirect to the provider, with the login state sealed in this browser's cookie."""
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        LOGIN_COOKIE,
        login.seal(_box(request)),
        max_age=oidc.LOGIN_TTL_SECONDS,
        path=LOGIN_COOKIE_PATH,
        secure=cookie_secure(request),
        httponly=True,
        samesite="lax",
    )
    return response


@router.get("/auth/oidc/{provider_key}/callback", name="oidc_callback")
def oidc_callback(provider_key: str, request: Request, session: DbSession) -> Response:
    """Finish the sign-in: validate, find the user, start a session, go on to `next`
    (or, for a re-authentication, confirm the session the browser already has)."""
    provider = _provider(session, provider_key)
    box = _box(request)
    login = oidc.LoginState.open(box, request.cookies.get(LOGIN_COOKIE))
    signed_in = oidc.complete(
        provider,
        box,
        login,
        redirect_uri=callback_uri(base_url(request), provider.key),
        params=dict(request.query_params),
        ttl=_ttl(request),
    )
    if login.purpose == oidc.REAUTH:
        _confirm_session(request, session, provider, login, signed_in.claims)
        return _back(login)
    user = sso.sign_in_user(session, provider, signed_in.claims)
    end_previous_session(request, session)
    web, plain = sessions.start(
        session,
        user,
        method=f"oidc:{provider.key}",
        policy=session_policy(request),
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
    )
    web.id_token = box.encrypt(signed_in.id_token, context=f"id_token:{web.id}")
    response = _back(login)
    set_session_cookie(request, response, plain)
    return response


def _confirm_session(
    request: Request,
    session: Session,
    provider: IdentityProvider,
    login: oidc.LoginState,
    claims: dict[str, Any],
) -> None:
    """A re-authentication came back fresh (oidc.complete checked auth_time): if it is
    the person of the session that asked, in that session, restart its window."""
    web = current_web_session(request, session)
    if str(web.id) != login.session_id:
        raise OidcStateMismatch()  # begun in another session (or before a sign-out)
    if sso.linked_user_id(session, provider, claims) != web.user_id:
        raise SsoReauthOtherAccount()
    sessions.confirm_identity(session, web, method=f"oidc:{provider.key}")


def _back(login: oidc.LoginState) -> Response:
    response = RedirectResponse(login.next_path, status_code=303)
    response.delete_cookie(LOGIN_COOKIE, path=LOGIN_COOKIE_PATH, httponly=True, samesite="lax")
    return response


@router.post("/auth/logout", dependencies=[CsrfProtected])
def logout(request: Request, web: CurrentWebSession, session: DbSession) -> Response:
    """End this browser session; SSO sessions also sign out at the provider."""
    return sign_out(request, session, web, fallback="/")


def sign_out(request: Request, session: Session, web: WebSession, *, fallback: str) -> Response:
    """End the session and clear its cookie; an SSO session goes on to the provider's
    logout, any other to `fallback`. Shared by this route and the web app's sign-out."""
    target = provider_logout_url(request, session, web) or fallback
    sessions.end(session, web)
    response = RedirectResponse(target, status_code=303)
    clear_session_cookie(response)
    return response


def provider_logout_url(request: Request, session: Session, web: WebSession) -> str | None:
    if not web.method.startswith("oidc:"):
        return None
    key = web.method.removeprefix("oidc:")
    provider = session.scalars(select(IdentityProvider).where(IdentityProvider.key == key)).first()
    if provider is None:
        return None
    id_token = (
        _box(request).decrypt(web.id_token, context=f"id_token:{web.id}") if web.id_token else None
    )
    back = signed_out_uri(base_url(request))
    try:
        return oidc.end_session_url(provider, id_token, back, _ttl(request))
    except ProviderUnreachable as exc:  # logout here must work even when the IdP is down
        log.warning("no RP-initiated logout at %s: %s", provider.key, exc)
        return None


@router.get("/auth/session")
def current_session(web: CurrentWebSession, principal: WebPrincipal) -> dict[str, Any]:
    """Who is signed in to this browser, how, and the CSRF token for its forms."""
    return {
        "user_id": str(principal.user_id),
        "username": principal.username,
        "display_name": principal.display_name,
        "roles": sorted(principal.role_names),
        "method": web.method,
        "csrf_token": web.csrf_token,
        "authenticated_at": web.authenticated_at.isoformat(),
        "expires_at": web.expires_at.isoformat(),
    }


@router.get("/auth/signed-out")
def signed_out() -> Response:
    """Where the provider sends the browser back after logout."""
    return RedirectResponse("/", status_code=303)


@dataclass(frozen=True)
class ConfirmOptions:
    """How a signed-in person can confirm who they are, for the pages that ask."""

    password: bool  # a local password, for POST /auth/confirm
    providers: list[oidc.LoginOption]  # providers they sign in with, for .../reauth


def confirm_options(session: Session, user_id: uuid.UUID) -> ConfirmOptions:
    """The ways this user can confirm who they are again before a sensitive change."""
    user = session.get(User, user_id)
    return ConfirmOptions(
        password=user is not None and user.password_hash is not None,
        providers=oidc.providers_linked_to(session, user_id),
    )


async def _form_or_json(request: Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").startswith("application/json"):
        data = await request.json()
        return data if isinstance(data, dict) else {}
    return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}


FormOrJson = Annotated[dict[str, Any], Depends(_form_or_json)]


@router.post("/auth/confirm", dependencies=[CsrfProtected])
def confirm(
    request: Request,
    data: FormOrJson,
    web: CurrentWebSession,
    principal: WebPrincipal,
    session: DbSession,
) -> Response:
    """Confirm who you are again (password, and the TOTP code when it is on) before a
    sensitive change. A form post is redirected to `next`; JSON gets the new time."""
    password, code = data.get("password"), data.get("totp_code")
    check_password(
        session,
        principal.username,
        password if isinstance(password, str) else "",
        totp_code=code if isinstance(code, str) and code else None,
        ip=client_ip(request),
    )
    sessions.confirm_identity(session, web)
    if request.headers.get("content-type", "").startswith("application/json"):
        return JSONResponse({"authenticated_at": web.authenticated_at.isoformat()})
    return RedirectResponse(safe_next(data.get("next")), status_code=303)
