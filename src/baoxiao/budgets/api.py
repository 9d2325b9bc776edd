"""Budget endpoints: define, adjust, import/export, positions and the ledger."""

from __future__ import annotations

import uuid
from datetime import date

from fastapi import APIRouter, Request, Response, status
from starlette.concurrency import run_in_threadpool

from baoxiao.budgets import excel, service
from baoxiao.budgets.schemas import (
    BudgetAdjust,
    BudgetCreate,
    BudgetRead,
    BudgetUpdate,
    ClaimBudgetRead,
    EntryRead,
    ImportResult,
)
from baoxiao.identity import permissions
from baoxiao.identity.deps import CurrentPrincipal, DbSession
from baoxiao.kernel.routing import TransactionalRoute

router = APIRouter(route_class=TransactionalRoute, tags=["budgets"])


@router.post("/budgets", response_model=BudgetRead, status_code=status.HTTP_201_CREATED)
def create_budget(
    body: BudgetCreate, principal: CurrentPrincipal, session: DbSession
) -> BudgetRead:
    """Define a budget for a month, quarter or year (block, warn or track)."""
    return service.to_read(session, service.create(session, principal, body))


@router.get("/budgets", response_model=list[BudgetRead])
def list_budgets(
    principal: CurrentPrincipal, session: DbSession, on: date | None = None
) -> list[BudgetRead]:
    """Budgets with their position (total, occupied, consumed, available); `on` picks a date."""
    return [service.to_read(session, b) for b in service.list_budgets(session, principal, on)]


@router.get("/budgets/export")
def export_budgets(principal: CurrentPrincipal, session: DbSession) -> Response:
    """Every budget and its position as an Excel sheet."""
    return Response(
        excel.export(session, principal),
        media_type=excel.XLSX,
        headers={"Content-Disposition": 'attachment; filename="budgets.xlsx"'},
    )


@router.post("/budgets/import", response_model=ImportResult)
async def import_budgets(
    request: Request, principal: CurrentPrincipal, session: DbSession
) -> ImportResult:
    """Create or adjust budgets from an Excel sheet (the body is the .xlsx file); all or nothing."""
    content = await request.body()
    return await run_in_threadpool(excel.import_budgets, session, principal, content)


@router.get("/budgets/{budget_id}", response_model=BudgetRead)
def get_budget(budget_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> BudgetRead:
    """One budget and its position."""
    return service.to_read(session, service.get(session, principal, budget_id))


@router.patch("/budgets/{budget_id}", response_model=BudgetRead)
def update_budget(
    budget_id: uuid.UUID, body: BudgetUpdate, principal: CurrentPrincipal, session: DbSession
) -> BudgetRead:
    """Rename, change control mode or owner, or deactivate."""
    return service.to_read(session, service.update(session, principal, budget_id, body))


@router.post("/budgets/{budget_id}/adjustments", response_model=EntryRead)
def adjust_budget(
    budget_id: uuid.UUID, body: BudgetAdjust, principal: CurrentPrincipal, session: DbSession
) -> EntryRead:
    """Raise or lower the budget by a signed amount (a ledger entry)."""
    return EntryRead.model_validate(
        service.adjust(session, principal, budget_id, body.amount, body.reason)
    )


@router.get("/budgets/{budget_id}/entries", response_model=list[EntryRead])
def budget_entries(
    budget_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> list[EntryRead]:
    """The budget's ledger, oldest first: every occupation, release, consumption, adjustment."""
    return [EntryRead.model_validate(e) for e in service.entries(session, principal, budget_id)]


@router.get("/claims/{claim_id}/budget", response_model=ClaimBudgetRead)
def claim_budget(
    claim_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> ClaimBudgetRead:
    """The budgets the claim's lines hit and their position, for the claimant and approvers."""
    claim = permissions.load_visible_claim(session, principal, claim_id)
    return service.claim_budgets(session, claim)
