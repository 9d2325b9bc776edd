"""Paying approved claims.

A payment moves the claim approved -> paying; its result moves it to paid,
or back to approved when the bank refuses. The database allows one live
(pending or succeeded) payment per claim, so a claim cannot be paid twice,
and while a payment's outcome is unknown no new reference can be made for
the claim: the cashier queries or resends the original (same reference).
The amount is what was approved minus the advances the claim offsets.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.claims import lifecycle
from baoxiao.identity import permissions
from baoxiao.identity.principal import Principal
from baoxiao.kernel import sequences
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.events import DomainEvent
from baoxiao.kernel.ids import new_id
from baoxiao.models.claim import Claim, ClaimAction
from baoxiao.models.org import Company
from baoxiao.models.payment import BankAccount, BatchStatus, Payment, PaymentBatch, PaymentStatus
from baoxiao.outbox.service import publish
from baoxiao.payments import offsets
from baoxiao.payments.errors import (
    PayeeChanged,
    PaymentAlreadyCompleted,
    PaymentAmountMismatch,
    PaymentNotFound,
    PaymentOutcomeUnknown,
)


def _reference(session: Session, claim: Claim) -> str:
    company = session.get(Company, claim.company_id)
    assert company is not None
    year = utcnow().astimezone(ZoneInfo(company.timezone)).year
    seq = sequences.next_value(session, claim.company_id, f"payment:{year}")
    return f"PAY-{company.code}-{year}-{seq:06d}"


def _payee(payment: Payment, account: BankAccount | None) -> dict[str, object]:
    return {
        "payee_name": payment.payee_name,
        "payee_bank": account.bank_name if account else None,
        "payee_account_masked": account.masked if account else None,
    }


def pending_of(session: Session, claim_id: uuid.UUID) -> Payment | None:
    return session.scalars(
        select(Payment).where(Payment.claim_id == claim_id, Payment.status == PaymentStatus.PENDING)
    ).first()


def request_payment(
    session: Session,
    principal: Principal,
    claim_id: uuid.UUID,
    method: str = "manual",
    *,
    batch: PaymentBatch | None = None,
) -> Payment:
    """Start paying an approved claim (approved -> paying)."""
    claim = permissions.load_visible_claim(session, principal, claim_id, lock=True)
    permissions.require_payer(session, principal, claim)
    waiting = pending_of(session, claim.id)
    if waiting is not None:
        raise PaymentOutcomeUnknown(reference=waiting.reference)
    account = session.scalars(
        select(BankAccount).where(BankAccount.employee_id == claim.claimant_id)
    ).first()
    gross = claim.payable_amount  # approvers may have approved lines at less
    offset = offsets.offset_total(session, claim.id)
    payment = Payment(
        id=new_id(),
        company_id=claim.company_id,
        claim_id=claim.id,
        reference=_reference(session, claim),
        amount=gross - offset,
        gross_amount=gross,
        offset_amount=offset,
        currency=claim.currency,
        method=method,
        status=PaymentStatus.PENDING,
        requested_by_id=principal.user_id,
        created_at=utcnow(),
        last_sent_at=utcnow(),
        send_count=1,
        query_count=0,
        batch_id=batch.id if batch else None,
        bank_account_id=account.id if account else None,
        payee_name=account.holder_name if account else None,
    )
    lifecycle.apply(
        session,
        claim,
        ClaimAction.START_PAYMENT,
        actor=principal.actor,
        actor_user_id=principal.user_id,
        extra=request_data(payment, account, batch),
    )
    session.add(payment)
    session.flush()
    return payment


def request_data(
    payment: Payment, account: BankAccount | None, batch: PaymentBatch | None
) -> dict[str, object]:
    """What payment.requested tells a finance system (account numbers only masked)."""
    return {
        "payment_reference": payment.reference,
        "payment_id": str(payment.id),
        "amount": str(payment.amount),
        "gross_amount": str(payment.gross_amount),
        "offset_amount": str(payment.offset_amount),
        "batch_reference": batch.reference if batch else None,
        "method": payment.method,
        **_payee(payment, account),
    }


def _load_payment(
    session: Session, principal: Principal, payment_id: uuid.UUID
) -> tuple[Payment, Claim]:
    claim_id = session.scalar(select(Payment.claim_id).where(Payment.id == payment_id))
    if claim_id is None:
        raise PaymentNotFound()
    claim = permissions.load_visible_claim(session, principal, claim_id, lock=True)
    # Recording the bank's answer, resending or querying is paying too: a claimant who
    # could mark their own paid transfer "failed" would be paid twice.
    permissions.require_payer(session, principal, claim)
    payment = session.scalars(
        select(Payment).where(Payment.id == payment_id).with_for_update()
    ).one()
    return payment, claim


def by_reference(session: Session, principal: Principal, reference: str) -> uuid.UUID:
    """The payment with this business reference, of a claim the caller's scope pays."""
    found = session.scalar(
        select(Payment.id)
        .join(Claim, Claim.id == Payment.claim_id)
        .where(
            Payment.reference == reference,
            permissions.claims_within(principal, permissions.Right.CLAIM_PAY),
        )
    )
    if found is None:
        raise PaymentNotFound()
    return found


