"""Browser sessions: kept on the server, ended by logout, idle or absolute timeout.

The cookie carries a random value; only its SHA-256 digest is stored, so a copy
of the database holds no live cookie. Every sign-in starts a new session (a new
id, never a reused one, which closes session fixation). Each session has its own
CSRF token, which every state-changing form post must echo. A sensitive change
(bank account, roles) needs a sign-in younger than the re-authentication window.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from baoxiao.audit.service import record as audit
from baoxiao.identity.errors import CsrfFailed, ReauthenticationRequired, SessionInvalid
from baoxiao.identity.principal import Principal
from baoxiao.identity.service import principal_for
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.crypto import constant_time_equal, token_digest
from baoxiao.kernel.ids import new_id, random_token
from baoxiao.kernel.sessions import SessionPolicy
from baoxiao.models.identity import User, WebSession

# Touch last_seen_at at most this often: a write per page view would serialise readers.
TOUCH_EVERY = timedelta(seconds=30)


def start(
    session: Session,
    user: User,
    *,
    method: str,
    policy: SessionPolicy,
    ip: str | None = None,
    user_agent: str | None = None,
) -> tuple[WebSession, str]:
    """Begin a session for a user who has just proved who they are; returns the cookie value."""
    now = utcnow()
    plain = random_token(32)
    web = WebSession(
        id=new_id(),
        digest=token_digest(plain),
        user_id=user.id,
        method=method,
        csrf_token=random_token(32),
        created_at=now,
        last_seen_at=now,
        authenticated_at=now,
        expires_at=now + policy.absolute,
        ip=ip,
        user_agent=(user_agent or "")[:255] or None,
    )
    session.add(web)
    user.last_login_at = now
    session.flush()
    audit(
        session,
        actor=f"user:{user.id}",
        action="session:start",
        subject_type="web_session",
        subject_id=str(web.id),
        company_id=str(user.company_id),
        data={"method": method, "ip": ip},
    )
    return web, plain


def resolve(session: Session, plain: str, policy: SessionPolicy) -> tuple[WebSession, Principal]:
    """The live session behind a cookie value and its principal, or SessionInvalid."""
    stmt = select(WebSession).where(WebSession.digest == token_digest(plain))
    web = session.scalars(stmt).first()
    now = utcnow()
    # A timed-out session is refused by the clock alone: the refusal is an error response,
    # whose transaction rolls back, so nothing is written here.
    if (
        web is None
        or web.ended_at is not None
        or now >= web.expires_at
        or now - web.last_seen_at >= policy.idle
        or not web.user.active
    ):
        raise SessionInvalid()
    if now - web.last_seen_at >= TOUCH_EVERY:
        web.last_seen_at = now
    principal = principal_for(web.user)
    return web, _with_session(principal, web.id)


def end(session: Session, web: WebSession, reason: str = "logout") -> None:
    """End one session (logout); ending an ended session changes nothing."""
    if web.ended_at is None:
        web.ended_at = utcnow()
        web.end_reason = reason
        session.flush()
        _audit(session, web, "session:end", reason=reason)


def end_all_for_user(session: Session, user_id: uuid.UUID, reason: str) -> int:
    """End every live session of a user (deactivation, password change); returns how many."""
    now = utcnow()
    result = session.execute(
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
        .execution_options(synchronize_session="fetch")
    )
    return int(getattr(result, "rowcount", 0) or 0)


def check_csrf(web: WebSession, submitted: str | None) -> None:
    """Refuse a state-changing post whose CSRF token is missing or not this session's."""
    if not submitted or not constant_time_equal(submitted, web.csrf_token):
        raise CsrfFailed()


def confirm_identity(session: Session, web: WebSession, method: str = "password") -> None:
    """The person has just proved who they are again (password or SSO): restart the window."""
    web.authenticated_at = utcnow()
    session.flush()
    _audit(session, web, "session:confirm", method=method)


def _audit(session: Session, web: WebSession, action: str, **data: str) -> None:
    """An audit record of the session's own person about the session."""
    audit(
        session,
        actor=f"user:{web.user_id}",
        action=action,
        subject_type="web_session",
        subject_id=str(web.id),
        company_id=str(web.user.company_id),
        data=data,
    )


def recently_authenticated(web: WebSession, policy: SessionPolicy) -> bool:
    """Was the sign-in (or the last confirmation) within the re-auth window?"""
    return utcnow() - web.authenticated_at <= policy.reauth


def require_recent_authentication(web: WebSession, policy: SessionPolicy) -> None:
    """Sensitive changes need a sign-in or confirmation within the re-auth window."""
    if not recently_authenticated(web, policy):
        raise ReauthenticationRequired()


def _with_session(principal: Principal, web_session_id: uuid.UUID) -> Principal:
    return replace(principal, web_session_id=web_session_id)
