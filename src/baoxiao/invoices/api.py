"""The invoice registry under /api/v1/invoices (finance and admin)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from baoxiao.identity.deps import CurrentPrincipal, DbSession
from baoxiao.invoices import service
from baoxiao.invoices.schemas import InvoiceRead, VoidRequest
from baoxiao.kernel.routing import TransactionalRoute
from baoxiao.models.invoice import InvoiceStatus

router = APIRouter(prefix="/invoices", route_class=TransactionalRoute, tags=["invoices"])


@router.get("", response_model=list[InvoiceRead])
def list_invoices(
    principal: CurrentPrincipal,
    session: DbSession,
    status: InvoiceStatus | None = None,
    q: Annotated[str | None, Query(max_length=40, description="Part of code:number.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[InvoiceRead]:
    """The company's invoice registry, newest first."""
    rows = service.list_invoices(session, principal, status=status, q=q, limit=limit)
    return [InvoiceRead.model_validate(row) for row in rows]


@router.get("/{invoice_id}", response_model=InvoiceRead)
def get_invoice(
    invoice_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> InvoiceRead:
    """One invoice of the registry."""
    return InvoiceRead.model_validate(service.get_invoice(session, principal, invoice_id))


@router.post("/{invoice_id}/void", response_model=InvoiceRead)
def void_invoice(
    invoice_id: uuid.UUID, body: VoidRequest, principal: CurrentPrincipal, session: DbSession
) -> InvoiceRead:
    """Mark an invoice unusable; it no longer backs any line."""
    return InvoiceRead.model_validate(service.void(session, principal, invoice_id, body.reason))
