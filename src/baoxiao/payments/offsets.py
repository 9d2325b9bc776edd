"""Advance balances and offsets (核销), as the claim life cycle moves.

outstanding(advance) = paid amount - applied offsets - repayments;
available(advance) = outstanding - offsets reserved by claims not paid yet.
Every change locks the advance row first, so two claims cannot offset the
same money.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baoxiao.kernel.clock import utcnow
from baoxiao.models.advance import (
    Advance,
    AdvanceOffset,
    AdvanceRepayment,
    AdvanceStatus,
    OffsetStatus,
)
from baoxiao.models.claim import Claim

ZERO = Decimal(0)


def lock(session: Session, advance_id: uuid.UUID) -> Advance | None:
    return session.scalars(
        select(Advance).where(Advance.id == advance_id).with_for_update()
    ).first()


def _offset_sum(
    session: Session, advance_id: uuid.UUID, status: str, *, not_claim: uuid.UUID | None = None
) -> Decimal:
    stmt = select(func.sum(AdvanceOffset.amount)).where(
        AdvanceOffset.advance_id == advance_id, AdvanceOffset.status == status
    )
    if not_claim is not None:
        stmt = stmt.where(AdvanceOffset.claim_id != not_claim)
    return Decimal(session.scalar(stmt) or 0)


def outstanding(session: Session, advance: Advance) -> Decimal:
    """What the employee still owes on a paid advance."""
    if advance.status not in (AdvanceStatus.OPEN, AdvanceStatus.CLOSED):
        return ZERO
    repaid = session.scalar(
        select(func.sum(AdvanceRepayment.amount)).where(AdvanceRepayment.advance_id == advance.id)
    )
    applied = _offset_sum(session, advance.id, OffsetStatus.APPLIED)
    return advance.amount - applied - Decimal(repaid or 0)


def available(session: Session, advance: Advance, *, for_claim: uuid.UUID | None = None) -> Decimal:
    """Outstanding minus what other unpaid claims have reserved."""
    reserved = _offset_sum(session, advance.id, OffsetStatus.RESERVED, not_claim=for_claim)
    return outstanding(session, advance) - reserved


def offsets_of(session: Session, claim_id: uuid.UUID, *, live: bool = True) -> list[AdvanceOffset]:
    stmt = select(AdvanceOffset).where(AdvanceOffset.claim_id == claim_id)
    if live:
        stmt = stmt.where(AdvanceOffset.status != OffsetStatus.RELEASED)
    return list(session.scalars(stmt.order_by(AdvanceOffset.created_at, AdvanceOffset.id)))


def offset_total(session: Session, claim_id: uuid.UUID) -> Decimal:
    return sum((o.amount for o in offsets_of(session, claim_id)), ZERO)


def close_if_settled(session: Session, advance: Advance) -> None:
    if advance.status == AdvanceStatus.OPEN and outstanding(session, advance) <= 0:
        advance.status, advance.closed_at = AdvanceStatus.CLOSED, utcnow()


def release(session: Session, claim: Claim) -> None:
    """Rejected or cancelled: the reserved offsets go back to the advances."""
    for offset in offsets_of(session, claim.id):
        if offset.status == OffsetStatus.RESERVED:
            offset.status = OffsetStatus.RELEASED


def trim_to_payable(session: Session, claim: Claim) -> None:
    """An approver lowered the claim below its offsets: offset no more than is payable."""
    room = claim.payable_amount
    for offset in offsets_of(session, claim.id):
        if offset.status != OffsetStatus.RESERVED:
            continue
        if offset.amount > room:
            if room <= 0:
                offset.status = OffsetStatus.RELEASED
                continue
            offset.amount = room
        room -= offset.amount


def apply(session: Session, claim: Claim) -> Decimal:
    """Paid: the offsets reduce their advances for good; returns their total."""
    total = ZERO
    for offset in offsets_of(session, claim.id):
        advance = lock(session, offset.advance_id)
        assert advance is not None
        offset.status = OffsetStatus.APPLIED
        total += offset.amount
        session.flush()
        close_if_settled(session, advance)
    return total


def follow_advance_claim(session: Session, claim: Claim, paid: bool, ended: bool) -> None:
    """The advance follows its own claim: open once paid, cancelled if rejected or cancelled."""
    advance = session.scalars(select(Advance).where(Advance.claim_id == claim.id)).first()
    if advance is None:
        return
    if paid and advance.status == AdvanceStatus.REQUESTED:
        advance.amount = claim.payable_amount
        advance.status, advance.opened_at = AdvanceStatus.OPEN, utcnow()
    elif ended and advance.status == AdvanceStatus.REQUESTED:
        advance.status, advance.closed_at = AdvanceStatus.CANCELLED, utcnow()
