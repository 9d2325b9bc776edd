"""FastAPI dependencies for the request's session and caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from baoxiao.identity.errors import InvalidToken
from baoxiao.identity.principal import Principal
from baoxiao.identity.service import authenticate_token
from baoxiao.kernel.errors import Unauthorized
from baoxiao.kernel.routing import request_session

DbSession = Annotated[Session, Depends(request_session)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def authenticate(request: Request, session: Session) -> Principal:
    """The caller of this request, resolved once and cached on the request."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    token = _bearer(request)
    if token is None:
        raise Unauthorized()
    principal = authenticate_token(session, token)
    request.state.principal = principal
    return principal


def current_principal(request: Request, session: DbSession) -> Principal:
    return authenticate(request, session)


def idempotency_scope(request: Request, session: Session) -> str | None:
    """Idempotency keys are scoped per user; None when the caller is anonymous."""
    try:
        return str(authenticate(request, session).user_id)
    except (Unauthorized, InvalidToken):
        return None


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
