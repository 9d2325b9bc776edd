"""Administering people: role assignments, deactivation, second-factor resets, leaver settings.

Every change here needs USER_ADMIN (service users: SERVICE_ACCOUNTS) in the
company concerned, a recent re-authentication when made from a browser
session, and is audited.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baoxiao.audit.service import record as audit
from baoxiao.identity import lifecycle, service, sessions, totp
from baoxiao.identity.errors import ReauthenticationRequired
from baoxiao.identity.lifecycle import UserNotFound
from baoxiao.identity.permissions import (
    ASSIGNABLE_ROLES,
    Right,
    has_right,
    require_right,
    rights_of,
)
from baoxiao.identity.principal import Principal
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.errors import Conflict, Forbidden, NotFound, ValidationFailed
from baoxiao.kernel.i18n import Msg
from baoxiao.kernel.sessions import SessionPolicy
from baoxiao.models.identity import DataScope, Role, RoleAssignment, User, WebSession
from baoxiao.models.org import Department, Employee
from baoxiao.models.provisioning import IdentitySettings


class AssignmentNotFound(NotFound):
    code = "role_assignment_not_found"
    message = Msg("Role assignment not found.", "未找到该角色分配。")


class InvalidUsername(ValidationFailed):
    code = "invalid_username"
    message = Msg(
        "A username has 3 to 150 letters, digits or . _ @ - and starts with a letter or digit.",
        "用户名为 3 至 150 个字母、数字或 . _ @ -,须以字母或数字开头。",
    )


class InvalidAssignment(ValidationFailed):
    code = "invalid_role_assignment"
    message = Msg("This role assignment is not valid: {reason}", "角色分配无效:{reason}")


class OwnAccessChange(Forbidden):
    code = "own_access_change_forbidden"
    message = Msg(
        "Another administrator must change your own roles or account.",
        "您自己的角色或账号须由另一位管理员修改。",
    )


def require_recent_reauth(session: Session, principal: Principal, policy: SessionPolicy) -> None:
    """A sensitive change (roles, sign-in providers, new tokens) needs a fresh sign-in.

    A browser session must have signed in or confirmed the password within the
    re-authentication window, and so must a login token (POST /auth/token) have been
    issued within it. A personal or service token passes: it is a credential that was
    itself made under re-authentication, for exactly the scopes it carries.
    """
    if principal.web_session_id is not None:
        web = session.get(WebSession, principal.web_session_id)
        if web is None:
            raise Forbidden()
        sessions.require_recent_authentication(web, policy)
    elif principal.token_kind == "login" and (
        principal.token_issued_at is None or utcnow() - principal.token_issued_at > policy.reauth
    ):
        raise ReauthenticationRequired()


def confirm_sensitive(
    session: Session,
    principal: Principal,
    policy: SessionPolicy,
    password: str | None,
    *,
    ip: str | None = None,
) -> None:
    """Re-authenticate for a sensitive change: the caller's password given with the
    request (a browser session then counts as confirmed), or else a recent sign-in."""
    if not password:
        require_recent_reauth(session, principal, policy)
        return
    service.verify_own_password(session, principal, password, ip=ip)
    if principal.web_session_id is not None:
        web = session.get(WebSession, principal.web_session_id)
        if web is not None:
            sessions.confirm_identity(session, web)


def _audit(
    session: Session,
    principal: Principal,
    action: str,
    subject: str,
    company: object,
    **data: object,
) -> None:
    audit(
        session,
        actor=principal.actor,
        action=action,
        subject_type="user",
        subject_id=subject,
        company_id=str(company),
        data={k: None if v is None else str(v) for k, v in data.items()},
    )


def user_in_company(session: Session, user_id: uuid.UUID, company_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if user is None or user.company_id != company_id:
        raise UserNotFound()
    return user


def list_assignments(session: Session, principal: Principal) -> Sequence[RoleAssignment]:
    """Every role assignment held in the caller's company."""
    require_right(principal, Right.USER_ADMIN, principal.company_id)
    return session.scalars(
        select(RoleAssignment)
        .where(RoleAssignment.company_id == principal.company_id)
        .order_by(RoleAssignment.created_at, RoleAssignment.id)
    ).all()


