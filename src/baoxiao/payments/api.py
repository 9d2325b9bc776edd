"""Payment endpoints for finance."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status
from sqlalchemy.orm import Session

from baoxiao.identity.deps import CurrentPrincipal, DbSession
from baoxiao.kernel.routing import TransactionalRoute
from baoxiao.models.catalog import in_minor_units
from baoxiao.models.payment import Payment
from baoxiao.payments import service
from baoxiao.payments.schemas import MarkPaid, PaymentFailure, PaymentRead, PaymentResult

router = APIRouter(route_class=TransactionalRoute, tags=["payments"])


def _read(session: Session, payment: Payment) -> PaymentRead:
    read = PaymentRead.model_validate(payment)
    read.amount = in_minor_units(session, payment.amount, payment.currency)
    read.offset_amount = in_minor_units(session, payment.offset_amount, payment.currency)
    if payment.gross_amount is not None:
        read.gross_amount = in_minor_units(session, payment.gross_amount, payment.currency)
    return read


@router.post(
    "/claims/{claim_id}/mark-paid", response_model=PaymentRead, status_code=status.HTTP_201_CREATED
)
def mark_paid(
    claim_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: DbSession,
    body: MarkPaid | None = None,
) -> PaymentRead:
    """Record that an approved claim was paid outside Baoxiao."""
    payment = service.mark_paid(
        session, principal, claim_id, body.external_reference if body else None
    )
    return _read(session, payment)


@router.post(
    "/claims/{claim_id}/payments", response_model=PaymentRead, status_code=status.HTTP_201_CREATED
)
def request_payment(
    claim_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> PaymentRead:
    """Start paying an approved claim; the result is reported separately."""
    return _read(session, service.request_payment(session, principal, claim_id))


@router.get("/claims/{claim_id}/payments", response_model=list[PaymentRead])
def claim_payments(
    claim_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> list[PaymentRead]:
    """Every payment attempt of a claim."""
    return [_read(session, p) for p in service.payments_of(session, principal, claim_id)]


@router.post("/payments/{payment_id}/succeed", response_model=PaymentRead)
def payment_succeeded(
    payment_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: DbSession,
    body: PaymentResult | None = None,
) -> PaymentRead:
    """Report that the bank executed the payment (an amount that differs is refused)."""
    payment = service.record_success(
        session,
        principal,
        payment_id,
        body.external_reference if body else None,
        body.amount if body else None,
    )
    return _read(session, payment)


@router.post("/payments/{payment_id}/fail", response_model=PaymentRead)
def payment_failed(
    payment_id: uuid.UUID, body: PaymentFailure, principal: CurrentPrincipal, session: DbSession
) -> PaymentRead:
    """Report that the bank refused the payment; the claim becomes payable again."""
    return _read(session, service.record_failure(session, principal, payment_id, body.reason))


@router.post("/payments/{payment_id}/resend", response_model=PaymentRead)
def resend_payment(
    payment_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> PaymentRead:
    """Send a payment whose outcome is unknown again, under the same business reference."""
    return _read(session, service.resend(session, principal, payment_id))


@router.post("/payments/{payment_id}/query", response_model=PaymentRead)
def query_payment(
    payment_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> PaymentRead:
    """Ask the finance system for the outcome of a pending payment (payment.status_requested)."""
    return _read(session, service.query(session, principal, payment_id))
