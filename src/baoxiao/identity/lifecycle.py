"""A leaver's account: the one road to deactivate (and reactivate) a user.

SCIM (active=false or DELETE), the admin API and OA org sync all call
`deactivate_user`. It marks the user and their employee inactive, revokes
every API token, ends every browser session, hands their open approval tasks
to the company's configured fallback (approvals/handover.py), and audits each
step. Token and session checks refuse an inactive user on every request, so
existing credentials stop working at once, not within a minute.

`refuse_last_admin` keeps a company administrable: the admin API and SCIM
call it before deactivating someone, so neither can remove the company's last
active administrator.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from baoxiao.approvals import handover
from baoxiao.audit.service import record as audit
from baoxiao.identity import sessions
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.errors import Conflict, NotFound
from baoxiao.kernel.i18n import Msg
from baoxiao.models.identity import ApiToken, DataScope, Role, RoleAssignment, User
from baoxiao.models.org import Employee
from baoxiao.models.provisioning import IdentitySettings


class UserNotFound(NotFound):
    code = "user_not_found"
    message = Msg("User not found.", "未找到该用户。")


class LastAdmin(Conflict):
    code = "last_admin"
    message = Msg(
        "This is the company's last active administrator; make someone else an admin first.",
        "这是公司最后一位在职管理员,请先将管理员角色授予其他人。",
    )


@dataclass(frozen=True)
class Deactivation:
    user_id: uuid.UUID
    tokens_revoked: int
    sessions_ended: int
    tasks_handed_over: int
    already_inactive: bool


def _audit(session: Session, user: User, actor: str, action: str, **data: object) -> None:
    audit(
        session,
        actor=actor,
        action=action,
        subject_type="user",
        subject_id=str(user.id),
        company_id=str(user.company_id),
        data={k: v if isinstance(v, int | bool) or v is None else str(v) for k, v in data.items()},
    )


def _active_admins(session: Session, company_id: uuid.UUID) -> set[uuid.UUID]:
    """Active users who administer the company: admin at company scope there, or at all scope.

    Their rows are locked, so two requests removing two admins at once cannot both pass.
    """
    reach = or_(
        and_(
            RoleAssignment.company_id == company_id,
            RoleAssignment.scope == DataScope.COMPANY.value,
        ),
        RoleAssignment.scope == DataScope.ALL.value,
    )
    return set(
        session.scalars(
            select(User.id)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(User.active.is_(True), RoleAssignment.role == Role.ADMIN.value, reach)
            .order_by(User.id)
            .with_for_update(of=User)
        )
    )


def refuse_last_admin(session: Session, user: User) -> None:
    """Raise LastAdmin when `user` is the only active administrator of their company."""
    if user.active and _active_admins(session, user.company_id) == {user.id}:
        raise LastAdmin()


def leaver_fallback(session: Session, company_id: uuid.UUID) -> uuid.UUID | None:
    """The employee configured to take leavers' tasks, if any and still active."""
    settings = session.get(IdentitySettings, company_id)
    if settings is None or settings.leaver_fallback_employee_id is None:
        return None
    person = session.get(Employee, settings.leaver_fallback_employee_id)
    return person.id if person is not None and person.active else None


def deactivate_user(
    session: Session, user_id: uuid.UUID, *, actor: str, reason: str
) -> Deactivation:
    """End a user's access and hand over their work; calling it again changes nothing new."""
    user = session.scalars(select(User).where(User.id == user_id).with_for_update()).first()
    if user is None:
        raise UserNotFound()
    already = not user.active
    user.active = False
    employee = session.get(Employee, user.employee_id) if user.employee_id else None
    if employee is not None:
        employee.active = False
    session.flush()
    if not already:
        _audit(session, user, actor, "user:deactivate", reason=reason)
    now = utcnow()
    revoked = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session="fetch")
    )
    tokens = int(getattr(revoked, "rowcount", 0) or 0)
    if tokens:
        _audit(session, user, actor, "user:tokens_revoked", count=tokens, reason=reason)
    ended = sessions.end_all_for_user(session, user.id, "deactivated")
    if ended:
        _audit(session, user, actor, "user:sessions_ended", count=ended, reason=reason)
    moved = 0
    if employee is not None:
        fallback = leaver_fallback(session, user.company_id)
        tasks = handover.hand_over_tasks(session, employee.id, actor, fallback=fallback)
        moved = len(tasks)
        if tasks:
            _audit(
                session,
                user,
                actor,
                "user:tasks_handed_over",
                count=moved,
                fallback_employee_id=fallback,
            )
    session.flush()
    return Deactivation(user.id, tokens, ended, moved, already)


def reactivate_user(session: Session, user_id: uuid.UUID, *, actor: str, reason: str) -> None:
    """Let a returning user sign in again (revoked tokens stay revoked)."""
    user = session.get(User, user_id)
    if user is None:
        raise UserNotFound()
    if user.active:
        return
    user.active = True
    if user.employee_id is not None:
        employee = session.get(Employee, user.employee_id)
        if employee is not None:
            employee.active = True
    session.flush()
    _audit(session, user, actor, "user:reactivate", reason=reason)