class EmployeeHasLogin(Conflict):
    code = "employee_has_login"
    message = Msg("This employee already has a login.", "该员工已有登录账号。")


class UsernameTaken(Conflict):
    code = "username_taken"
    message = Msg("This username is already taken.", "该用户名已被使用。")


class EmployeeNotFound(NotFound):
    code = "employee_not_found"
    message = Msg("Employee not found.", "未找到该员工。")


class UserInactive(Conflict):
    code = "user_inactive"
    message = Msg("This account is deactivated.", "该账号已停用。")


USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{2,149}")


TEMPORARY_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def temporary_password(username: str) -> str:
    """16 random characters from an unambiguous set (about 92 bits), drawn again in the
    rare case it contains the username and so fails the policy."""
    while True:
        password = "".join(secrets.choice(TEMPORARY_ALPHABET) for _ in range(16))
        if username.lower() not in password.lower():
            return password


def create_login(
    session: Session, principal: Principal, employee_id: uuid.UUID, username: str
) -> tuple[User, str]:
    """A local account for an employee without one (a company without SSO or SCIM), with
    the employee role and a temporary password shown once to the admin."""
    require_right(principal, Right.USER_ADMIN, principal.company_id)
    employee = session.get(Employee, employee_id)
    if employee is None or employee.company_id != principal.company_id or not employee.active:
        raise EmployeeNotFound()
    if session.scalar(select(User.id).where(User.employee_id == employee.id)) is not None:
        raise EmployeeHasLogin()
    username = username.strip()
    if not USERNAME.fullmatch(username):
        raise InvalidUsername()
    if session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        raise UsernameTaken()
    user = User(
        company_id=principal.company_id,
        username=username,
        display_name=employee.name,
        employee_id=employee.id,
    )
    user.roles = [RoleAssignment(role=Role.EMPLOYEE.value, company_id=principal.company_id)]
    session.add(user)
    password = temporary_password(username)
    service.set_password(session, user, password)
    _audit(session, principal, "user:create", str(user.id), principal.company_id, username=username)
    return user, password


def reset_password(session: Session, principal: Principal, user_id: uuid.UUID) -> tuple[User, str]:
    """A forgotten password: a temporary one, shown once to the admin; the person's
    browser sessions and login tokens end (their personal API tokens stay)."""
    require_right(principal, Right.USER_ADMIN, principal.company_id)
    user = user_in_company(session, user_id, principal.company_id)
    if user.id == principal.user_id:
        raise OwnAccessChange()
    if not user.active:
        raise UserInactive()
    password = temporary_password(user.username)
    service.set_password(session, user, password)
    ended = sessions.end_all_for_user(session, user.id, "password_reset")
    ended += service.revoke_login_tokens(session, user.id)
    _audit(
        session,
        principal,
        "user:password_reset",
        str(user.id),
        user.company_id,
        sign_ins_ended=ended,
    )
    return user, password


def may_grant_all_scope(principal: Principal) -> bool:
    """Only an admin holding user:admin at `all` scope grants all-companies reach."""
    return any(
        g.scope == DataScope.ALL and Right.USER_ADMIN in rights_of(g.role)
        for g in principal.all_grants
    )


def _check_scope(
    session: Session,
    principal: Principal,
    company_id: uuid.UUID,
    scope: DataScope,
    department_id: uuid.UUID | None,
) -> None:
    if scope == DataScope.DEPARTMENT:
        dept = session.get(Department, department_id) if department_id else None
        if dept is None or dept.company_id != company_id:
            raise InvalidAssignment(reason="department scope needs a department of the company")
    elif department_id is not None:
        raise InvalidAssignment(reason="only department scope names a department")
    if scope == DataScope.ALL and not may_grant_all_scope(principal):
        raise Forbidden()


