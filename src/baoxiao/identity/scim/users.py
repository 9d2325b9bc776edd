"""SCIM Users <-> Baoxiao users and their employee records.

userName is the login name; displayName (else name.formatted, else given and
family name) the person's name; the primary email the employee's email;
active drives deactivation (identity/lifecycle.py). The enterprise extension
maps employeeNumber to the employee number, department to the department of
that code or name (an unknown one is kept as text only) and manager.value
(the manager's SCIM id) to the employee's manager. DELETE deactivates the
person, takes them out of every group and frees the userName; their claims and
history stay.
"""

from __future__ import annotations

import uuid
from typing import Any

from scim2_models import (
    Context,
    Email,
    EnterpriseUser,
    GroupMembership,
    Manager,
    Meta,
    Name,
    PatchOp,
    User,
)
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from baoxiao.identity import lifecycle
from baoxiao.identity.principal import Principal
from baoxiao.identity.scim import groups
from baoxiao.identity.scim.common import (
    apply_patch,
    check_version,
    etag,
    parse,
    record,
    visible,
)
from baoxiao.identity.scim.errors import invalid_value, mutability, not_found, uniqueness
from baoxiao.kernel.clock import utcnow
from baoxiao.models.identity import Role, RoleAssignment
from baoxiao.models.identity import User as Account
from baoxiao.models.org import Department, Employee
from baoxiao.models.provisioning import ScimGroup, ScimGroupMember, ScimUserLink

ScimUser = User[EnterpriseUser]


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def load(session: Session, principal: Principal, user_id: str) -> Account:
    ident = _uuid(user_id)
    user: Account | None = None
    if ident is not None:
        user = session.scalars(visible(principal.company_id).where(Account.id == ident)).first()
    if user is None:
        raise not_found("User")
    return user


def _link(session: Session, user: Account) -> ScimUserLink:
    link = session.get(ScimUserLink, user.id)
    if link is None:
        link = ScimUserLink(user_id=user.id, company_id=user.company_id, data={}, version=1)
        session.add(link)
        session.flush()
    return link


def to_resource(session: Session, user: Account, base: str) -> Any:
    """The SCIM representation of a user."""
    link = session.get(ScimUserLink, user.id)
    data = link.data if link else {}
    emp = session.get(Employee, user.employee_id) if user.employee_id else None
    location = f"{base}/Users/{user.id}"
    emails = data.get("emails")
    if emails is None and emp is not None and emp.email:
        emails = [{"value": emp.email, "primary": True, "type": "work"}]
    groups = session.scalars(
        select(ScimGroup).join(ScimGroupMember).where(ScimGroupMember.user_id == user.id)
    ).all()
    enterprise = EnterpriseUser(
        employee_number=data.get("employeeNumber", emp.employee_no if emp else None),
        department=data.get("department", emp.department.name if emp and emp.department else None),
        manager=_manager(session, emp, base),
    )
    resource = ScimUser(
        id=str(user.id),
        external_id=link.external_id if link else None,
        user_name=user.username,
        name=Name(**data["name"]) if data.get("name") else None,
        display_name=data.get("displayName", user.display_name),
        active=_active(user, data),
        emails=[Email(**e) for e in emails] if emails else None,
        groups=[
            GroupMembership.model_validate(
                {"value": str(g.id), "$ref": f"{base}/Groups/{g.id}", "display": g.display_name}
            )
            for g in groups
        ]
        or None,
        meta=Meta(
            resource_type="User",
            created=link.created_at if link else user.created_at,
            last_modified=link.updated_at if link else user.created_at,
            location=location,
            version=etag(link.version if link else 1),
        ),
    )
    if any(
        v is not None
        for v in (enterprise.employee_number, enterprise.department, enterprise.manager)
    ):
        resource[EnterpriseUser] = enterprise
    return resource


def _active(user: Account, data: dict[str, Any]) -> bool | None:
    """False when inactive; otherwise what the IdP provisioned (an unset active means active)."""
    if not user.active:
        return False
    return None if "active" in data and data["active"] is None else True


