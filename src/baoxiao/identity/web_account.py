"""Your own sign-in security in the browser: password, two-step sign-in (TOTP) and
personal API tokens.

Thin pages over the services the /api/v1/me and /api/v1/tokens endpoints use, so the
rules are the same: the current password proves it is you (throttled like sign-in; a
wrong one is counted even though the page answers with an error), recovery codes and
token values are shown once, every change is audited.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

import segno
from fastapi import Form, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.identity import admin, service, totp
from baoxiao.identity.deps import CsrfProtected, DbSession, WebPrincipal, client_ip
from baoxiao.identity.principal import Principal
from baoxiao.identity.scopes import SCOPES
from baoxiao.kernel.errors import AppError, ValidationFailed
from baoxiao.models.identity import ApiToken, User
from baoxiao.web.pages import field_errors, lang_of, page_router, redirect, render

router = page_router(prefix="/account/security")
HERE = "/account/security"
TOKEN_DAYS = (30, 90, 180, 366)


def _user(session: Session, principal: Principal) -> User:
    user = session.get(User, principal.user_id)
    assert user is not None
    return user


def _page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    status_code: int = 200,
    problem: AppError | None = None,
    **shown: Any,
) -> Response:
    """The security page; `shown` carries what appears once (codes, a new token)."""
    user = _user(session, principal)
    tokens = session.scalars(
        select(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.kind == "personal")
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc())
    ).all()
    return render(
        request,
        "identity/security.html",
        status_code=status_code,
        account=user,
        totp_on=user.totp_enabled_at is not None,
        totp_pending=user.totp_enabled_at is None and user.totp_secret is not None,
        recovery_left=totp.remaining_recovery_codes(session, user),
        tokens=tokens,
        has_password=user.password_hash is not None,
        scopes=sorted(SCOPES),
        scope_help=SCOPES,
        token_days=TOKEN_DAYS,
        problem=problem.render(lang_of(request)) if problem else None,
        problem_code=problem.code if problem else None,
        problem_fields=field_errors(problem, lang_of(request)) if problem else {},
        **shown,
    )


def _failed(request: Request, session: Session, principal: Principal, err: AppError) -> Response:
    """Show the page again with what went wrong. No rollback here: a wrong password was
    recorded for the lockout and the request's end keeps that record."""
    return _page(request, session, principal, status_code=err.status, problem=err)


@router.get("")
def security(request: Request, principal: WebPrincipal, session: DbSession) -> Response:
    """Password, two-step sign-in and API tokens of the signed-in person."""
    return _page(request, session, principal)


@router.post("/password", dependencies=[CsrfProtected])
def change_password(
    request: Request,
    principal: WebPrincipal,
    session: DbSession,
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
    new_password_again: Annotated[str, Form()] = "",
) -> Response:
    """Change the password; other browser sessions and login tokens end."""
    try:
        if new_password != new_password_again:
            raise ValidationFailed(
                errors=[{"field": "new_password_again", "message": "the two entries differ"}]
            )
        service.change_password(
            session, principal, current_password, new_password, ip=client_ip(request)
        )
    except AppError as err:
        return _failed(request, session, principal, err)
    return redirect(f"{HERE}?done=password", request)


@router.post("/totp", dependencies=[CsrfProtected])
def start_totp(
    request: Request,
    principal: WebPrincipal,
    session: DbSession,
    password: Annotated[str, Form()] = "",
) -> Response:
    """Start two-step sign-in: a QR code to scan, then a first code to confirm."""
    try:
        user = service.verify_own_password(session, principal, password, ip=client_ip(request))
        secret, uri = totp.enroll(session, user)
    except AppError as err:
        return _failed(request, session, principal, err)
    qr = segno.make(uri, error="m").svg_inline(scale=5, dark="#111827", light="#ffffff")
    return _page(request, session, principal, enrolment={"secret": secret, "qr": qr})


@router.post("/totp/confirm", dependencies=[CsrfProtected])
def confirm_totp(
    request: Request, principal: WebPrincipal, session: DbSession, code: Annotated[str, Form()] = ""
) -> Response:
    """Turn two-step sign-in on with the first code; the recovery codes are shown once."""
    try:
        codes = totp.confirm(session, _user(session, principal), code)
    except AppError as err:
        return _failed(request, session, principal, err)
    return _page(request, session, principal, recovery_codes=codes)


@router.post("/totp/recovery-codes", dependencies=[CsrfProtected])
def new_recovery_codes(
    request: Request,
    principal: WebPrincipal,
    session: DbSession,
    password: Annotated[str, Form()] = "",
) -> Response:
    """Replace the recovery codes; the new ones are shown once."""
    try:
        user = service.verify_own_password(session, principal, password, ip=client_ip(request))
        codes = totp.regenerate_recovery_codes(session, user)
    except AppError as err:
        return _failed(request, session, principal, err)
    return _page(request, session, principal, recovery_codes=codes)


@router.post("/totp/disable", dependencies=[CsrfProtected])
def disable_totp(
    request: Request,
    principal: WebPrincipal,
    session: DbSession,
    password: Annotated[str, Form()] = "",
) -> Response:
    """Turn two-step sign-in off."""
    try:
        user = service.verify_own_password(session, principal, password, ip=client_ip(request))
        totp.disable(session, user)
    except AppError as err:
        return _failed(request, session, principal, err)
    return redirect(f"{HERE}?done=totp_off", request)


@router.post("/tokens", dependencies=[CsrfProtected])
def create_token(
    request: Request,
    principal: WebPrincipal,
    session: DbSession,
    name: Annotated[str, Form()] = "",
    scope: Annotated[list[str] | None, Form()] = None,
    expires_in_days: Annotated[int, Form()] = 90,
    password: Annotated[str, Form()] = "",
) -> Response:
    """A named, scoped personal token; its value is shown once. A new credential is a
    sensitive change: the password, unless the sign-in or last confirmation is recent."""
    try:  # first, and without a rollback: a wrong password counts towards lockout
        admin.confirm_sensitive(
            session,
            principal,
            request.app.state.settings.session_policy,
            password,
            ip=client_ip(request),
        )
    except AppError as err:
        return _failed(request, session, principal, err)
    try:
        chosen = sorted(set(scope or []))
        if not name.strip() or len(name) > 100:
            raise ValidationFailed(errors=[{"field": "name", "message": "1 to 100 characters"}])
        if not chosen:
            raise ValidationFailed(errors=[{"field": "scope", "message": "choose a scope"}])
        if expires_in_days not in TOKEN_DAYS:
            raise ValidationFailed(
                errors=[{"field": "expires_in_days", "message": "choose a listed validity"}]
            )
        service.require_narrower_scopes(principal, chosen)
        token, plain = service.issue_token(
            session,
            _user(session, principal),
            name=name.strip(),
            ttl=timedelta(days=expires_in_days),
            scopes=chosen,
        )
        service.audit_token_issued(session, principal, token)
    except AppError as err:
        session.rollback()
        return _failed(request, session, principal, err)
    return _page(request, session, principal, new_token={"name": token.name, "value": plain})


@router.post("/tokens/{token_id}/revoke", dependencies=[CsrfProtected])
def revoke_token(
    request: Request, token_id: uuid.UUID, principal: WebPrincipal, session: DbSession
) -> Response:
    """Revoke one of your tokens; it stops working on its next request."""
    service.revoke_token(session, principal, token_id)
    return redirect(f"{HERE}?done=token_revoked", request)
