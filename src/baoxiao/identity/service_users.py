"""Users for systems (an IdP's SCIM client, an OA connector, a script) and their tokens.

A service user is a `User` without an employee and without a password: it
signs in only with tokens an admin or integrator issues for it. It holds the
integrator role when created by an integrator; an admin may grant it any role.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.audit.service import record as audit
from baoxiao.identity import service
from baoxiao.identity.errors import TokenNotFound
from baoxiao.identity.lifecycle import UserNotFound
from baoxiao.identity.permissions import Right, has_right, require_right
from baoxiao.identity.principal import Principal
from baoxiao.kernel.errors import Conflict, Forbidden
from baoxiao.kernel.i18n import Msg
from baoxiao.models.identity import ApiToken, Role, RoleAssignment, User


class UsernameTaken(Conflict):
    code = "username_taken"
    message = Msg("That username is already in use.", "该用户名已被使用。")


def _service_user(session: Session, principal: Principal, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if (
        user is None
        or user.employee_id is not None
        or not has_right(principal, Right.SERVICE_ACCOUNTS, user.company_id)
    ):
        raise UserNotFound()
    return user


def list_service_users(session: Session, principal: Principal) -> Sequence[User]:
    require_right(principal, Right.SERVICE_ACCOUNTS, principal.company_id)
    return session.scalars(
        select(User)
        .where(User.company_id == principal.company_id, User.employee_id.is_(None))
        .order_by(User.created_at, User.id)
    ).all()


def create_service_user(
    session: Session, principal: Principal, *, username: str, display_name: str, roles: list[Role]
) -> User:
    """A user for a system in the caller's company; only admins give it roles beyond integrator."""
    require_right(principal, Right.SERVICE_ACCOUNTS, principal.company_id)
    if set(roles) - {Role.INTEGRATOR} and not has_right(
        principal, Right.USER_ADMIN, principal.company_id
    ):
        raise Forbidden()
    if Role.MANAGER in roles:
        raise Forbidden()
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise UsernameTaken()
    user = User(company_id=principal.company_id, username=username, display_name=display_name)
    user.roles = [RoleAssignment(role=r.value, company_id=principal.company_id) for r in roles]
    session.add(user)
    session.flush()
    audit(
        session,
        actor=principal.actor,
        action="service_user:create",
        subject_type="user",
        subject_id=str(user.id),
        company_id=str(user.company_id),
        data={"username": username, "roles": sorted(r.value for r in roles)},
    )
    return user


def may_lend_rights_of(principal: Principal, user: User) -> bool:
    """May the caller hand a system this user's rights (a token for it, a connector that
    acts as it)? For a service user holding only the integrator role, yes; a person, or
    a user with more roles, takes the user-admin right, as granting those roles would."""
    lends_more = user.employee_id is not None or bool(
        {r.role for r in user.roles} - {Role.INTEGRATOR.value}
    )
    return not lends_more or has_right(principal, Right.USER_ADMIN, user.company_id)


def issue_service_token(
    session: Session,
    principal: Principal,
    user_id: uuid.UUID,
    *,
    name: str,
    scopes: list[str],
    ttl: timedelta | None,
) -> tuple[ApiToken, str]:
    """A scoped token for a service user; the plain value is shown once.

    A token acts with its user's roles, so issuing one for a user holding more than
    the integrator role takes the user-admin right, as granting those roles would."""
    user = _service_user(session, principal, user_id)
    if not may_lend_rights_of(principal, user):
        raise Forbidden()
    service.require_narrower_scopes(principal, scopes)
    token, plain = service.issue_token(
        session, user, name=name, kind="service", ttl=ttl, scopes=scopes
    )
    service.audit_token_issued(session, principal, token)
    return token, plain


def list_service_tokens(
    session: Session, principal: Principal, user_id: uuid.UUID
) -> Sequence[ApiToken]:
    user = _service_user(session, principal, user_id)
    return session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at)
    ).all()


def revoke_service_token(
    session: Session, principal: Principal, user_id: uuid.UUID, token_id: uuid.UUID
) -> None:
    user = _service_user(session, principal, user_id)
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise TokenNotFound()
    service.revoke(session, token, actor=principal.actor, company_id=user.company_id)
