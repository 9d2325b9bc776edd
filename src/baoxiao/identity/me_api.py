"""The caller's own credentials: password change and TOTP two-step sign-in."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from sqlalchemy.orm import Session

from baoxiao.identity import service, totp
from baoxiao.identity.deps import CurrentPrincipal, DbSession, client_ip
from baoxiao.identity.principal import Principal
from baoxiao.identity.schemas import (
    PasswordChange,
    PasswordChanged,
    PasswordProof,
    RecoveryCodes,
    TotpCode,
    TotpEnrollment,
    TotpStatus,
)
from baoxiao.kernel.routing import TransactionalRoute
from baoxiao.models.identity import User

router = APIRouter(prefix="/me", route_class=TransactionalRoute, tags=["identity"])


def _user(session: Session, principal: Principal) -> User:
    user = session.get(User, principal.user_id)
    assert user is not None
    return user


@router.post("/password", response_model=PasswordChanged)
def change_password(
    body: PasswordChange, request: Request, principal: CurrentPrincipal, session: DbSession
) -> PasswordChanged:
    """Change your password (at least 10 characters, not your username, not a common one);
    your other browser sessions and login tokens end."""
    ended = service.change_password(
        session, principal, body.current_password, body.new_password, ip=client_ip(request)
    )
    return PasswordChanged(sign_ins_ended=ended)


@router.get("/totp", response_model=TotpStatus)
def totp_status(principal: CurrentPrincipal, session: DbSession) -> TotpStatus:
    """Whether two-step sign-in is on."""
    user = _user(session, principal)
    return TotpStatus(
        enabled=user.totp_enabled_at is not None,
        pending=user.totp_enabled_at is None and user.totp_secret is not None,
        recovery_codes_left=totp.remaining_recovery_codes(session, user),
    )


@router.post("/totp", response_model=TotpEnrollment, status_code=status.HTTP_201_CREATED)
def totp_enroll(
    body: PasswordProof, request: Request, principal: CurrentPrincipal, session: DbSession
) -> TotpEnrollment:
    """Start two-step sign-in: scan the otpauth URI, then confirm with a first code."""
    user = service.verify_own_password(session, principal, body.password, ip=client_ip(request))
    secret, uri = totp.enroll(session, user)
    return TotpEnrollment(secret=secret, otpauth_uri=uri)


@router.post("/totp/confirm", response_model=RecoveryCodes)
def totp_confirm(body: TotpCode, principal: CurrentPrincipal, session: DbSession) -> RecoveryCodes:
    """Turn two-step sign-in on with a first code; returns recovery codes, shown once."""
    return RecoveryCodes(recovery_codes=totp.confirm(session, _user(session, principal), body.code))


@router.post("/totp/disable", status_code=status.HTTP_204_NO_CONTENT)
def totp_disable(
    body: PasswordProof, request: Request, principal: CurrentPrincipal, session: DbSession
) -> None:
    """Turn two-step sign-in off (needs your password)."""
    user = service.verify_own_password(session, principal, body.password, ip=client_ip(request))
    totp.disable(session, user)


@router.post("/totp/recovery-codes", response_model=RecoveryCodes)
def totp_recovery_codes(
    body: PasswordProof, request: Request, principal: CurrentPrincipal, session: DbSession
) -> RecoveryCodes:
    """Replace your recovery codes (needs your password)."""
    user = service.verify_own_password(session, principal, body.password, ip=client_ip(request))
    return RecoveryCodes(recovery_codes=totp.regenerate_recovery_codes(session, user))
