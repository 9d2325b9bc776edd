"""A signed-in person's own preferences (the web app's language)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from baoxiao.audit.service import record as audit
from baoxiao.identity.principal import Principal
from baoxiao.kernel.errors import ValidationFailed
from baoxiao.kernel.i18n import SUPPORTED
from baoxiao.models.identity import User


def set_locale(session: Session, principal: Principal, locale: str) -> User:
    """Save the language the person chose; the web app uses it before Accept-Language."""
    if locale not in SUPPORTED:
        raise ValidationFailed(errors=[{"field": "locale", "message": f"one of {SUPPORTED}"}])
    user = session.get(User, principal.user_id)
    assert user is not None
    if user.locale != locale:
        previous, user.locale = user.locale, locale
        session.flush()
        audit(
            session,
            actor=principal.actor,
            action="user:set_locale",
            subject_type="user",
            subject_id=str(user.id),
            company_id=str(user.company_id),
            data={"from": previous, "to": locale},
        )
    return user
