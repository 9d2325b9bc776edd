"""Payment batches: a cashier pays several approved claims at once.

Each claim gets its one live payment (unique business reference) in the
batch; the batch is exported as a bank file, and each payment's result comes
back on its own (API, result upload or connector callback).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.audit.service import record as audit
from baoxiao.identity import permissions
from baoxiao.identity.permissions import Right
from baoxiao.identity.principal import Principal
from baoxiao.kernel import sequences
from baoxiao.kernel.clock import utcnow
from baoxiao.models.claim import Claim
from baoxiao.models.org import Company, Employee
from baoxiao.models.payment import BankAccount, BatchStatus, Payment, PaymentBatch
from baoxiao.payments import bankaccounts, service
from baoxiao.payments.errors import BankAccountMissing, BatchEmpty, BatchNotFound


@dataclass(frozen=True)
class ResultRow:
    reference: str
    succeeded: bool
    reason: str | None = None
    external_reference: str | None = None
    amount: Decimal | None = None


def _reference(session: Session, company: Company) -> str:
    year = utcnow().astimezone(ZoneInfo(company.timezone)).year
    seq = sequences.next_value(session, company.id, f"payment_batch:{year}")
    return f"PB-{company.code}-{year}-{seq:05d}"


def create(
    session: Session,
    principal: Principal,
    claim_ids: list[uuid.UUID],
    *,
    payer_account: str | None = None,
    payer_bank: str | None = None,
) -> PaymentBatch:
    """Start paying these approved claims together; all or none (the first refusal says why)."""
    company = session.get(Company, principal.company_id)
    assert company is not None
    permissions.require_right(principal, Right.PAYMENT_BATCH, company.id)
    if not claim_ids:
        raise BatchEmpty()
    batch = PaymentBatch(
        id=uuid.uuid4(),
        company_id=company.id,
        reference=_reference(session, company),
        status=BatchStatus.OPEN,
        payer_account=payer_account,
        payer_bank=payer_bank,
        currency=company.base_currency,
        total=Decimal(0),
        item_count=0,
        created_by_id=principal.user_id,
        created_at=utcnow(),
    )
    session.add(batch)
    session.flush()
    for claim_id in sorted(set(claim_ids)):  # one lock order for every batch
        claim = permissions.load_visible_claim(session, principal, claim_id)
        if bankaccounts.account_of(session, claim.claimant_id) is None:
            employee = session.get(Employee, claim.claimant_id)
            raise BankAccountMissing(name=employee.name if employee else "?", number=claim.number)
        payment = service.request_payment(
            session, principal, claim.id, method="bank_transfer", batch=batch
        )
        batch.total += payment.amount
        batch.item_count += 1
    session.flush()
    audit(
        session,
        actor=principal.actor,
        action="payment_batch:create",
        subject_type="payment_batch",
        subject_id=str(batch.id),
        company_id=str(company.id),
        at=utcnow(),
        data={"reference": batch.reference, "claims": batch.item_count, "total": str(batch.total)},
    )
    return batch


def get(session: Session, principal: Principal, batch_id: uuid.UUID) -> PaymentBatch:
    batch = session.get(PaymentBatch, batch_id)
    if batch is None or not permissions.has_right(principal, Right.PAYMENT_BATCH, batch.company_id):
        raise BatchNotFound()
    return batch


def list_batches(session: Session, principal: Principal) -> list[PaymentBatch]:
    permissions.require_right(principal, Right.PAYMENT_BATCH, principal.company_id)
    return list(
        session.scalars(
            select(PaymentBatch)
            .where(PaymentBatch.company_id == principal.company_id)
            .order_by(PaymentBatch.created_at.desc())
        )
    )


@dataclass(frozen=True)
class Item:
    payment: Payment
    claim: Claim
    account: BankAccount | None
    employee: Employee


def items(session: Session, batch: PaymentBatch) -> list[Item]:
    rows = session.execute(
        select(Payment, Claim, Employee)
        .join(Claim, Claim.id == Payment.claim_id)
        .join(Employee, Employee.id == Claim.claimant_id)
        .where(Payment.batch_id == batch.id)
        .order_by(Payment.reference)
    ).all()
    return [
        Item(p, c, session.get(BankAccount, p.bank_account_id) if p.bank_account_id else None, e)
        for p, c, e in rows
    ]


def mark_exported(session: Session, principal: Principal, batch: PaymentBatch, fmt: str) -> None:
    """Exporting shows full account numbers: audited, for holders of the reveal right only."""
    permissions.require_right(principal, Right.BANK_ACCOUNT_REVEAL, batch.company_id)
    batch.exported_at = utcnow()
    audit(
        session,
        actor=principal.actor,
        action="payment_batch:export",
        subject_type="payment_batch",
        subject_id=str(batch.id),
        company_id=str(batch.company_id),
        at=utcnow(),
        data={"reference": batch.reference, "format": fmt},
    )


def record_results(
    session: Session, principal: Principal, batch: PaymentBatch, rows: list[ResultRow]
) -> list[Payment]:
    """The bank's answers for a batch, by payment reference; repeats change nothing."""
    done = []
    for row in rows:
        payment_id = service.by_reference(session, principal, row.reference)
        payment = session.get(Payment, payment_id)
        if payment is None or payment.batch_id != batch.id:
            continue
        if row.succeeded:
            done.append(
                service.record_success(
                    session, principal, payment_id, row.external_reference, row.amount
                )
            )
        else:
            done.append(
                service.record_failure(
                    session, principal, payment_id, row.reason or "refused by the bank"
                )
            )
    return done
