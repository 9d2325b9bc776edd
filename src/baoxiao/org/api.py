"""Org lookups: company, departments, cost centers, employees, categories, currencies."""

from __future__ import annotations

from fastapi import APIRouter

from baoxiao.identity.deps import CurrentPrincipal, DbSession
from baoxiao.kernel.routing import TransactionalRoute
from baoxiao.models.catalog import ExchangeRate, ExpenseCategory
from baoxiao.models.org import CostCenter, Department, Employee
from baoxiao.org import service
from baoxiao.org.schemas import (
    CategoryRead,
    CompanyRead,
    CostCenterRead,
    CurrencyRead,
    DepartmentRead,
    EmployeeRead,
    ExchangeRateRead,
)

router = APIRouter(route_class=TransactionalRoute, tags=["org"])


@router.get("/company", response_model=CompanyRead)
def get_company(principal: CurrentPrincipal, session: DbSession) -> CompanyRead:
    """The caller's company."""
    return CompanyRead.model_validate(service.company(session, principal))


@router.get("/departments", response_model=list[DepartmentRead])
def departments(principal: CurrentPrincipal, session: DbSession) -> list[DepartmentRead]:
    """The department tree, flat (follow parent_id)."""
    return [
        DepartmentRead.model_validate(d)
        for d in service.list_in_company(session, principal, Department)
    ]


@router.get("/cost-centers", response_model=list[CostCenterRead])
def cost_centers(principal: CurrentPrincipal, session: DbSession) -> list[CostCenterRead]:
    """Cost centers of the caller's company."""
    return [
        CostCenterRead.model_validate(c)
        for c in service.list_in_company(session, principal, CostCenter)
    ]


@router.get("/employees", response_model=list[EmployeeRead])
def employees(principal: CurrentPrincipal, session: DbSession) -> list[EmployeeRead]:
    """Employees of the caller's company."""
    return [
        EmployeeRead.model_validate(e)
        for e in service.list_in_company(session, principal, Employee)
    ]


@router.get("/expense-categories", response_model=list[CategoryRead])
def categories(
    principal: CurrentPrincipal, session: DbSession, include_inactive: bool = False
) -> list[CategoryRead]:
    """Expense categories with their GL accounts."""
    rows = service.list_in_company(
        session, principal, ExpenseCategory, active_only=not include_inactive
    )
    return [CategoryRead.model_validate(c) for c in rows]


@router.get("/currencies", response_model=list[CurrencyRead])
def currencies(principal: CurrentPrincipal, session: DbSession) -> list[CurrencyRead]:
    """Enabled currencies with their minor units."""
    return [CurrencyRead.model_validate(c) for c in service.currencies(session)]


@router.get("/exchange-rates", response_model=list[ExchangeRateRead])
def exchange_rates(principal: CurrentPrincipal, session: DbSession) -> list[ExchangeRateRead]:
    """Exchange rates with their effective dates."""
    return [
        ExchangeRateRead.model_validate(r)
        for r in service.list_in_company(session, principal, ExchangeRate)
    ]