def _manager(session: Session, emp: Employee | None, base: str) -> Manager | None:
    if emp is None or emp.manager_id is None:
        return None
    boss = session.scalars(select(Account).where(Account.employee_id == emp.manager_id)).first()
    if boss is None:
        return None
    return Manager.model_validate({"value": str(boss.id), "$ref": f"{base}/Users/{boss.id}"})


def _name_of(res: Any) -> str:
    name = res.name
    parts = [name.given_name, name.family_name] if name else []
    joined = " ".join(p for p in parts if p)
    return (res.display_name or (name.formatted if name else None) or joined or res.user_name)[:100]


def _department(session: Session, company_id: uuid.UUID, text: str | None) -> Department | None:
    if not text:
        return None
    return session.scalars(
        select(Department).where(
            Department.company_id == company_id,
            or_(Department.code == text, Department.name == text),
        )
    ).first()


def _manager_employee(
    session: Session, principal: Principal, mgr: Any, me: Account
) -> uuid.UUID | None:
    if mgr is None or not mgr.value:
        return None
    ident = _uuid(mgr.value)
    boss = session.get(Account, ident) if ident else None
    if boss is None or boss.company_id != principal.company_id or boss.employee_id is None:
        raise invalid_value("manager.value is not the id of a user of this company")
    if boss.id == me.id:
        raise invalid_value("a person cannot be their own manager")
    return boss.employee_id


def _write(session: Session, principal: Principal, user: Account, res: Any) -> None:
    """Copy a validated SCIM user onto the account, its employee and its link."""
    if not res.user_name:
        raise invalid_value("userName is required")
    if res.user_name != user.username:
        taken = session.scalar(select(Account.id).where(Account.username == res.user_name))
        if taken is not None and taken != user.id:
            raise uniqueness("userName is already in use")
        user.username = res.user_name
    user.display_name = _name_of(res)
    emp = session.get(Employee, user.employee_id)
    assert emp is not None
    ext = _extension(res)
    number = ext.employee_number if ext else None
    if number and number != emp.employee_no:
        clash = session.scalar(
            select(Employee.id).where(
                Employee.company_id == emp.company_id, Employee.employee_no == number[:64]
            )
        )
        if clash is not None and clash != emp.id:
            raise uniqueness("employeeNumber is already in use")
        emp.employee_no = number[:64]
    emp.name = user.display_name
    emails = [e.model_dump(scim_ctx=None, exclude_none=True) for e in res.emails or []]
    primary = next((e for e in res.emails or [] if e.primary), None) or (res.emails or [None])[0]
    emp.email = primary.value[:254] if primary is not None and primary.value else None
    department_text = ext.department if ext else None
    dept = _department(session, emp.company_id, department_text)
    if dept is not None:
        emp.department_id = dept.id
    emp.manager_id = _manager_employee(session, principal, ext.manager if ext else None, user)
    link = _link(session, user)
    link.external_id = res.external_id
    link.data = {
        "name": res.name.model_dump(scim_ctx=None, exclude_none=True) if res.name else None,
        "emails": emails or None,
        "employeeNumber": number,
        "department": department_text,
        "displayName": res.display_name,
        "active": res.active,
    }
    link.version += 1
    link.updated_at = utcnow()


def _extension(res: Any) -> EnterpriseUser | None:
    try:
        ext = res[EnterpriseUser]
    except (KeyError, TypeError):
        return None
    return ext if isinstance(ext, EnterpriseUser) else None


def _set_active(session: Session, principal: Principal, user: Account, active: bool | None) -> None:
    """Deactivate on active=false; reactivate only on an explicit active=true.

    An IdP may leave `active` out of a PUT; that must not bring a leaver back.
    """
    if active is False and user.active:
        _refuse_last_admin(session, user)
        lifecycle.deactivate_user(session, user.id, actor=principal.actor, reason="scim")
    elif active is True and not user.active:
        lifecycle.reactivate_user(session, user.id, actor=principal.actor, reason="scim")


def _refuse_last_admin(session: Session, user: Account) -> None:
    """An admin who left may be deprovisioned, but never the company's last one."""
    try:
        lifecycle.refuse_last_admin(session, user)
    except lifecycle.LastAdmin as exc:
        raise mutability(exc.render("en")) from None


