"""The finance workspace: payable claims, payments waiting for the bank, payment results."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Form, Request, Response

from baoxiao.identity import permissions
from baoxiao.identity.deps import CsrfProtected, DbSession, WebPrincipal
from baoxiao.kernel.errors import Forbidden
from baoxiao.payments import queries, service
from baoxiao.web.pages import page_router, redirect, render

router = page_router(prefix="/finance")


def _require_finance(principal: permissions.Principal) -> None:
    if not permissions.has_right_anywhere(principal, permissions.Right.CLAIM_PAY):
        raise Forbidden()


@router.get("")
def workspace(request: Request, principal: WebPrincipal, session: DbSession) -> Response:
    """Claims to pay, payments in flight and the latest results; a finance reviewer who
    pays nothing lands on the vouchers."""
    if not permissions.has_right_anywhere(
        principal, permissions.Right.CLAIM_PAY
    ) and permissions.has_right_anywhere(principal, permissions.Right.VOUCHER_EXPORT):
        return redirect("/finance/vouchers")
    _require_finance(principal)
    return render(
        request,
        "payments/workspace.html",
        payable=queries.payable_claims(session, principal),
        pending=queries.payments(session, principal, queries.PENDING),
        finished=queries.payments(session, principal, queries.FINISHED, limit=30),
        can_batch=permissions.has_right(
            principal, permissions.Right.PAYMENT_BATCH, principal.company_id
        ),
    )


def _back(request: Request, done: str) -> Response:
    return redirect(f"/finance?done={done}", request)


@router.post("/claims/{claim_id}/mark-paid", dependencies=[CsrfProtected])
def mark_paid(
    request: Request,
    claim_id: uuid.UUID,
    principal: WebPrincipal,
    session: DbSession,
    external_reference: Annotated[str, Form()] = "",
) -> Response:
    """Record a payment made outside Baoxiao: the claim is paid at once."""
    service.mark_paid(session, principal, claim_id, external_reference.strip() or None)
    return _back(request, "paid")


@router.post("/claims/{claim_id}/pay", dependencies=[CsrfProtected])
def request_payment(
    request: Request, claim_id: uuid.UUID, principal: WebPrincipal, session: DbSession
) -> Response:
    """Start a payment; its bank result is recorded below."""
    service.request_payment(session, principal, claim_id)
    return _back(request, "requested")


@router.post("/payments/{payment_id}/succeed", dependencies=[CsrfProtected])
def payment_succeeded(
    request: Request,
    payment_id: uuid.UUID,
    principal: WebPrincipal,
    session: DbSession,
    external_reference: Annotated[str, Form()] = "",
) -> Response:
    """The bank executed the payment."""
    service.record_success(session, principal, payment_id, external_reference.strip() or None)
    return _back(request, "succeeded")


@router.post("/payments/{payment_id}/fail", dependencies=[CsrfProtected])
def payment_failed(
    request: Request,
    payment_id: uuid.UUID,
    principal: WebPrincipal,
    session: DbSession,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """The bank refused the payment; the claim is payable again."""
    service.record_failure(session, principal, payment_id, reason.strip() or "-")
    return _back(request, "failed")
