"""The admin's page for one person: their roles with data scopes, second factor, sign-in
methods, and deactivation.

The same services as the API (identity/admin.py) make every change, so the same rules
hold: the user:admin right, never one's own access, a recent sign-in for a change made
from the browser (the page offers the confirmation form when the window has passed),
and an audit record for each.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Form, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.identity import admin, sessions, sso_web
from baoxiao.identity.admin import AssignmentNotFound
from baoxiao.identity.deps import CsrfProtected, DbSession, WebPrincipal
from baoxiao.identity.permissions import ASSIGNABLE_ROLES, Right, require_right
from baoxiao.identity.principal import Principal
from baoxiao.kernel.errors import AppError, ValidationFailed
from baoxiao.models.identity import (
    DataScope,
    ExternalIdentity,
    IdentityProvider,
    Role,
    RoleAssignment,
    User,
)
from baoxiao.models.org import Department
from baoxiao.web.pages import lang_of, page_router, redirect, render

router = page_router(prefix="/admin/people")
ROLE_ORDER = [r for r in Role if r in ASSIGNABLE_ROLES]


def _reauth(request: Request, session: Session, principal: Principal) -> None:
    admin.require_recent_reauth(session, principal, request.app.state.settings.session_policy)


def _person_page(
    request: Request,
    session: Session,
    principal: Principal,
    user: User,
    *,
    status_code: int = 200,
    problem: str | None = None,
    temporary_password: str | None = None,
) -> Response:
    require_right(principal, Right.USER_ADMIN, principal.company_id)
    web = getattr(request.state, "web_session", None)
    policy = request.app.state.settings.session_policy
    departments = session.scalars(
        select(Department)
        .where(Department.company_id == principal.company_id)
        .order_by(Department.code)
    ).all()
    identities = session.execute(
        select(IdentityProvider.key, ExternalIdentity.last_login_at)
        .join(IdentityProvider, IdentityProvider.id == ExternalIdentity.provider_id)
        .where(ExternalIdentity.user_id == user.id)
        .order_by(IdentityProvider.key)
    ).all()
    return render(
        request,
        "identity/person.html",
        status_code=status_code,
        person=user,
        assignments=sorted(user.roles, key=lambda a: (a.company_id != user.company_id, a.role)),
        departments={d.id: d for d in departments},
        identities=identities,
        roles_to_grant=ROLE_ORDER,
        scopes=[
            s.value for s in DataScope if s != DataScope.ALL or admin.may_grant_all_scope(principal)
        ],
        is_me=user.id == principal.user_id,
        reauth_needed=web is not None and not sessions.recently_authenticated(web, policy),
        confirm=sso_web.confirm_options(session, principal.user_id),
        problem=problem,
        temporary_password=temporary_password,
    )


def _user(session: Session, principal: Principal, user_id: uuid.UUID) -> User:
    require_right(principal, Right.USER_ADMIN, principal.company_id)
    return admin.user_in_company(session, user_id, principal.company_id)


@router.post("", dependencies=[CsrfProtected])
def create_login(
    request: Request,
    principal: WebPrincipal,
    session: DbSession,
    employee_id: Annotated[uuid.UUID, Form()],
    username: Annotated[str, Form()] = "",
) -> Response:
    """A local login for an employee without one; the temporary password is shown once."""
    require_right(principal, Right.USER_ADMIN, principal.company_id)
    _reauth(request, session, principal)
    user, password = admin.create_login(session, principal, employee_id, username)
    return _person_page(request, session, principal, user, temporary_password=password)


@router.get("/{user_id}")
def person(
    request: Request, user_id: uuid.UUID, principal: WebPrincipal, session: DbSession
) -> Response:
    """One person's roles, second factor, sign-in methods and status."""
    return _person_page(request, session, principal, _user(session, principal, user_id))


