"""Failed sign-ins: lockout per account, throttling per client address.

A failed attempt must be remembered although the request that failed ends in an
error, whose transaction is normally rolled back. `remember_failure` therefore
calls `kernel.db.keep_despite_failure`: the caller's work so far is dropped, and the
counter written next is committed by the transaction's owner (kernel.routing or
`Database.transaction`) when the sign-in error ends the request. It is called only
on the way to raising that error, when the caller's work would be dropped anyway.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from baoxiao.audit.service import record as audit
from baoxiao.identity.errors import AccountLocked, SignInThrottled
from baoxiao.identity.runtime import sign_in_policy
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.db import keep_despite_failure
from baoxiao.models.identity import SignInThrottle

log = logging.getLogger("baoxiao.signin")
ACCOUNT = "account"
IP = "ip"


def account_key(username: str) -> str:
    return username.strip().lower()[:255]


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


def guard(session: Session, username: str, ip: str | None) -> None:
    """Refuse an attempt on a locked account or from a throttled address."""
    policy = sign_in_policy(session)
    now = utcnow()
    account = session.get(SignInThrottle, (ACCOUNT, account_key(username)))
    if account is not None and account.locked_until is not None and account.locked_until > now:
        raise AccountLocked(retry_after=_seconds_until(account.locked_until, now))
    if ip:
        row = session.get(SignInThrottle, (IP, ip[:255]))
        if row is not None and row.failures >= policy.ip_limit:
            reopens = row.window_started_at + policy.ip_window
            if reopens > now:
                raise SignInThrottled(retry_after=_seconds_until(reopens, now))


def reset_account(session: Session, username: str) -> None:
    """A successful sign-in clears the account's failures (in the caller's transaction)."""
    session.execute(
        delete(SignInThrottle).where(
            SignInThrottle.scope == ACCOUNT, SignInThrottle.key == account_key(username)
        )
    )


def remember_failure(session: Session, username: str, ip: str | None) -> None:
    """Count a failed attempt; it is kept although the sign-in then fails."""
    policy = sign_in_policy(session)
    keep_despite_failure(session)
    now = utcnow()
    account = _row(session, ACCOUNT, account_key(username), now)
    if now - account.window_started_at >= policy.lock_for:
        account.failures, account.window_started_at = 0, now
    account.failures += 1
    account.last_failure_at = now
    log.warning("sign-in failed for %r from %s", account.key, ip)
    if account.failures >= policy.lock_after:
        account.locked_until = now + policy.lock_for
        account.failures, account.window_started_at = 0, now
        audit(
            session,
            actor=f"ip:{ip}" if ip else "anonymous",
            action="sign_in:account_locked",
            subject_type="account",
            subject_id=account.key,
            company_id=None,
            data={"until": account.locked_until.isoformat(), "after": policy.lock_after},
        )
    if ip:
        row = _row(session, IP, ip[:255], now)
        if now - row.window_started_at >= policy.ip_window:
            row.failures, row.window_started_at = 0, now
        row.failures += 1
        row.last_failure_at = now


def _row(session: Session, scope: str, key: str, now: datetime) -> SignInThrottle:
    """The counter row, created if missing, locked against concurrent failures."""
    values = {
        "scope": scope,
        "key": key,
        "failures": 0,
        "window_started_at": now,
        "last_failure_at": now,
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(SignInThrottle).values(**values).on_conflict_do_nothing())
    stmt = (
        select(SignInThrottle)
        .where(SignInThrottle.scope == scope, SignInThrottle.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.scalars(stmt).one()
