"""The admin's view of the organisation: the department tree and people with their roles."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.identity.permissions import Right, require_right
from baoxiao.identity.principal import Principal
from baoxiao.models.identity import User
from baoxiao.models.org import Department, Employee
from baoxiao.org.service import list_in_company


@dataclass
class DepartmentNode:
    department: Department
    people: int = 0
    children: list[DepartmentNode] = field(default_factory=list)


@dataclass
class PersonRow:
    employee: Employee
    username: str | None
    roles: list[str]
    user_id: uuid.UUID | None = None  # their sign-in account, when they have one


def tree(session: Session, principal: Principal) -> list[DepartmentNode]:
    """Departments as a tree (roots first, children by code) with their head counts."""
    require_right(principal, Right.ORG_ADMIN, principal.company_id)
    nodes = {d.id: DepartmentNode(d) for d in list_in_company(session, principal, Department, True)}
    for emp in list_in_company(session, principal, Employee, True):
        if emp.department_id in nodes:
            nodes[emp.department_id].people += 1
    roots: list[DepartmentNode] = []
    for node in nodes.values():
        parent = nodes.get(node.department.parent_id) if node.department.parent_id else None
        (parent.children if parent else roots).append(node)
    return roots


def people(session: Session, principal: Principal) -> list[PersonRow]:
    """Every employee of the company with their login and roles."""
    require_right(principal, Right.ORG_ADMIN, principal.company_id)
    users: dict[uuid.UUID, User] = {
        u.employee_id: u
        for u in session.scalars(
            select(User).where(
                User.company_id == principal.company_id, User.employee_id.is_not(None)
            )
        )
        if u.employee_id is not None
    }
    rows = []
    for emp in list_in_company(session, principal, Employee):
        user = users.get(emp.id)
        roles = sorted({r.role for r in user.roles}) if user else []
        rows.append(
            PersonRow(emp, user.username if user else None, roles, user.id if user else None)
        )
    return rows
