"""Sign-in and API tokens."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.audit.service import record as audit
from baoxiao.identity.errors import (
    InsufficientScope,
    InvalidCredentials,
    InvalidToken,
    TokenNotFound,
    UnknownScope,
)
from baoxiao.identity.passwords import hash_password, needs_rehash, verify_password
from baoxiao.identity.principal import Grant, Principal
from baoxiao.identity.scopes import SCOPES
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.crypto import token_digest
from baoxiao.kernel.ids import new_id, random_token
from baoxiao.models.identity import ApiToken, DataScope, User

TOKEN_PREFIX = "bx_"


def principal_for(user: User, token: ApiToken | None = None) -> Principal:
    """The caller behind a user; a scoped token narrows what its endpoints allow."""
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        company_id=user.company_id,
        employee_id=user.employee_id,
        roles=frozenset((r.role, r.company_id) for r in user.roles),
        grants=frozenset(
            Grant(r.role, r.company_id, r.scope or DataScope.COMPANY.value, r.department_id)
            for r in user.roles
        ),
        token_id=token.id if token is not None else None,
        token_scopes=frozenset(token.scopes) if token is not None and token.scopes else None,
        locale=user.locale,
    )


def issue_token(
    session: Session,
    user: User,
    *,
    name: str,
    kind: str = "personal",
    ttl: timedelta | None = None,
    scopes: list[str] | None = None,
) -> tuple[ApiToken, str]:
    """Create a token; the plain value is returned once and never stored.

    No scopes (login tokens, tests) means no limit beyond the user's roles.
    """
    unknown = sorted(set(scopes or []) - set(SCOPES))
    if unknown:
        raise UnknownScope(scopes=unknown)
    plain = TOKEN_PREFIX + random_token(32)
    token = ApiToken(
        id=new_id(),
        user_id=user.id,
        name=name,
        digest=token_digest(plain),
        prefix=plain[:10],
        kind=kind,
        expires_at=utcnow() + ttl if ttl else None,
        scopes=sorted(set(scopes or [])),
    )
    session.add(token)
    session.flush()
    return token, plain


def require_narrower_scopes(principal: Principal, scopes: list[str]) -> None:
    """A scoped token may only mint tokens within its own scopes (no escalation)."""
    if principal.token_scopes is not None and not set(scopes) <= principal.token_scopes:
        raise InsufficientScope(required=",".join(sorted(set(scopes) - principal.token_scopes)))


def audit_token_issued(session: Session, principal: Principal, token: ApiToken) -> None:
    audit(
        session,
        actor=principal.actor,
        action="token:issue",
        subject_type="api_token",
        subject_id=str(token.id),
        company_id=str(principal.company_id),
        data={"user_id": str(token.user_id), "name": token.name, "scopes": list(token.scopes)},
    )


def check_password(session: Session, username: str, password: str) -> User:
    """The active local account with this username and password, or InvalidCredentials.

    The one place a local password is checked, for API tokens and browser sign-in alike.
    """
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None or not user.active or not verify_password(user.password_hash, password):
        raise InvalidCredentials()
    assert user.password_hash is not None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def login(session: Session, username: str, password: str, ttl: timedelta) -> tuple[ApiToken, str]:
    """Check a local password and issue a short-lived login token."""
    user = check_password(session, username, password)
    user.last_login_at = utcnow()
    token, plain = issue_token(session, user, name="login", kind="login", ttl=ttl)
    audit(
        session,
        actor=f"user:{user.id}",
        action="user:login",
        subject_type="user",
        subject_id=str(user.id),
        company_id=str(user.company_id),
        data={"token_id": str(token.id)},
    )
    return token, plain


def authenticate_token(session: Session, plain: str) -> Principal:
    """Resolve a bearer token to its principal, or refuse."""
    if not plain.startswith(TOKEN_PREFIX):
        raise InvalidToken()
    token = session.scalars(select(ApiToken).where(ApiToken.digest == token_digest(plain))).first()
    now = utcnow()
    if (
        token is None
        or token.revoked_at is not None
        or (token.expires_at is not None and token.expires_at <= now)
        or not token.user.active
    ):
        raise InvalidToken()
    # Touch last-used at most once a minute: a write per request would serialise readers.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = now
    return principal_for(token.user, token)


def revoke_token(session: Session, principal: Principal, token_id: uuid.UUID) -> None:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != principal.user_id:
        raise TokenNotFound()
    revoke(session, token, actor=principal.actor, company_id=principal.company_id)


def revoke(session: Session, token: ApiToken, *, actor: str, company_id: uuid.UUID) -> None:
    """Revoke a token once and audit it; revoking a revoked token changes nothing."""
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit(
            session,
            actor=actor,
            action="token:revoke",
            subject_type="api_token",
            subject_id=str(token.id),
            company_id=str(company_id),
            data={"user_id": str(token.user_id)},
        )
