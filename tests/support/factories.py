"""Build small, realistic org fixtures directly in the database (no HTTP)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from baoxiao.identity.service import issue_token
from baoxiao.kernel.money import ISO_MINOR_UNITS
from baoxiao.models import (
    Company,
    CostCenter,
    Currency,
    Department,
    Employee,
    ExchangeRate,
    ExpenseCategory,
    Role,
    RoleAssignment,
    User,
)


@dataclass
class Person:
    user: User
    employee: Employee | None
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class World:
    company: Company
    departments: dict[str, Department]
    categories: dict[str, ExpenseCategory]
    people: dict[str, Person] = field(default_factory=dict)
    other_company: Company | None = None

    def __getitem__(self, name: str) -> Person:
        return self.people[name]


def ensure_currencies(
    session: Session, codes: tuple[str, ...] = ("CNY", "USD", "JPY", "EUR")
) -> None:
    for code in codes:
        if session.get(Currency, code) is None:
            session.add(Currency(code=code, name=code, minor_units=ISO_MINOR_UNITS[code]))
    session.flush()


def make_company(
    session: Session, code: str
) -> tuple[Company, dict[str, Department], dict[str, ExpenseCategory]]:
    company = Company(code=code, name=f"{code} 有限公司", base_currency="CNY")
    session.add(company)
    session.flush()
    root = Department(company_id=company.id, code="ROOT", name="总部")
    session.add(root)
    session.flush()
    depts = {"ROOT": root}
    for dcode in ("RD", "SALES", "FIN"):
        depts[dcode] = Department(company_id=company.id, code=dcode, name=dcode, parent_id=root.id)
        session.add(depts[dcode])
    cats = {
        c: ExpenseCategory(company_id=company.id, code=c, name_zh=c, name_en=c, gl_account="6602")
        for c in ("TAXI", "HOTEL", "MEAL")
    }
    cats["OLD"] = ExpenseCategory(
        company_id=company.id,
        code="OLD",
        name_zh="停用",
        name_en="Retired",
        gl_account="6699",
        active=False,
    )
    session.add_all(cats.values())
    session.add(
        ExchangeRate(
            company_id=company.id,
            base="USD",
            quote="CNY",
            rate=Decimal("7.10000000"),
            effective_date=date(2026, 1, 1),
        )
    )
    session.add(CostCenter(company_id=company.id, code="CC1", name="CC1"))
    session.flush()
    return company, depts, cats


def make_person(
    session: Session,
    company: Company,
    username: str,
    *,
    department: Department | None,
    manager: Employee | None = None,
    roles: tuple[str, ...] = (),
    scoped_roles: tuple[tuple[str, str, uuid.UUID | None], ...] = (),
    employee: bool = True,
    password_hash: str | None = None,
) -> Person:
    emp = None
    if employee:
        emp = Employee(
            company_id=company.id,
            employee_no=f"E-{username}",
            name=username,
            email=f"{username}@example.com",
            department_id=department.id if department else None,
            manager_id=manager.id if manager else None,
        )
        session.add(emp)
        session.flush()
    user = User(
        company_id=company.id,
        username=username,
        display_name=username,
        employee_id=emp.id if emp else None,
        password_hash=password_hash,
    )
    user.roles = [RoleAssignment(role=Role.EMPLOYEE.value, company_id=company.id)]
    user.roles += [RoleAssignment(role=r, company_id=company.id) for r in roles]
    user.roles += [
        RoleAssignment(role=r, company_id=company.id, scope=scope, department_id=dept_id)
        for r, scope, dept_id in scoped_roles
    ]
    session.add(user)
    session.flush()
    _token, plain = issue_token(session, user, name="test")
    return Person(user=user, employee=emp, token=plain)


def build_world(session: Session) -> World:
    """Company A with a claimant, their manager, a peer, two finance people, an admin
    and someone in another department; company B with one employee and one finance."""
    ensure_currencies(session)
    company, depts, cats = make_company(session, f"A{uuid.uuid4().hex[:6]}")
    world = World(company=company, departments=depts, categories=cats)
    p = world.people
    p["boss"] = make_person(
        session, company, f"boss-{company.code}", department=depts["ROOT"], roles=("manager",)
    )
    p["manager"] = make_person(
        session,
        company,
        f"manager-{company.code}",
        department=depts["RD"],
        manager=p["boss"].employee,
        roles=("manager",),
    )
    p["claimant"] = make_person(
        session,
        company,
        f"claimant-{company.code}",
        department=depts["RD"],
        manager=p["manager"].employee,
    )
    p["peer"] = make_person(
        session,
        company,
        f"peer-{company.code}",
        department=depts["RD"],
        manager=p["manager"].employee,
    )
    p["outsider"] = make_person(
        session,
        company,
        f"outsider-{company.code}",
        department=depts["SALES"],
        manager=p["boss"].employee,
    )
    p["finance"] = make_person(
        session,
        company,
        f"finance-{company.code}",
        department=depts["FIN"],
        manager=p["boss"].employee,
        roles=("finance",),
    )
    p["cashier"] = make_person(
        session,
        company,
        f"cashier-{company.code}",
        department=depts["FIN"],
        manager=p["boss"].employee,
        roles=("finance", "cashier"),
    )
    p["admin"] = make_person(
        session, company, f"admin-{company.code}", department=depts["ROOT"], roles=("admin",)
    )
    other, other_depts, _ = make_company(session, f"B{uuid.uuid4().hex[:6]}")
    world.other_company = other
    p["foreigner"] = make_person(
        session, other, f"foreigner-{other.code}", department=other_depts["RD"]
    )
    p["foreign_finance"] = make_person(
        session, other, f"ffin-{other.code}", department=other_depts["FIN"], roles=("finance",)
    )
    return world
