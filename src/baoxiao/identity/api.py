"""Sign-in and token endpoints."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import APIRouter, Request, status
from sqlalchemy import select

from baoxiao.identity import admin, service
from baoxiao.identity.deps import CurrentPrincipal, DbSession, client_ip
from baoxiao.identity.schemas import (
    LoginRequest,
    MeRead,
    RoleRead,
    TokenCreate,
    TokenIssued,
    TokenRead,
)
from baoxiao.kernel.routing import TransactionalRoute
from baoxiao.models.identity import ApiToken, User

router = APIRouter(route_class=TransactionalRoute, tags=["identity"])


@router.post("/auth/token", response_model=TokenIssued, status_code=status.HTTP_201_CREATED)
def login(body: LoginRequest, request: Request, session: DbSession) -> TokenIssued:
    """Exchange a username and password for a bearer token (local accounts)."""
    ttl = timedelta(hours=request.app.state.settings.login_token_hours)
    token, plain = service.login(
        session,
        body.username,
        body.password,
        ttl,
        totp_code=body.totp_code,
        ip=client_ip(request),
    )
    return TokenIssued(id=token.id, access_token=plain, expires_at=token.expires_at)


@router.get("/me", response_model=MeRead)
def me(principal: CurrentPrincipal) -> MeRead:
    """The caller's account and roles."""
    return MeRead(
        user_id=principal.user_id,
        username=principal.username,
        display_name=principal.display_name,
        company_id=principal.company_id,
        employee_id=principal.employee_id,
        roles=[RoleRead(role=r, company_id=c) for r, c in sorted(principal.roles, key=str)],
    )


@router.post("/tokens", response_model=TokenIssued, status_code=status.HTTP_201_CREATED)
def create_token(
    body: TokenCreate, request: Request, principal: CurrentPrincipal, session: DbSession
) -> TokenIssued:
    """Create a named, scoped personal API token for scripts and integrations.

    A new credential is a sensitive change: send `current_password`, or call with a login
    token issued within the re-authentication window (or a personal token, which can
    only mint narrower ones)."""
    admin.confirm_sensitive(
        session,
        principal,
        request.app.state.settings.session_policy,
        body.current_password,
        ip=client_ip(request),
    )
    user = session.get(User, principal.user_id)
    assert user is not None
    ttl = timedelta(days=body.expires_in_days)
    service.require_narrower_scopes(principal, body.scopes)
    token, plain = service.issue_token(session, user, name=body.name, ttl=ttl, scopes=body.scopes)
    service.audit_token_issued(session, principal, token)
    return TokenIssued(id=token.id, access_token=plain, expires_at=token.expires_at)


@router.get("/tokens", response_model=list[TokenRead])
def list_tokens(principal: CurrentPrincipal, session: DbSession) -> list[ApiToken]:
    """The caller's tokens (values are never shown again)."""
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == principal.user_id)
            .order_by(ApiToken.created_at)
        )
    )


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(token_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> None:
    """Revoke one of the caller's tokens."""
    service.revoke_token(session, principal, token_id)
