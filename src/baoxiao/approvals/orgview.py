"""What the pure engine may ask about the organisation, and an in-memory answer.

The engine never touches the database: the service hands it an OrgView
(orgdb.DbOrgView reads lazily through the session; InMemoryOrg serves tests
and the benchmark).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class PersonInfo:
    id: uuid.UUID
    name: str
    employee_no: str
    manager_id: uuid.UUID | None
    department_id: uuid.UUID | None
    grade: str | None
    active: bool = True


@dataclass(frozen=True)
class DeptInfo:
    id: uuid.UUID
    code: str
    parent_id: uuid.UUID | None
    head_id: uuid.UUID | None


@dataclass(frozen=True)
class Delegation:
    delegator_id: uuid.UUID
    delegate_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime


class OrgView(Protocol):
    def person(self, person_id: uuid.UUID) -> PersonInfo | None: ...
    def find_person(self, ref: str) -> PersonInfo | None: ...
    def department(self, dept_id: uuid.UUID) -> DeptInfo | None: ...
    def cost_center_owner(self, cost_center_id: uuid.UUID) -> uuid.UUID | None: ...
    def role_holders(
        self, role: str, department_id: uuid.UUID | None = None
    ) -> frozenset[uuid.UUID]:
        """People whose grant of `role` reaches a claim of that department: company-wide
        holders always, department-scoped ones when it lies in their subtree."""
        ...

    def delegate_of(self, person_id: uuid.UUID, at: datetime) -> uuid.UUID | None: ...


@dataclass
class InMemoryOrg:
    people: dict[uuid.UUID, PersonInfo] = field(default_factory=dict)
    departments: dict[uuid.UUID, DeptInfo] = field(default_factory=dict)
    cost_centers: dict[uuid.UUID, uuid.UUID | None] = field(default_factory=dict)
    roles: dict[str, frozenset[uuid.UUID]] = field(default_factory=dict)  # company-wide
    # (role, subtree root) -> holders whose grant reaches only that subtree
    department_roles: dict[tuple[str, uuid.UUID], frozenset[uuid.UUID]] = field(
        default_factory=dict
    )
    delegations: list[Delegation] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_no = {p.employee_no: p for p in self.people.values()}

    def person(self, person_id: uuid.UUID) -> PersonInfo | None:
        return self.people.get(person_id)

    def find_person(self, ref: str) -> PersonInfo | None:
        found = self._by_no.get(ref)
        if found is None:
            try:
                found = self.people.get(uuid.UUID(ref))
            except ValueError:
                return None
        return found

    def department(self, dept_id: uuid.UUID) -> DeptInfo | None:
        return self.departments.get(dept_id)

    def cost_center_owner(self, cost_center_id: uuid.UUID) -> uuid.UUID | None:
        return self.cost_centers.get(cost_center_id)

    def role_holders(
        self, role: str, department_id: uuid.UUID | None = None
    ) -> frozenset[uuid.UUID]:
        holders = set(self.roles.get(role, frozenset()))
        dept = self.departments.get(department_id) if department_id else None
        seen: set[uuid.UUID] = set()
        while dept is not None and dept.id not in seen:
            seen.add(dept.id)
            holders |= self.department_roles.get((role, dept.id), frozenset())
            dept = self.departments.get(dept.parent_id) if dept.parent_id else None
        return frozenset(holders)

    def delegate_of(self, person_id: uuid.UUID, at: datetime) -> uuid.UUID | None:
        for d in self.delegations:
            if d.delegator_id == person_id and d.starts_at <= at < d.ends_at:
                return d.delegate_id
        return None
