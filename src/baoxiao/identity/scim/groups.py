"""SCIM Groups are role groups.

A group whose displayName names a business role ("cashier", "Cashiers",
"baoxiao-finance-reviewer", ...) gives every member that role in the company
at company scope; leaving the last such group takes it away again. Grants an
admin made by hand (source None) are never touched. Other groups are kept
(an IdP pushes whatever is assigned to the app) but grant nothing.

Groups named "Admins" or "Integrators" are such plain groups too: admin and
integrator are granted only by an administrator inside Baoxiao (with a recent
re-authentication). The SCIM client needs nothing more than the integrator
role, so letting its groups grant those roles would let an IdP token make
anyone a company admin.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from scim2_models import Context, Group, GroupMember, Meta, PatchOp
from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.audit.service import record as audit
from baoxiao.identity.permissions import ASSIGNABLE_ROLES
from baoxiao.identity.principal import Principal
from baoxiao.identity.scim.common import (
    apply_patch,
    check_version,
    etag,
    parse,
    record,
    visible,
)
from baoxiao.identity.scim.errors import invalid_value, not_found, uniqueness
from baoxiao.kernel.clock import utcnow
from baoxiao.models.identity import DataScope, Role, RoleAssignment
from baoxiao.models.identity import User as Account
from baoxiao.models.provisioning import ScimGroup, ScimGroupMember

SOURCE = "scim:group"
_ALIASES = {"finance_reviewer": Role.FINANCE, "budget_owners": Role.BUDGET_OWNER}
# Roles a group may grant: never employee (everyone has it), admin or integrator.
GROUP_ROLES: frozenset[Role] = ASSIGNABLE_ROLES - {Role.EMPLOYEE, Role.ADMIN, Role.INTEGRATOR}
_GROUP_ROLE_NAMES = frozenset(r.value for r in GROUP_ROLES)


def role_for(display_name: str) -> Role | None:
    """The role a group's name grants, if it names one."""
    key = re.sub(r"[\s\-:.]+", "_", display_name.strip().lower()).strip("_")
    key = key.removeprefix("baoxiao_")
    for candidate in (key, key.removesuffix("s")):
        if candidate in _ALIASES:
            return _ALIASES[candidate]
        role = next((r for r in GROUP_ROLES if r.value == candidate), None)
        if role is not None:
            return role
    return None


def load(session: Session, principal: Principal, group_id: str) -> ScimGroup:
    try:
        ident = uuid.UUID(group_id)
    except ValueError:
        raise not_found("Group") from None
    group = session.get(ScimGroup, ident)
    if group is None or group.company_id != principal.company_id:
        raise not_found("Group")
    return group


def to_resource(session: Session, group: ScimGroup, base: str) -> Any:
    members = [
        GroupMember.model_validate(
            {"value": str(m.user_id), "$ref": f"{base}/Users/{m.user_id}", "type": "User"}
        )
        for m in sorted(group.members, key=lambda m: str(m.user_id))
    ]
    return Group(
        id=str(group.id),
        external_id=group.external_id,
        display_name=group.display_name,
        members=members or None,
        meta=Meta(
            resource_type="Group",
            created=group.created_at,
            last_modified=group.updated_at,
            location=f"{base}/Groups/{group.id}",
            version=etag(group.version),
        ),
    )


def sync_roles(session: Session, principal: Principal, user_ids: set[uuid.UUID]) -> None:
    """Make each user's group-granted roles match the role groups they belong to."""
    for user_id in sorted(user_ids, key=str):
        user = session.get(Account, user_id)
        if user is None:
            continue
        wanted: set[str] = {
            role
            for role in session.scalars(
                select(ScimGroup.role)
                .join(ScimGroupMember)
                .where(
                    ScimGroupMember.user_id == user_id,
                    ScimGroup.role.is_not(None),
                    ScimGroup.company_id == user.company_id,
                )
            )
            if role in _GROUP_ROLE_NAMES  # a row stored before admin was refused grants nothing
        }
        held = {r.role: r for r in user.roles if r.company_id == user.company_id}
        for role in sorted(wanted - set(held)):
            user.roles.append(
                RoleAssignment(
                    role=role,
                    company_id=user.company_id,
                    scope=DataScope.COMPANY.value,
                    source=SOURCE,
                )
            )
            _audit_role(session, principal, "role:grant", user, role)
        for role, row in held.items():
            if row.source == SOURCE and role not in wanted:
                user.roles.remove(row)
                _audit_role(session, principal, "role:revoke", user, role)
    session.flush()


