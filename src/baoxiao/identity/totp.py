"""Time-based one-time passwords (RFC 6238) as a second sign-in factor.

The secret is stored as a SecretBox token bound to the user; it counts once the
person has confirmed it with a first code. A code is accepted for the current
30-second step and one step either side, and each step only once (the last
accepted step is kept). Recovery codes are random, shown once, stored as SHA-256
digests and used up one by one.
"""

from __future__ import annotations

import secrets

import pyotp
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from baoxiao.audit.service import record as audit
from baoxiao.identity.errors import (
    TotpAlreadyEnabled,
    TotpInvalid,
    TotpNotEnabled,
    TotpNotEnrolled,
)
from baoxiao.identity.runtime import secret_box
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.crypto import constant_time_equal, token_digest
from baoxiao.kernel.ids import new_id
from baoxiao.models.identity import RecoveryCode, User

ISSUER = "Baoxiao"
RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def _context(user: User) -> str:
    return f"totp:{user.id}"


def enroll(session: Session, user: User) -> tuple[str, str]:
    """Start (or restart) enrolment; returns the secret and its otpauth:// URI for a QR."""
    if user.totp_enabled_at is not None:
        raise TotpAlreadyEnabled()
    secret = pyotp.random_base32()
    user.totp_secret = secret_box(session).encrypt(secret, context=_context(user))
    user.totp_last_step = None
    session.flush()
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)
    return secret, uri


def confirm(session: Session, user: User, code: str) -> list[str]:
    """Turn TOTP on after a first good code; returns fresh recovery codes (shown once)."""
    if user.totp_enabled_at is not None:
        raise TotpAlreadyEnabled()
    if user.totp_secret is None:
        raise TotpNotEnrolled()
    if not _check_code(session, user, code):
        raise TotpInvalid()
    user.totp_enabled_at = utcnow()
    codes = _new_recovery_codes(session, user)
    _audit(session, user, "user:totp_enable")
    return codes


def disable(session: Session, user: User) -> None:
    """Turn TOTP off (the caller has checked the password again)."""
    if user.totp_enabled_at is None and user.totp_secret is None:
        raise TotpNotEnabled()
    _clear(session, user)
    _audit(session, user, "user:totp_disable")


def reset(session: Session, user: User, *, actor: str) -> bool:
    """An administrator clears someone's second factor (a lost phone, no recovery code
    left): they sign in with their password and enrol again. False if none was set,
    so a repeated reset changes nothing."""
    if user.totp_enabled_at is None and user.totp_secret is None:
        return False
    _clear(session, user)
    _audit(session, user, "user:totp_reset", actor=actor)
    return True


def _clear(session: Session, user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def regenerate_recovery_codes(session: Session, user: User) -> list[str]:
    """Replace all recovery codes with new ones."""
    if user.totp_enabled_at is None:
        raise TotpNotEnabled()
    codes = _new_recovery_codes(session, user)
    _audit(session, user, "user:totp_recovery_codes")
    return codes


def remaining_recovery_codes(session: Session, user: User) -> int:
    stmt = select(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
    )
    return len(list(session.scalars(stmt)))


def verify(session: Session, user: User, code: str) -> bool:
    """A second factor for sign-in: a current TOTP code or an unused recovery code."""
    cleaned = code.strip().replace(" ", "")
    if cleaned.isdigit():
        return _check_code(session, user, cleaned)
    return _use_recovery_code(session, user, cleaned)


def current_code(session: Session, user: User) -> str:
    """The code an authenticator shows right now (for tests and the demo)."""
    return pyotp.TOTP(_secret(session, user)).at(utcnow())


def _secret(session: Session, user: User) -> str:
    assert user.totp_secret is not None
    return secret_box(session).decrypt(user.totp_secret, context=_context(user))


def _check_code(session: Session, user: User, code: str) -> bool:
    totp = pyotp.TOTP(_secret(session, user))
    now = utcnow()
    step = totp.timecode(now)
    for offset in (0, -1, 1):
        candidate = step + offset
        if user.totp_last_step is not None and candidate <= user.totp_last_step:
            continue
        if constant_time_equal(totp.generate_otp(candidate), code.strip()):
            user.totp_last_step = candidate
            return True
    return False


def _normalise(code: str) -> str:
    return code.replace("-", "").lower()


def _new_recovery_codes(session: Session, user: User) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        session.add(RecoveryCode(id=new_id(), user_id=user.id, digest=token_digest(raw)))
    session.flush()
    return codes


def _use_recovery_code(session: Session, user: User, code: str) -> bool:
    stmt = select(RecoveryCode).where(
        RecoveryCode.user_id == user.id,
        RecoveryCode.digest == token_digest(_normalise(code)),
        RecoveryCode.used_at.is_(None),
    )
    found = session.scalars(stmt.with_for_update()).first()
    if found is None:
        return False
    found.used_at = utcnow()
    _audit(session, user, "user:recovery_code_used")
    return True


def _audit(session: Session, user: User, action: str, *, actor: str | None = None) -> None:
    audit(
        session,
        actor=actor or f"user:{user.id}",
        action=action,
        subject_type="user",
        subject_id=str(user.id),
        company_id=str(user.company_id),
        data={},
    )
