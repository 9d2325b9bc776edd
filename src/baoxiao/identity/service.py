"""Sign-in and API tokens."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from baoxiao.audit.service import record as audit
from baoxiao.identity import throttling, totp
from baoxiao.identity.errors import (
    InsufficientScope,
    InvalidCredentials,
    InvalidToken,
    NoLocalPassword,
    TokenNotFound,
    TotpInvalid,
    TotpRequired,
    UnknownScope,
)
from baoxiao.identity.passwords import check_policy, hash_password, needs_rehash, verify_password
from baoxiao.identity.principal import Grant, Principal
from baoxiao.identity.scopes import SCOPES
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.crypto import token_digest
from baoxiao.kernel.ids import new_id, random_token
from baoxiao.models.identity import ApiToken, DataScope, User, WebSession

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
        token_kind=token.kind if token is not None else None,
        token_issued_at=token.created_at if token is not None else None,
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


def check_password(
    session: Session,
    username: str,
    password: str,
    *,
    totp_code: str | None = None,
    ip: str | None = None,
) -> User:
    """The active local account with this username and password (and TOTP code when
    the account has one), or a sign-in error.

    The one place a local password is checked, for API tokens and browser sign-in alike.
    Raises AccountLocked / SignInThrottled (429) before looking at the password,
    InvalidCredentials, TotpRequired or TotpInvalid (401). A wrong password or code is
    counted towards lockout and kept although the request fails, which DROPS THE
    CALLER'S EARLIER WORK (see identity/throttling.py): call this before any other change.
    """
    throttling.guard(session, username, ip)
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None or not user.active or not verify_password(user.password_hash, password):
        throttling.remember_failure(session, username, ip)
        raise InvalidCredentials()
    if user.totp_enabled_at is not None:
        if not totp_code:
            raise TotpRequired()
        if not totp.verify(session, user, totp_code):
            throttling.remember_failure(session, username, ip)
            raise TotpInvalid()
    throttling.reset_account(session, username)
    assert user.password_hash is not None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def set_password(session: Session, user: User, new_password: str) -> None:
    """Give an account a new password that meets the policy (set or change)."""
    check_policy(new_password, user.username)
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    session.flush()


def change_password(
    session: Session,
    principal: Principal,
    current_password: str,
    new_password: str,
    *,
    ip: str | None = None,
) -> int:
    """Change the caller's own password after checking the current one; ends the
    caller's other browser sessions and login tokens. Returns how many were ended."""
    user = verify_own_password(session, principal, current_password, ip=ip)
    set_password(session, user, new_password)
    ended = _end_other_sign_ins(session, principal)
    audit(
        session,
        actor=principal.actor,
        action="user:password_change",
        subject_type="user",
        subject_id=str(user.id),
        company_id=str(user.company_id),
        data={"sign_ins_ended": ended},
    )
    return ended


def verify_own_password(
    session: Session, principal: Principal, password: str, *, ip: str | None = None
) -> User:
    """The caller's account once their password is checked again (throttled like
    sign-in; a failure ends the caller's transaction, see check_password)."""
    user = session.get(User, principal.user_id)
    assert user is not None
    if user.password_hash is None:
        raise NoLocalPassword()
    throttling.guard(session, user.username, ip)
    if not verify_password(user.password_hash, password):
        throttling.remember_failure(session, user.username, ip)
        raise InvalidCredentials()
    throttling.reset_account(session, user.username)  # as a successful sign-in does
    return user


def revoke_login_tokens(session: Session, user_id: uuid.UUID) -> int:
    """Revoke the user's live login tokens (not their named personal or system tokens)."""
    result = session.execute(
        update(ApiToken)
        .where(
            ApiToken.user_id == user_id,
            ApiToken.kind == "login",
            ApiToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _end_other_sign_ins(session: Session, principal: Principal) -> int:
    now = utcnow()
    sessions_stmt = update(WebSession).where(
        WebSession.user_id == principal.user_id, WebSession.ended_at.is_(None)
    )
    if principal.web_session_id is not None:
        sessions_stmt = sessions_stmt.where(WebSession.id != principal.web_session_id)
    tokens_stmt = update(ApiToken).where(
        ApiToken.user_id == principal.user_id,
        ApiToken.kind == "login",
        ApiToken.revoked_at.is_(None),
    )
    if principal.token_id is not None:
        tokens_stmt = tokens_stmt.where(ApiToken.id != principal.token_id)
    ended = session.execute(
        sessions_stmt.values(ended_at=now, end_reason="password_change").execution_options(
            synchronize_session="fetch"
        )
    )
    revoked = session.execute(
        tokens_stmt.values(revoked_at=now).execution_options(synchronize_session="fetch")
    )
    return int(getattr(ended, "rowcount", 0) or 0) + int(getattr(revoked, "rowcount", 0) or 0)


def login(
    session: Session,
    username: str,
    password: str,
    ttl: timedelta,
    *,
    totp_code: str | None = None,
    ip: str | None = None,
) -> tuple[ApiToken, str]:
    """Check a local password (and TOTP code) and issue a short-lived login token."""
    user = check_password(session, username, password, totp_code=totp_code, ip=ip)
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
    # One statement for the token, its user and the user's roles: this runs on every request.
    token = (
        session.scalars(
            select(ApiToken)
            .where(ApiToken.digest == token_digest(plain))
            .options(joinedload(ApiToken.user).joinedload(User.roles))
        )
        .unique()
        .first()
    )
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
