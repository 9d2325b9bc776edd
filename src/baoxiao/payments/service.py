"""Paying approved claims.

A payment moves the claim approved -> paying; its result moves it to paid,
or back to approved when the bank refuses. The database allows one live
(pending or succeeded) payment per claim, so a claim cannot be paid twice.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.claims import lifecycle
from baoxiao.identity import permissions
from baoxiao.identity.principal import Principal
from baoxiao.kernel import sequences
from baoxiao.kernel.clock import utcnow
from baoxiao.models.claim import Claim, ClaimAction
from baoxiao.models.org import Company
from baoxiao.models.payment import Payment, PaymentStatus
from baoxiao.outbox.service import publish
from baoxiao.payments.errors import PaymentAlreadyCompleted, PaymentNotFound


def _reference(session: Session, claim: Claim) -> str:
    company = session.get(Company, claim.company_id)
    assert company is not None
    year = utcnow().astimezone(ZoneInfo(company.timezone)).year
    seq = sequences.next_value(session, claim.company_id, f"payment:{year}")
    return f"PAY-{company.code}-{year}-{seq:06d}"


def request_payment(
    session: Session, principal: Principal, claim_id: uuid.UUID, method: str = "manual"
) -> Payment:
    """Start paying an approved claim (approved -> paying)."""
    claim = permissions.load_visible_claim(session, principal, claim_id, lock=True)
    permissions.require_payer(session, principal, claim)
    payment = Payment(
        company_id=claim.company_id,
        claim_id=claim.id,
        reference=_reference(session, claim),
        amount=claim.payable_amount,  # approvers may have approved lines at less
        currency=claim.currency,
        method=method,
        status=PaymentStatus.PENDING,
        requested_by_id=principal.user_id,
        created_at=utcnow(),
    )
    lifecycle.apply(
        session,
        claim,
        ClaimAction.START_PAYMENT,
        actor=principal.actor,
        actor_user_id=principal.user_id,
        extra={"payment_reference": payment.reference},
    )
    session.add(payment)
    session.flush()
    return payment


def _load_payment(
    session: Session, principal: Principal, payment_id: uuid.UUID
) -> tuple[Payment, Claim]:
    claim_id = session.scalar(select(Payment.claim_id).where(Payment.id == payment_id))
    if claim_id is None:
        raise PaymentNotFound()
    claim = permissions.load_visible_claim(session, principal, claim_id, lock=True)
    permissions.require_right_on_claim(session, principal, permissions.Right.CLAIM_PAY, claim)
    payment = session.scalars(
        select(Payment).where(Payment.id == payment_id).with_for_update()
    ).one()
    return payment, claim


def record_success(
    session: Session,
    principal: Principal,
    payment_id: uuid.UUID,
    external_reference: str | None = None,
) -> Payment:
    """The bank confirmed the transfer: the claim is paid. Repeating it changes nothing."""
    payment, claim = _load_payment(session, principal, payment_id)
    if payment.status == PaymentStatus.SUCCEEDED:
        return payment
    if payment.status != PaymentStatus.PENDING:
        raise PaymentAlreadyCompleted(current_status=payment.status)
    payment.status, payment.completed_at = PaymentStatus.SUCCEEDED, utcnow()
    payment.external_reference = external_reference
    paid = lifecycle.apply(
        session,
        claim,
        ClaimAction.PAY,
        actor=principal.actor,
        actor_user_id=principal.user_id,
        extra={"payment_reference": payment.reference},
    )
    assert paid is not None  # PAY always publishes claim.paid
    # Finance systems follow payments, claim systems follow claims: both hear of it.
    publish(
        session,
        replace(
            paid,
            type="payment.succeeded",
            data={
                **paid.data,
                "payment_id": str(payment.id),
                "amount": str(payment.amount),
                "external_reference": external_reference,
            },
        ),
    )
    return payment


def record_failure(
    session: Session, principal: Principal, payment_id: uuid.UUID, reason: str
) -> Payment:
    """The bank refused: the claim is payable again, with the reason on its timeline."""
    payment, claim = _load_payment(session, principal, payment_id)
    if payment.status == PaymentStatus.FAILED:
        return payment
    if payment.status != PaymentStatus.PENDING:
        raise PaymentAlreadyCompleted(current_status=payment.status)
    payment.status, payment.completed_at, payment.failure_reason = (
        PaymentStatus.FAILED,
        utcnow(),
        reason,
    )
    lifecycle.apply(
        session,
        claim,
        ClaimAction.FAIL_PAYMENT,
        actor=principal.actor,
        actor_user_id=principal.user_id,
        comment=reason,
        extra={"payment_reference": payment.reference},
    )
    return payment


def mark_paid(
    session: Session,
    principal: Principal,
    claim_id: uuid.UUID,
    external_reference: str | None = None,
) -> Payment:
    """Record a payment made outside Baoxiao (approved -> paying -> paid at once)."""
    payment = request_payment(session, principal, claim_id, method="manual")
    return record_success(session, principal, payment.id, external_reference)


def payments_of(session: Session, principal: Principal, claim_id: uuid.UUID) -> list[Payment]:
    claim = permissions.load_visible_claim(session, principal, claim_id)
    return list(
        session.scalars(
            select(Payment).where(Payment.claim_id == claim.id).order_by(Payment.created_at)
        )
    )
