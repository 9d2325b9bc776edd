"""An OrgView over the database, read lazily and memoised for one resolution."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from baoxiao.approvals.orgview import DeptInfo, PersonInfo
from baoxiao.models.approval import ApprovalDelegation
from baoxiao.models.identity import DataScope, RoleAssignment, User
from baoxiao.models.org import CostCenter, Department, Employee


class DbOrgView:
    def __init__(self, session: Session, company_id: uuid.UUID) -> None:
        self.session = session
        self.company_id = company_id
        self._people: dict[uuid.UUID, PersonInfo | None] = {}
        # role -> (employee, grant scope, subtree root) of its active holders
        self._roles: dict[str, list[tuple[uuid.UUID | None, str, uuid.UUID | None]]] = {}

    @staticmethod
    def _info(emp: Employee) -> PersonInfo:
        return PersonInfo(
            emp.id,
            emp.name,
            emp.employee_no,
            emp.manager_id,
            emp.department_id,
            emp.grade,
            emp.active,
        )

    def person(self, person_id: uuid.UUID) -> PersonInfo | None:
        if person_id not in self._people:
            emp = self.session.get(Employee, person_id)
            self._people[person_id] = self._info(emp) if emp else None
        return self._people[person_id]

    def find_person(self, ref: str) -> PersonInfo | None:
        stmt = select(Employee).where(
            Employee.company_id == self.company_id, Employee.employee_no == ref
        )
        emp = self.session.scalars(stmt).first()
        if emp is None:
            try:
                emp = self.session.get(Employee, uuid.UUID(ref))
            except ValueError:
                return None
        if emp is None or emp.company_id != self.company_id:
            return None
        return self._info(emp)

    def department(self, dept_id: uuid.UUID) -> DeptInfo | None:
        dept = self.session.get(Department, dept_id)
        return DeptInfo(dept.id, dept.code, dept.parent_id, dept.head_id) if dept else None

    def cost_center_owner(self, cost_center_id: uuid.UUID) -> uuid.UUID | None:
        center = self.session.get(CostCenter, cost_center_id)
        return center.owner_id if center else None

    def role_holders(
        self, role: str, department_id: uuid.UUID | None = None
    ) -> frozenset[uuid.UUID]:
        if role not in self._roles:
            rows = self.session.execute(
                select(User.employee_id, RoleAssignment.scope, RoleAssignment.department_id)
                .join(RoleAssignment, RoleAssignment.user_id == User.id)
                .join(Employee, Employee.id == User.employee_id)
                .where(
                    RoleAssignment.role == role,
                    or_(
                        RoleAssignment.company_id == self.company_id,
                        RoleAssignment.scope == DataScope.ALL,
                    ),
                    User.active.is_(True),
                    Employee.active.is_(True),
                )
            )
            self._roles[role] = [(r.employee_id, r.scope, r.department_id) for r in rows]
        reach = self._ancestors(department_id)
        return frozenset(
            person
            for person, scope, root in self._roles[role]
            if person is not None
            and (
                scope in (DataScope.COMPANY, DataScope.ALL)
                or (scope == DataScope.DEPARTMENT and root in reach)
            )
        )

    def _ancestors(self, department_id: uuid.UUID | None) -> set[uuid.UUID]:
        """The department and every one above it: the roots whose subtree holds it."""
        out: set[uuid.UUID] = set()
        while department_id is not None and department_id not in out:
            out.add(department_id)
            dept = self.department(department_id)
            department_id = dept.parent_id if dept else None
        return out

    def delegate_of(self, person_id: uuid.UUID, at: datetime) -> uuid.UUID | None:
        return self.session.scalar(
            select(ApprovalDelegation.delegate_id)
            .where(
                ApprovalDelegation.delegator_id == person_id,
                ApprovalDelegation.revoked_at.is_(None),
                ApprovalDelegation.starts_at <= at,
                ApprovalDelegation.ends_at > at,
            )
            .order_by(ApprovalDelegation.created_at.desc())
            .limit(1)
        )
