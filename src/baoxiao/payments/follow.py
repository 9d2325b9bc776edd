"""Finance follows the claim life cycle: budgets, advance offsets and vouchers.

Called by claims.lifecycle.apply for every transition (in the caller's
transaction), and by the approval service when an approver lowers lines.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.budgets import facts as budget_facts
from baoxiao.budgets import ledger
from baoxiao.models.claim import Claim, ClaimAction
from baoxiao.models.payment import Payment, PaymentStatus
from baoxiao.payments import offsets, vouchers

A = ClaimAction
BUDGET_FACTS = budget_facts.budget_facts  # importing it registers the `budget` CEL variable
RELEASING = {
    A.REJECT: "rejected",
    A.RETURN: "returned",
    A.WITHDRAW: "withdrawn",
    A.CANCEL: "cancelled",
}


def follow_transition(session: Session, claim: Claim, action: ClaimAction, *, actor: str) -> None:
    """Occupy on submit; release on reject/return/withdraw/cancel; vouchers on approve and pay."""
    is_advance = ledger.is_advance(session, claim)
    if action is A.SUBMIT:
        ledger.occupy(session, claim, actor=actor)
    elif action in RELEASING:
        ledger.release(session, claim, actor=actor, reason=RELEASING[action])
        if action in (A.REJECT, A.CANCEL):
            offsets.release(session, claim)
        if is_advance:
            offsets.follow_advance_claim(
                session, claim, paid=False, ended=action in (A.REJECT, A.CANCEL)
            )
    elif action is A.APPROVE:
        ledger.follow_line_decisions(session, claim, actor=actor)
        offsets.trim_to_payable(session, claim)
        vouchers.accrue(session, claim, is_advance=is_advance)
    elif action is A.PAY:
        ledger.consume(session, claim, actor=actor)
        offset = offsets.apply(session, claim)
        if is_advance:
            offsets.follow_advance_claim(session, claim, paid=True, ended=False)
        payment = session.scalars(
            select(Payment).where(
                Payment.claim_id == claim.id, Payment.status == PaymentStatus.SUCCEEDED
            )
        ).first()
        if payment is not None:
            vouchers.pay(session, claim, payment.id, claim.payable_amount, offset, payment.amount)


def lines_decided(session: Session, claim: Claim, *, actor: str) -> None:
    """An approver lowered or refused lines: the budget gives back the difference now."""
    ledger.follow_line_decisions(session, claim, actor=actor)
