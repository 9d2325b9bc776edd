"""What the finance workspace lists: claims to pay, payments waiting for the bank, results.

Each list holds only the claims the cashier's CLAIM_PAY grants reach by their data
scope: a cashier for Sales sees Sales' claims and payments, not the whole company's.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, selectinload

from baoxiao.identity import permissions
from baoxiao.identity.principal import Principal
from baoxiao.models.claim import Claim, ClaimStatus
from baoxiao.models.payment import Payment, PaymentStatus


def _payable_by(principal: Principal) -> ColumnElement[bool]:
    return permissions.claims_within(principal, permissions.Right.CLAIM_PAY)


def payable_claims(session: Session, principal: Principal, limit: int = 200) -> list[Claim]:
    """Approved claims the caller's CLAIM_PAY scope reaches, oldest approval first."""
    return list(
        session.scalars(
            select(Claim)
            .where(Claim.status == ClaimStatus.APPROVED, _payable_by(principal))
            .options(selectinload(Claim.claimant))
            .order_by(Claim.approved_at, Claim.id)
            .limit(limit)
        )
    )


def payments(
    session: Session, principal: Principal, statuses: list[str], limit: int = 100
) -> list[tuple[Payment, Claim]]:
    """Payments in these states with their claims, newest first."""
    rows = session.execute(
        select(Payment, Claim)
        .join(Claim, Claim.id == Payment.claim_id)
        .where(Payment.status.in_(statuses), _payable_by(principal))
        .options(selectinload(Claim.claimant))
        .order_by(Payment.created_at.desc())
        .limit(limit)
    )
    return [(payment, claim) for payment, claim in rows]


PENDING = [PaymentStatus.PENDING.value]
FINISHED = [PaymentStatus.SUCCEEDED.value, PaymentStatus.FAILED.value]