@router.post("/{user_id}/roles", dependencies=[CsrfProtected])
def grant_role(
    request: Request,
    user_id: uuid.UUID,
    principal: WebPrincipal,
    session: DbSession,
    role: Annotated[str, Form()] = "",
    scope: Annotated[str, Form()] = DataScope.COMPANY.value,
    department_id: Annotated[str, Form()] = "",
) -> Response:
    """Grant a role with a data scope, or change the scope of one already held."""
    user = _user(session, principal, user_id)
    _reauth(request, session, principal)
    try:
        chosen_role, chosen_scope = _parse_role(role), _parse_scope(scope)
        admin.grant(
            session,
            principal,
            user_id=user.id,
            role=chosen_role,
            scope=chosen_scope,
            department_id=_parse_department(department_id, chosen_scope),
        )
    except ValidationFailed as err:
        session.rollback()
        user = _user(session, principal, user_id)
        message = err.render(lang_of(request))
        return _person_page(request, session, principal, user, status_code=422, problem=message)
    return redirect(f"/admin/people/{user.id}?done=granted", request)


@router.post("/{user_id}/roles/{assignment_id}/revoke", dependencies=[CsrfProtected])
def revoke_role(
    request: Request,
    user_id: uuid.UUID,
    assignment_id: uuid.UUID,
    principal: WebPrincipal,
    session: DbSession,
) -> Response:
    """Take a role away."""
    user = _user(session, principal, user_id)
    _reauth(request, session, principal)
    row = session.get(RoleAssignment, assignment_id)
    if row is None or row.user_id != user.id:
        raise AssignmentNotFound()
    admin.revoke(session, principal, assignment_id)
    return redirect(f"/admin/people/{user.id}?done=revoked", request)


@router.post("/{user_id}/password-reset", dependencies=[CsrfProtected])
def reset_password(
    request: Request, user_id: uuid.UUID, principal: WebPrincipal, session: DbSession
) -> Response:
    """A forgotten password: a temporary one, shown once here; their sign-ins end."""
    _user(session, principal, user_id)  # 404 before asking for a fresh sign-in
    _reauth(request, session, principal)
    user, password = admin.reset_password(session, principal, user_id)
    return _person_page(request, session, principal, user, temporary_password=password)


@router.post("/{user_id}/totp-reset", dependencies=[CsrfProtected])
def reset_totp(
    request: Request, user_id: uuid.UUID, principal: WebPrincipal, session: DbSession
) -> Response:
    """Clear a lost second factor; the person signs in with their password and enrols again."""
    user = _user(session, principal, user_id)
    _reauth(request, session, principal)
    admin.reset_totp(session, principal, user.id)
    return redirect(f"/admin/people/{user.id}?done=totp_reset", request)


@router.post("/{user_id}/deactivate", dependencies=[CsrfProtected])
def deactivate(
    request: Request,
    user_id: uuid.UUID,
    principal: WebPrincipal,
    session: DbSession,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """A leaver: sessions and tokens end at once, open approval tasks are handed over."""
    user = _user(session, principal, user_id)
    _reauth(request, session, principal)
    admin.deactivate(session, principal, user.id, reason.strip()[:200] or "admin")
    return redirect(f"/admin/people/{user.id}?done=deactivated", request)


def _parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise _invalid("role", "choose one of the roles listed") from None


def _parse_scope(value: str) -> DataScope:
    try:
        return DataScope(value)
    except ValueError:
        raise _invalid("scope", "choose one of the data scopes listed") from None


def _parse_department(value: str, scope: DataScope) -> uuid.UUID | None:
    if scope != DataScope.DEPARTMENT:
        return None  # the department list only counts for a department scope
    try:
        return uuid.UUID(value)
    except ValueError:
        raise _invalid("department_id", "a department scope needs a department") from None


def _invalid(field: str, reason: str) -> AppError:
    return admin.InvalidAssignment(reason=reason, errors=[{"field": field, "message": reason}])
