"""Advances (借款): request, offset on claims (核销), repay; balances per employee.

An advance is a claim of type "advance" with one line, so it is approved by
the approval engine (a flow can match `claim.type == "advance"`) and paid
like any claim. Once paid it is open; claims offset it, repayments close the rest.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from baoxiao.audit.service import record as audit
from baoxiao.budgets.ledger import ADVANCE
from baoxiao.claims import lifecycle
from baoxiao.claims import service as claims
from baoxiao.claims.schemas import ClaimCreate, ClaimLineCreate
from baoxiao.identity import permissions
from baoxiao.identity.permissions import Right
from baoxiao.identity.principal import Principal
from baoxiao.kernel.clock import utcnow
from baoxiao.models.advance import (
    Advance,
    AdvanceOffset,
    AdvanceRepayment,
    AdvanceStatus,
    OffsetStatus,
)
from baoxiao.models.catalog import ExpenseCategory
from baoxiao.models.claim import Claim
from baoxiao.models.org import Employee
from baoxiao.payments import offsets, vouchers
from baoxiao.payments.errors import AdvanceNotFound, OffsetInvalid, RepaymentInvalid

ZERO = Decimal(0)


@dataclass(frozen=True)
class OffsetRequest:
    advance_id: uuid.UUID
    amount: Decimal


def request(
    session: Session,
    principal: Principal,
    *,
    amount: Decimal,
    reason: str,
    category_code: str | None = None,
    due_date: date | None = None,
    submit: bool = True,
) -> Advance:
    """Ask for an advance; it is submitted for approval at once unless submit=False."""
    code = (
        category_code
        or session.scalars(
            select(ExpenseCategory.code)
            .where(
                ExpenseCategory.company_id == principal.company_id, ExpenseCategory.active.is_(True)
            )
            .order_by(ExpenseCategory.code)
        ).first()
    )
    line = ClaimLineCreate(
        category_code=code, expense_date=date.today(), amount=amount, description=reason
    )
    claim = claims.create_draft(
        session, principal, ClaimCreate(reason=reason, claim_type=ADVANCE, lines=[line])
    )
    advance = Advance(
        id=uuid.uuid4(),
        company_id=claim.company_id,
        claim_id=claim.id,
        employee_id=claim.claimant_id,
        amount=claim.total_amount,
        currency=claim.currency,
        status=AdvanceStatus.REQUESTED,
        due_date=due_date,
        created_at=utcnow(),
    )
    session.add(advance)
    session.flush()
    if submit:
        claims.submit(session, principal, claim.id, None)
    return advance


def _visible(principal: Principal) -> Select[Advance]:
    """Advances whose claim the principal may see: the data scopes of claims apply to them."""
    return (
        select(Advance)
        .join(Claim, Claim.id == Advance.claim_id)
        .where(permissions.claim_visibility(principal))
    )


def get(session: Session, principal: Principal, advance_id: uuid.UUID) -> Advance:
    advance = session.scalars(_visible(principal).where(Advance.id == advance_id)).first()
    if advance is None:
        raise AdvanceNotFound()
    return advance


def of_employee(session: Session, principal: Principal, employee_id: uuid.UUID) -> list[Advance]:
    """The employee's advances the caller may see (all of them for the employee themselves)."""
    employee = session.get(Employee, employee_id)
    if employee is None:
        raise AdvanceNotFound()
    rows = list(
        session.scalars(
            _visible(principal)
            .where(Advance.employee_id == employee.id)
            .order_by(Advance.created_at)
        )
    )
    reaches_company = employee.company_id == principal.company_id or permissions.has_right(
        principal, permissions.Right.CLAIM_VIEW_ALL, employee.company_id
    )
    if not rows and not reaches_company:
        raise AdvanceNotFound()  # another company's employee: existence does not leak
    return rows


def set_offsets(
    session: Session, principal: Principal, claim_id: uuid.UUID, wanted: list[OffsetRequest]
) -> list[AdvanceOffset]:
    """The claimant chooses which open advances their editable claim offsets (replaces any)."""
    claim = permissions.load_visible_claim(session, principal, claim_id, lock=True)
    permissions.require_claimant(principal, claim)
    claim.ensure_editable()
    if claim.claim_type == ADVANCE:
        raise OffsetInvalid(reason="an advance cannot offset another advance")
    for old in offsets.offsets_of(session, claim.id):
        session.delete(old)
    session.flush()
    total, rows = ZERO, []
    for item in sorted(wanted, key=lambda w: w.advance_id):  # one lock order
        advance = offsets.lock(session, item.advance_id)
        if advance is None or advance.employee_id != claim.claimant_id:
            raise OffsetInvalid(reason="not an advance of the claimant")
        if advance.status != AdvanceStatus.OPEN or advance.currency != claim.currency:
            raise OffsetInvalid(reason=f"the advance is {advance.status} or in another currency")
        left = offsets.available(session, advance, for_claim=claim.id)
        if item.amount <= 0 or item.amount > left:
            raise OffsetInvalid(reason=f"amount must be between 0.01 and the {left} left")
        total += item.amount
        rows.append(
            AdvanceOffset(
                id=uuid.uuid4(),
                company_id=claim.company_id,
                claim_id=claim.id,
                advance_id=advance.id,
                amount=item.amount,
                status=OffsetStatus.RESERVED,
                created_at=utcnow(),
            )
        )
    if total > claim.total_amount:
        raise OffsetInvalid(reason=f"offsets {total} exceed the claim total {claim.total_amount}")
    session.add_all(rows)
    session.flush()
    lifecycle.note(
        session,
        claim,
        "claim:offset_advances",
        actor=principal.actor,
        actor_user_id=principal.user_id,
        extra={
            "offsets": [{"advance_id": str(r.advance_id), "amount": str(r.amount)} for r in rows]
        },
    )
    return rows


def repay(
    session: Session,
    principal: Principal,
    advance_id: uuid.UUID,
    amount: Decimal,
    reference: str | None,
) -> AdvanceRepayment:
    """Finance records money paid back; what nothing offsets can be repaid, and no more."""
    seen = get(session, principal, advance_id)  # 404 unless its claim is visible
    borrowed = session.get(Claim, seen.claim_id)
    assert borrowed is not None
    # A cashier whose data scope reaches the advance, and never the borrower themselves.
    permissions.require_not_claimant(principal, borrowed)
    permissions.require_right_on_claim(session, principal, Right.CLAIM_PAY, borrowed)
    advance = offsets.lock(session, advance_id)
    assert advance is not None
    if advance.status != AdvanceStatus.OPEN:
        raise RepaymentInvalid(reason=f"the advance is {advance.status}")
    left = offsets.available(session, advance)
    if amount <= 0 or amount > left:
        raise RepaymentInvalid(reason=f"amount must be between 0.01 and the {left} outstanding")
    row = AdvanceRepayment(
        id=uuid.uuid4(),
        company_id=advance.company_id,
        advance_id=advance.id,
        amount=amount,
        reference=reference,
        recorded_by_id=principal.user_id,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    offsets.close_if_settled(session, advance)
    claim = session.get(Claim, advance.claim_id)
    assert claim is not None
    vouchers.repay(session, advance.company_id, row.id, claim, amount)
    audit(
        session,
        actor=principal.actor,
        action="advance:repay",
        subject_type="advance",
        subject_id=str(advance.id),
        company_id=str(advance.company_id),
        at=utcnow(),
        data={"amount": str(amount), "reference": reference, "status": advance.status},
    )
    return row
