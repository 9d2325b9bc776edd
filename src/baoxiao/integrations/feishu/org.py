"""Org sync from Feishu contact v3: full on demand, incremental from contact events.

Departments become Baoxiao departments (tree, leader as head); users become employees
(department, leader as manager, employee number, email, active) with a sign-in account
holding the employee role. Who is who is decided by the instance's `match_key`
(open_id, union_id, user_id, email or employee_no) the first time, then by the stored
external reference. A user who left Feishu (deleted event, resigned, or missing from a
full sync) is deactivated with their approval tasks handed over.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.approvals.handover import hand_over_tasks
from baoxiao.audit.service import record as audit
from baoxiao.identity.lifecycle import deactivate_user, leaver_fallback
from baoxiao.integrations.feishu import refs
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.ids import new_id
from baoxiao.models.identity import Role, RoleAssignment, User
from baoxiao.models.integration import ConnectorInstance, ExternalRef, InboxStatus
from baoxiao.models.org import Department, Employee

Progress = Callable[[str, int], None]


@dataclass
class SyncReport:
    departments_created: int = 0
    departments_updated: int = 0
    employees_created: int = 0
    employees_updated: int = 0
    deactivated: int = 0
    errors: list[str] = field(default_factory=list)


def _employee_ref_data(user: dict[str, Any]) -> dict[str, Any]:
    keys = ("union_id", "user_id", "email", "employee_no", "name")
    return {k: user.get(k) for k in keys if user.get(k)}


class OrgSync:
    """Upserts for one connector instance, with lookups cached for a whole sync."""

    def __init__(self, session: Session, instance: ConnectorInstance) -> None:
        self.session, self.instance = session, instance
        self.company_id = instance.company_id
        self.match_key = str(instance.config.get("match_key", "email"))
        self.actor = f"connector:feishu:{instance.name}"
        self.dept_refs = refs.all_of(session, instance.id, refs.DEPARTMENT)
        self.emp_refs = refs.all_of(session, instance.id, refs.EMPLOYEE)
        self.uid_refs = refs.all_of(session, instance.id, refs.EMPLOYEE_USER_ID)
        self.report = SyncReport()
        self._usernames: set[str] | None = None
        self._subjects: dict[str, set[uuid.UUID]] = {}
        self._employees: dict[uuid.UUID, Employee] | None = None
        self._emails: dict[str, Employee] | None = None

    def _link(
        self,
        kind: str,
        cache: dict[str, ExternalRef],
        subject_id: uuid.UUID,
        external_id: str,
        data: dict[str, Any],
    ) -> ExternalRef:
        """Update the cached link, or add one without a lookup when none can exist yet."""
        if kind not in self._subjects:
            self._subjects[kind] = {r.subject_id for r in cache.values()}
        subjects = self._subjects[kind]
        ref = cache.get(external_id)
        if ref is not None and ref.subject_id == subject_id:
            if {**ref.data, **data} != ref.data:
                ref.data = {**ref.data, **data}
            ref.seen_at = utcnow()
        elif ref is None and subject_id not in subjects:
            ref = ExternalRef(
                id=new_id(),
                connector_id=self.instance.id,
                subject_type=kind,
                subject_id=subject_id,
                external_id=external_id,
                data=data,
            )
            self.session.add(ref)
        else:  # the link moves: let refs.put resolve both directions
            self.session.flush()
            ref = refs.put(self.session, self.instance.id, kind, subject_id, external_id, data)
            for key in [k for k, v in cache.items() if v.subject_id == subject_id]:
                del cache[key]
        cache[external_id] = ref
        subjects.add(subject_id)
        return ref

    def _audit(self, action: str, subject_type: str, subject_id: uuid.UUID, **data: Any) -> None:
        audit(
            self.session,
            actor=self.actor,
            action=action,
            subject_type=subject_type,
            subject_id=str(subject_id),
            company_id=str(self.company_id),
            data=data,
        )

    # -- departments ---------------------------------------------------------------
    def department(self, item: dict[str, Any]) -> Department:
        open_id = item["open_department_id"]
        ref = self.dept_refs.get(open_id)
        dept = self.session.get(Department, ref.subject_id) if ref else None
        if dept is None:
            code = str(item.get("department_id") or open_id)[:64]
            dept = self.session.scalars(
                select(Department).where(
                    Department.company_id == self.company_id, Department.code == code
                )
            ).first()
        if dept is None:
            dept = Department(
                id=new_id(),
                company_id=self.company_id,
                code=str(item.get("department_id") or open_id)[:64],
                name=item["name"][:200],
            )
            self.session.add(dept)
            self.report.departments_created += 1
            self._audit("org:department_create", "department", dept.id, feishu=open_id)
        elif dept.name != item["name"][:200] or not dept.active:
            self.report.departments_updated += 1
            self._audit("org:department_update", "department", dept.id, name=item["name"])
        dept.name, dept.active = item["name"][:200], True
        self._link(refs.DEPARTMENT, self.dept_refs, dept.id, open_id, {"name": item["name"]})
        return dept

    def link_departments(self, items: Iterable[dict[str, Any]]) -> None:
        """Parents and heads once every department and employee exists."""
        for item in items:
            ref = self.dept_refs.get(item["open_department_id"])
            dept = self.session.get(Department, ref.subject_id) if ref else None
            if dept is None:
                continue
            parent = self.dept_refs.get(item.get("parent_department_id") or "")
            dept.parent_id = parent.subject_id if parent else None
            leader = self.emp_refs.get(item.get("leader_user_id") or "")
            dept.head_id = leader.subject_id if leader else None

    # -- employees ----------------------------------------------------------------
    def _find_employee(self, user: dict[str, Any]) -> Employee | None:
        if self._employees is None:  # one query for the whole sync, not one per user
            rows = self.session.scalars(
                select(Employee).where(Employee.company_id == self.company_id)
            )
            self._employees = {e.id: e for e in rows}
        ref = self.emp_refs.get(user["open_id"])
        if ref is not None:
            return self._employees.get(ref.subject_id)
        value = user.get(self.match_key)
        if not value or self.match_key not in ("email", "employee_no"):
            return None  # open_id, union_id, user_id: known only through the reference
        return (
            next((e for e in self._employees.values() if getattr(e, self.match_key) == value), None)
            if self.match_key == "employee_no"
            else self._by_email().get(str(value))
        )

    def _by_email(self) -> dict[str, Employee]:
        if self._emails is None:
            assert self._employees is not None
            self._emails = {e.email: e for e in self._employees.values() if e.email}
        return self._emails

    def employee(self, user: dict[str, Any]) -> Employee:
        emp = self._find_employee(user)
        dept_ref = next(
            (self.dept_refs[d] for d in user.get("department_ids") or [] if d in self.dept_refs),
            None,
        )
        fields = {
            "name": user["name"][:100],
            "email": (user.get("email") or user.get("enterprise_email") or None),
            "mobile": (user.get("mobile") or None),
            "department_id": dept_ref.subject_id if dept_ref else None,
        }
        if emp is None:
            emp = Employee(
                id=new_id(),
                company_id=self.company_id,
                employee_no=str(user.get("employee_no") or user.get("user_id") or user["open_id"])[
                    :64
                ],
                **fields,
            )
            self.session.add(emp)
            if self._employees is not None:
                self._employees[emp.id] = emp
            self._account(emp, user)
            self.report.employees_created += 1
            self._audit("org:employee_create", "employee", emp.id, feishu=user["open_id"])
        else:
            changed = {k: v for k, v in fields.items() if getattr(emp, k) != v}
            for key, value in changed.items():
                setattr(emp, key, value)
            if changed:
                self.report.employees_updated += 1
                self._audit(
                    "org:employee_update",
                    "employee",
                    emp.id,
                    fields=sorted(changed),
                    feishu=user["open_id"],
                )
        self._link(refs.EMPLOYEE, self.emp_refs, emp.id, user["open_id"], _employee_ref_data(user))
        if user.get("user_id"):
            self._link(refs.EMPLOYEE_USER_ID, self.uid_refs, emp.id, str(user["user_id"]), {})
        return emp

    def _account(self, emp: Employee, user: dict[str, Any]) -> None:
        username = str(user.get("email") or f"feishu-{user.get('user_id') or user['open_id']}")
        if self._usernames is None:
            self._usernames = set(self.session.scalars(select(User.username)))
        if username in self._usernames:
            username = f"feishu-{user['open_id']}"
        self._usernames.add(username)
        account = User(
            company_id=self.company_id,
            username=username[:150],
            display_name=emp.name,
            employee_id=emp.id,
        )
        account.roles = [RoleAssignment(role=Role.EMPLOYEE.value, company_id=self.company_id)]
        self.session.add(account)

    def link_managers(self, users: Iterable[dict[str, Any]]) -> None:
        for user in users:
            own = self.emp_refs.get(user["open_id"])
            leader = self.emp_refs.get(user.get("leader_user_id") or "")
            if own is None:
                continue
            emp = self.session.get(Employee, own.subject_id)
            if emp is not None:
                emp.manager_id = leader.subject_id if leader else None

    def leave(self, open_id: str, reason: str) -> bool:
        ref = self.emp_refs.get(open_id)
        emp = self.session.get(Employee, ref.subject_id) if ref else None
        if emp is None or not emp.active:
            return False
        deactivate_employee(self.session, emp, actor=self.actor, reason=reason)
        self.report.deactivated += 1
        return True


def deactivate_employee(session: Session, employee: Employee, *, actor: str, reason: str) -> None:
    """A leaver: with an account, identity.lifecycle.deactivate_user does it all (tokens,
    sessions, hand-over, audit); an employee without one is made inactive here and their
    open approval tasks are handed over the same way (to the company's configured
    fallback for leavers, if any), audited."""
    user_id = session.scalars(select(User.id).where(User.employee_id == employee.id)).first()
    if user_id is not None:
        deactivate_user(session, user_id, actor=actor, reason=reason)
        return
    employee.active = False
    fallback = leaver_fallback(session, employee.company_id)
    moved = hand_over_tasks(session, employee.id, actor, fallback=fallback)
    audit(
        session,
        actor=actor,
        action="identity:deactivate",
        subject_type="employee",
        subject_id=str(employee.id),
        company_id=str(employee.company_id),
        data={
            "reason": reason,
            "user_id": None,
            "tasks_handed_over": len(moved),
            "fallback_employee_id": str(fallback) if fallback else None,
        },
    )


def full_sync(
    session: Session,
    instance: ConnectorInstance,
    departments: list[dict[str, Any]],
    users_of: Callable[[str], Iterable[dict[str, Any]]],
    progress: Progress | None = None,
) -> SyncReport:
    """Apply a complete directory listing; users missing from it are deactivated."""
    sync = OrgSync(session, instance)
    for item in departments:
        sync.department(item)
        if progress:
            progress("departments", 1)
    seen: dict[str, dict[str, Any]] = {}
    for dept_id in ["0", *(d["open_department_id"] for d in departments)]:
        for user in users_of(dept_id):
            if user["open_id"] in seen:
                continue
            seen[user["open_id"]] = user
            if (user.get("status") or {}).get("is_resigned"):
                continue
            sync.employee(user)
            if progress:
                progress("users", 1)
    sync.link_departments(departments)
    sync.link_managers(u for u in seen.values() if not (u.get("status") or {}).get("is_resigned"))
    for open_id in list(sync.emp_refs):
        listed = seen.get(open_id)
        if listed is None or (listed.get("status") or {}).get("is_resigned"):
            sync.leave(open_id, "not in Feishu any more")
    session.flush()
    return sync.report


def apply_event(
    session: Session, instance: ConnectorInstance, event_type: str, event: dict[str, Any]
) -> tuple[str, str]:
    """An incremental change from a contact.* event."""
    sync = OrgSync(session, instance)
    obj = event.get("object") or {}
    if event_type in ("contact.user.created_v3", "contact.user.updated_v3"):
        if (obj.get("status") or {}).get("is_resigned"):
            left = sync.leave(obj["open_id"], "resigned in Feishu")
            return InboxStatus.APPLIED, f"user {obj['open_id']} resigned (deactivated={left})"
        sync.employee(obj)
        sync.link_managers([obj])
        return InboxStatus.APPLIED, f"user {obj['open_id']} synced"
    if event_type == "contact.user.deleted_v3":
        left = sync.leave(obj["open_id"], "deleted in Feishu")
        return InboxStatus.APPLIED, f"user {obj['open_id']} deleted (deactivated={left})"
    if event_type in ("contact.department.created_v3", "contact.department.updated_v3"):
        sync.department(obj)
        sync.link_departments([obj])
        return InboxStatus.APPLIED, f"department {obj['open_department_id']} synced"
    if event_type == "contact.department.deleted_v3":
        ref = sync.dept_refs.get(obj.get("open_department_id", ""))
        dept = session.get(Department, ref.subject_id) if ref else None
        if dept is None:
            return InboxStatus.IGNORED, "unknown department"
        dept.active = False
        sync._audit("org:department_deactivate", "department", dept.id)
        return InboxStatus.APPLIED, f"department {dept.code} deactivated"
    return InboxStatus.IGNORED, f"unhandled contact event {event_type}"
