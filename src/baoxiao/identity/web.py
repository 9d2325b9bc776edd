"""Sign-in, sign-out and the language switcher of the web app."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request, Response
from sqlalchemy.orm import Session

from baoxiao.identity import deps, oidc, preferences, sessions, sso_web
from baoxiao.identity.service import check_password
from baoxiao.kernel.errors import AppError
from baoxiao.web.pages import lang_of, page_router, redirect, render, safe_next

router = page_router()


def _demo_logins(request: Request) -> list[tuple[str, str]]:
    raw: str = request.app.state.settings.demo_logins
    pairs = [item.partition(":") for item in raw.split(",") if item.strip()]
    return [(user.strip(), who.strip()) for user, _sep, who in pairs]


def _login_form(
    request: Request, session: Session, status_code: int = 200, **context: Any
) -> Response:
    """The sign-in page, with both halves of its CSRF pair (cookie and hidden field)."""
    cookie_value, field = deps.login_csrf_token(request)
    response = render(
        request,
        "identity/login.html",
        status_code=status_code,
        login_csrf=field,
        # The template renders no SSO button while the list is empty.
        sso_providers=oidc.providers_for_login(session),
        demo_logins=_demo_logins(request),
        demo_password=request.app.state.settings.demo_password,
        **context,
    )
    deps.set_login_csrf_cookie(request, response, cookie_value)
    return response


@router.get("/login")
def login_page(request: Request, session: deps.DbSession, next: str = "/") -> Response:
    """The sign-in form (already signed in: straight on)."""
    try:
        deps.current_web_session(request, session)
        return redirect(safe_next(next))
    except AppError:
        pass
    return _login_form(request, session, next=safe_next(next))


@router.post("/login", dependencies=[deps.LoginCsrfProtected])
def login(
    request: Request,
    session: deps.DbSession,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    totp_code: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password and start a browser session; errors show in the form."""
    try:
        user = check_password(
            session,
            username.strip(),
            password,
            totp_code=totp_code.strip() or None,
            ip=deps.client_ip(request),
        )
    except AppError as err:
        return _login_form(
            request,
            session,
            status_code=err.status,
            error=err,
            message=err.render(lang_of(request)),
            username=username,
            next=safe_next(next),
            show_totp=err.code in ("totp_required", "totp_invalid") or bool(totp_code),
        )
    deps.end_previous_session(request, session)
    _web, plain = sessions.start(
        session,
        user,
        method="password",
        policy=request.app.state.settings.session_policy,
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )
    response = redirect(safe_next(next))
    deps.set_session_cookie(request, response, plain)
    return response


@router.post("/logout", dependencies=[deps.CsrfProtected])
def logout(request: Request, web: deps.CurrentWebSession, session: deps.DbSession) -> Response:
    """End this browser session; SSO sessions also sign out at the provider."""
    return sso_web.sign_out(request, session, web, fallback="/login")


@router.post("/language", dependencies=[deps.CsrfProtected])
def choose_language(
    request: Request,
    principal: deps.WebPrincipal,
    session: deps.DbSession,
    locale: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Save the language the person chose for every later page."""
    preferences.set_locale(session, principal, locale)
    return redirect(safe_next(next))
