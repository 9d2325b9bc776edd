"""What the finance workspace lists: claims to pay, payments waiting for the bank, results."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from baoxiao.identity import permissions
from baoxiao.identity.principal import Principal
from baoxiao.models.claim import Claim, ClaimStatus
from baoxiao.models.payment import Payment, PaymentStatus


def _companies(principal: Principal) -> set[object]:
    return permissions.companies_with_right(principal, permissions.Right.CLAIM_PAY)


def payable_claims(session: Session, principal: Principal, limit: int = 200) -> list[Claim]:
    """Approved claims of the companies where the caller pays, oldest approval first."""
    companies = _companies(principal)
    if not companies:
        return []
    return list(
        session.scalars(
            select(Claim)
            .where(Claim.company_id.in_(companies), Claim.status == ClaimStatus.APPROVED)
            .options(selectinload(Claim.claimant))
            .order_by(Claim.approved_at, Claim.id)
            .limit(limit)
        )
    )


def payments(
    session: Session, principal: Principal, statuses: list[str], limit: int = 100
) -> list[tuple[Payment, Claim]]:
    """Payments in these states with their claims, newest first."""
    companies = _companies(principal)
    if not companies:
        return []
    rows = session.execute(
        select(Payment, Claim)
        .join(Claim, Claim.id == Payment.claim_id)
        .where(Payment.company_id.in_(companies), Payment.status.in_(statuses))
        .options(selectinload(Claim.claimant))
        .order_by(Payment.created_at.desc())
        .limit(limit)
    )
    return [(payment, claim) for payment, claim in rows]


PENDING = [PaymentStatus.PENDING.value]
FINISHED = [PaymentStatus.SUCCEEDED.value, PaymentStatus.FAILED.value]