def _check_amount(payment: Payment, amount: Decimal | None) -> None:
    if amount is not None and amount != payment.amount:
        raise PaymentAmountMismatch(
            reference=payment.reference, reported=str(amount), expected=str(payment.amount)
        )


def record_success(
    session: Session,
    principal: Principal,
    payment_id: uuid.UUID,
    external_reference: str | None = None,
    amount: Decimal | None = None,
) -> Payment:
    """The bank confirmed the transfer: the claim is paid. Repeating it changes nothing."""
    payment, claim = _load_payment(session, principal, payment_id)
    if payment.status == PaymentStatus.SUCCEEDED:
        return payment
    if payment.status != PaymentStatus.PENDING:
        raise PaymentAlreadyCompleted(current_status=payment.status)
    _check_amount(payment, amount)
    payment.status, payment.completed_at = PaymentStatus.SUCCEEDED, utcnow()
    payment.external_reference = external_reference
    session.flush()
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
    _close_batch(session, payment)
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
    session.flush()
    lifecycle.apply(
        session,
        claim,
        ClaimAction.FAIL_PAYMENT,
        actor=principal.actor,
        actor_user_id=principal.user_id,
        comment=reason,
        extra={"payment_reference": payment.reference, "reason": reason},
    )
    _close_batch(session, payment)
    return payment


def _close_batch(session: Session, payment: Payment) -> None:
    if payment.batch_id is None:
        return
    batch = session.get(PaymentBatch, payment.batch_id)
    assert batch is not None
    open_left = session.scalar(
        select(Payment.id).where(
            Payment.batch_id == batch.id, Payment.status == PaymentStatus.PENDING
        )
    )
    if open_left is None and batch.closed_at is None:
        batch.status, batch.closed_at = BatchStatus.CLOSED, utcnow()


def _claim_event(claim: Claim, payment: Payment, event_type: str, **data: object) -> DomainEvent:
    return DomainEvent(
        type=event_type,
        subject_type="claim",
        subject_id=str(claim.id),
        company_id=str(claim.company_id),
        data={
            "claim_id": str(claim.id),
            "number": claim.number,
            "payment_id": str(payment.id),
            "payment_reference": payment.reference,
            "amount": str(payment.amount),
            "currency": payment.currency,
            **data,
        },
    )


def resend(session: Session, principal: Principal, payment_id: uuid.UUID) -> Payment:
    """Send a payment whose outcome is unknown again, with the same reference (never a new one)."""
    payment, claim = _load_payment(session, principal, payment_id)
    permissions.require_payer(session, principal, claim)
    if payment.status != PaymentStatus.PENDING:
        raise PaymentAlreadyCompleted(current_status=payment.status)
    account = session.get(BankAccount, payment.bank_account_id) if payment.bank_account_id else None
    sent_at = payment.last_sent_at or payment.created_at
    if account is not None and account.updated_at > sent_at:
        raise PayeeChanged(reference=payment.reference)
    payment.send_count += 1
    payment.last_sent_at = utcnow()
    batch = session.get(PaymentBatch, payment.batch_id) if payment.batch_id else None
    event = _claim_event(
        claim,
        payment,
        "payment.requested",
        status=claim.status,
        previous_status=claim.status,
        claimant_id=str(claim.claimant_id),
        total_amount=str(claim.total_amount),
        resend=payment.send_count,
        **request_data(payment, account, batch),
    )
    publish(session, event)
    lifecycle.note(
        session,
        claim,
        "payment:resend",
        actor=principal.actor,
        actor_user_id=principal.user_id,
        extra={"payment_reference": payment.reference},
    )
    return payment


def query(session: Session, principal: Principal, payment_id: uuid.UUID) -> Payment:
    """Ask the finance system for a payment's outcome (payment.status_requested)."""
    payment, claim = _load_payment(session, principal, payment_id)
    if payment.status != PaymentStatus.PENDING:
        return payment  # already known
    payment.query_count += 1
    publish(
        session, _claim_event(claim, payment, "payment.status_requested", query=payment.query_count)
    )
    lifecycle.note(
        session,
        claim,
        "payment:query",
        actor=principal.actor,
        actor_user_id=principal.user_id,
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
