"""Reading the organisation: what every signed-in person may look up in their company."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.identity.permissions import Right, require_right
from baoxiao.identity.principal import Principal
from baoxiao.models.catalog import Currency, ExchangeRate, ExpenseCategory
from baoxiao.models.org import Company, CostCenter, Department, Employee

T = TypeVar("T", Department, CostCenter, Employee, ExpenseCategory, ExchangeRate)


def company(session: Session, principal: Principal) -> Company:
    require_right(principal, Right.ORG_VIEW, principal.company_id)
    found = session.get(Company, principal.company_id)
    assert found is not None
    return found


def list_in_company(
    session: Session, principal: Principal, model: type[T], active_only: bool = False
) -> Sequence[T]:
    """Rows of one org table in the caller's company, in their natural order."""
    require_right(principal, Right.ORG_VIEW, principal.company_id)
    stmt = select(model).where(model.company_id == principal.company_id)
    if active_only and model is not ExchangeRate:
        stmt = stmt.where(model.active.is_(True))  # type: ignore[attr-defined]
    return session.scalars(stmt.order_by(*_ORDER[model])).all()


_ORDER: dict[type, tuple[Any, ...]] = {
    Department: (Department.code,),
    CostCenter: (CostCenter.code,),
    Employee: (Employee.employee_no,),
    ExpenseCategory: (ExpenseCategory.code,),
    ExchangeRate: (ExchangeRate.base, ExchangeRate.effective_date),
}


def currencies(session: Session) -> Sequence[Currency]:
    return session.scalars(
        select(Currency).where(Currency.active.is_(True)).order_by(Currency.code)
    ).all()