def leave_all(session: Session, principal: Principal, user_id: uuid.UUID) -> int:
    """A deleted user leaves every group (their versions move on) and loses what those
    groups granted; returns how many groups they left."""
    left = session.scalars(
        select(ScimGroup)
        .join(ScimGroupMember)
        .where(ScimGroupMember.user_id == user_id, ScimGroup.company_id == principal.company_id)
    ).all()
    for group in left:
        group.members = [m for m in group.members if m.user_id != user_id]
        group.version += 1
        group.updated_at = utcnow()
    session.flush()
    sync_roles(session, principal, {user_id})
    return len(left)


def _audit_role(
    session: Session, principal: Principal, action: str, user: Account, role: str
) -> None:
    audit(
        session,
        actor=principal.actor,
        action=action,
        subject_type="user",
        subject_id=str(user.id),
        company_id=str(user.company_id),
        data={"role": role, "source": SOURCE},
    )


def _write(session: Session, principal: Principal, group: ScimGroup, res: Any) -> set[uuid.UUID]:
    """Copy a validated SCIM group onto the row; returns the users whose roles may change."""
    if not res.display_name:
        raise invalid_value("displayName is required")
    clash = session.scalar(
        select(ScimGroup.id).where(
            ScimGroup.company_id == principal.company_id, ScimGroup.display_name == res.display_name
        )
    )
    if clash is not None and clash != group.id:
        raise uniqueness("displayName is already in use")
    before = {m.user_id for m in group.members}
    wanted: set[uuid.UUID] = set()
    for member in res.members or []:
        try:
            ident = uuid.UUID(member.value or "")
        except ValueError:
            raise invalid_value("members.value is not a user id") from None
        found = session.scalar(visible(principal.company_id).where(Account.id == ident))
        if found is None:
            raise invalid_value("members.value is not a user of this company")
        wanted.add(ident)
    old_role = group.role
    group.display_name = res.display_name[:255]
    group.external_id = res.external_id
    group.role = role.value if (role := role_for(res.display_name)) else None
    group.members = [m for m in group.members if m.user_id in wanted]
    group.members += [ScimGroupMember(user_id=u) for u in sorted(wanted - before, key=str)]
    group.version += 1
    group.updated_at = utcnow()
    session.flush()
    return (before ^ wanted) | (before | wanted if old_role != group.role else set())


def create(session: Session, principal: Principal, payload: dict[str, Any], base: str) -> ScimGroup:
    res = parse(Group, payload, Context.RESOURCE_CREATION_REQUEST)
    group = ScimGroup(company_id=principal.company_id, display_name="", version=0)
    session.add(group)
    changed = _write(session, principal, group, res)
    sync_roles(session, principal, changed)
    record(
        session,
        principal,
        "scim:group_create",
        "scim_group",
        group.id,
        name=group.display_name,
        role=group.role,
    )
    return group


def replace(
    session: Session,
    principal: Principal,
    group_id: str,
    payload: dict[str, Any],
    base: str,
    if_match: str | None,
) -> ScimGroup:
    """PUT /Groups/{id}: the given representation replaces the stored one."""
    group = load(session, principal, group_id)
    check_version(group.version, if_match)
    res = parse(Group, payload, Context.RESOURCE_REPLACEMENT_REQUEST)
    sync_roles(session, principal, _write(session, principal, group, res))
    record(
        session, principal, "scim:group_replace", "scim_group", group.id, name=group.display_name
    )
    return group


def patch(
    session: Session,
    principal: Principal,
    group_id: str,
    payload: dict[str, Any],
    base: str,
    if_match: str | None,
) -> ScimGroup:
    group = load(session, principal, group_id)
    check_version(group.version, if_match)
    op = parse(PatchOp[Group], payload, Context.RESOURCE_PATCH_REQUEST)
    res = to_resource(session, group, base)
    apply_patch(op, res)
    sync_roles(session, principal, _write(session, principal, group, res))
    record(
        session,
        principal,
        "scim:group_patch",
        "scim_group",
        group.id,
        operations=len(op.operations or []),
    )
    return group


def delete(session: Session, principal: Principal, group_id: str, if_match: str | None) -> None:
    group = load(session, principal, group_id)
    check_version(group.version, if_match)
    members = {m.user_id for m in group.members}
    name = group.display_name
    session.delete(group)
    session.flush()
    sync_roles(session, principal, members)
    record(session, principal, "scim:group_delete", "scim_group", group_id, name=name)