def _prepared(payload: dict[str, Any], base: str) -> dict[str, Any]:
    """IdPs send manager as {"value": id} only; the model wants its $ref too."""
    ext = payload.get(str(EnterpriseUser.__schema__))
    if isinstance(ext, dict) and isinstance(ext.get("manager"), dict):
        mgr = ext["manager"]
        if mgr.get("value") and not mgr.get("$ref"):
            mgr["$ref"] = f"{base}/Users/{mgr['value']}"
        if not mgr.get("value"):
            ext.pop("manager")
    return payload


def create(session: Session, principal: Principal, payload: dict[str, Any], base: str) -> Account:
    """POST /Users: a new person with a login and an employee record."""
    res = parse(ScimUser, _prepared(payload, base), Context.RESOURCE_CREATION_REQUEST)
    if not res.user_name:
        raise invalid_value("userName is required")
    if session.scalar(select(Account.id).where(Account.username == res.user_name)) is not None:
        raise uniqueness("userName is already in use")
    emp = Employee(
        company_id=principal.company_id,
        employee_no=f"SCIM-{uuid.uuid4().hex[:12]}",
        name=res.user_name[:100],
    )
    session.add(emp)
    session.flush()
    user = Account(
        company_id=principal.company_id,
        username=res.user_name,
        display_name=res.user_name[:100],
        employee_id=emp.id,
    )
    user.roles = [RoleAssignment(role=Role.EMPLOYEE.value, company_id=principal.company_id)]
    session.add(user)
    session.flush()
    _write(session, principal, user, res)
    record(session, principal, "scim:user_create", "user", user.id, user_name=user.username)
    if res.active is False:
        _set_active(session, principal, user, False)
    return user


def replace(
    session: Session,
    principal: Principal,
    user_id: str,
    payload: dict[str, Any],
    base: str,
    if_match: str | None,
) -> Account:
    """PUT /Users/{id}: the given representation replaces the stored one."""
    user = load(session, principal, user_id)
    check_version(_link(session, user).version, if_match)
    res = parse(ScimUser, _prepared(payload, base), Context.RESOURCE_REPLACEMENT_REQUEST)
    _write(session, principal, user, res)
    record(session, principal, "scim:user_replace", "user", user.id, user_name=user.username)
    _set_active(session, principal, user, res.active)
    return user


def patch(
    session: Session,
    principal: Principal,
    user_id: str,
    payload: dict[str, Any],
    base: str,
    if_match: str | None,
) -> Account:
    """PATCH /Users/{id}: add, replace and remove operations applied in order."""
    user = load(session, principal, user_id)
    check_version(_link(session, user).version, if_match)
    op = parse(PatchOp[ScimUser], payload, Context.RESOURCE_PATCH_REQUEST)
    res = to_resource(session, user, base)
    apply_patch(op, res)
    _write(session, principal, user, res)
    record(
        session, principal, "scim:user_patch", "user", user.id, operations=len(op.operations or [])
    )
    # The representation carried `active` before the patch, so None now means the IdP
    # removed it: an unset active means active (unlike a PUT that merely leaves it out).
    _set_active(session, principal, user, True if res.active is None else res.active)
    return user


def delete(session: Session, principal: Principal, user_id: str, if_match: str | None) -> None:
    """DELETE /Users/{id}: deactivate (tokens, sessions, tasks) and free the userName."""
    user = load(session, principal, user_id)
    link = _link(session, user)
    check_version(link.version, if_match)
    _refuse_last_admin(session, user)
    lifecycle.deactivate_user(session, user.id, actor=principal.actor, reason="scim delete")
    # Out of SCIM's view, so out of its groups too: a group listing a user the client can
    # no longer see would refuse its next PATCH.
    left = groups.leave_all(session, principal, user.id)
    old = user.username
    user.username = f"{old[:100]}~deleted~{uuid.uuid4().hex[:12]}"
    link.deleted_at = link.updated_at = utcnow()
    link.version += 1
    session.flush()
    record(session, principal, "scim:user_delete", "user", user.id, user_name=old, groups_left=left)