def grant(
    session: Session,
    principal: Principal,
    *,
    user_id: uuid.UUID,
    role: Role,
    scope: DataScope,
    department_id: uuid.UUID | None,
    source: str | None = None,
) -> RoleAssignment:
    """Give a user a role in the caller's company with a data scope (or change its scope)."""
    company_id = principal.company_id
    require_right(principal, Right.USER_ADMIN, company_id)
    if role not in ASSIGNABLE_ROLES:
        raise InvalidAssignment(reason=f"{role.value} comes from the org chart, not a grant")
    user = user_in_company(session, user_id, company_id)
    if user.id == principal.user_id:
        raise OwnAccessChange()
    _check_scope(session, principal, company_id, scope, department_id)
    row = session.scalars(
        select(RoleAssignment).where(
            RoleAssignment.user_id == user.id,
            RoleAssignment.role == role.value,
            RoleAssignment.company_id == company_id,
        )
    ).first()
    if row is None:
        row = RoleAssignment(user_id=user.id, role=role.value, company_id=company_id)
        user.roles.append(row)
    elif (row.scope, row.department_id) == (scope.value, department_id):
        return row  # the same grant again changes nothing
    row.scope, row.department_id, row.source = scope.value, department_id, source
    session.flush()
    _audit(
        session,
        principal,
        "role:grant",
        str(user.id),
        company_id,
        assignment_id=row.id,
        role=role.value,
        scope=scope.value,
        department_id=department_id,
    )
    return row


def revoke(session: Session, principal: Principal, assignment_id: uuid.UUID) -> None:
    """Take a role away; revoking twice answers 404 the second time."""
    row = session.get(RoleAssignment, assignment_id)
    if row is None or not has_right(principal, Right.USER_ADMIN, row.company_id):
        raise AssignmentNotFound()
    if row.user_id == principal.user_id:
        raise OwnAccessChange()
    user = session.get(User, row.user_id)
    assert user is not None
    if row.role == Role.ADMIN.value:
        lifecycle.refuse_last_admin(session, user)
    user.roles.remove(row)
    session.flush()
    _audit(
        session,
        principal,
        "role:revoke",
        str(row.user_id),
        row.company_id,
        assignment_id=row.id,
        role=row.role,
        scope=row.scope,
    )


def deactivate(
    session: Session, principal: Principal, user_id: uuid.UUID, reason: str
) -> lifecycle.Deactivation:
    """A user admin deactivates someone of their company (never themselves)."""
    require_right(principal, Right.USER_ADMIN, principal.company_id)
    user = user_in_company(session, user_id, principal.company_id)
    if user.id == principal.user_id:
        raise OwnAccessChange()
    lifecycle.refuse_last_admin(session, user)
    return lifecycle.deactivate_user(session, user.id, actor=principal.actor, reason=reason)


def reset_totp(session: Session, principal: Principal, user_id: uuid.UUID) -> bool:
    """A user admin clears someone's second factor; False when none was set."""
    require_right(principal, Right.USER_ADMIN, principal.company_id)
    user = user_in_company(session, user_id, principal.company_id)
    if user.id == principal.user_id:
        raise OwnAccessChange()
    return totp.reset(session, user, actor=principal.actor)


def get_settings(session: Session, principal: Principal) -> IdentitySettings:
    require_right(principal, Right.USER_ADMIN, principal.company_id)
    found = session.get(IdentitySettings, principal.company_id)
    return found or IdentitySettings(company_id=principal.company_id)


def set_leaver_fallback(
    session: Session, principal: Principal, employee_id: uuid.UUID | None
) -> IdentitySettings:
    """Name who takes leavers' open approval tasks (None: their manager, else admins)."""
    require_right(principal, Right.USER_ADMIN, principal.company_id)
    if employee_id is not None:
        person = session.get(Employee, employee_id)
        if person is None or person.company_id != principal.company_id or not person.active:
            raise InvalidAssignment(reason="the fallback must be an active employee")
    row = session.get(IdentitySettings, principal.company_id)
    if row is None:
        row = IdentitySettings(company_id=principal.company_id)
        session.add(row)
    row.leaver_fallback_employee_id, row.updated_at = employee_id, utcnow()
    session.flush()
    _audit(
        session,
        principal,
        "identity_settings:update",
        str(principal.company_id),
        principal.company_id,
        leaver_fallback_employee_id=employee_id,
    )
    return row
