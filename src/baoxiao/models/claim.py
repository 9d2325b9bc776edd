"""The claim aggregate: claim, lines, attachments, its timeline and its state machine."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.db import Base
from baoxiao.kernel.errors import Conflict
from baoxiao.kernel.events import DomainEvent
from baoxiao.kernel.i18n import Msg
from baoxiao.kernel.ids import new_id
from baoxiao.kernel.types import Rate
from baoxiao.models.catalog import ExpenseCategory
from baoxiao.models.org import Employee


class ClaimStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVING = "approving"
    APPROVED = "approved"
    PAYING = "paying"
    PAID = "paid"
    RETURNED = "returned"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    CANCELLED = "cancelled"


class ClaimAction(StrEnum):
    SUBMIT = "submit"
    START_APPROVAL = "start_approval"
    APPROVE = "approve"
    REJECT = "reject"
    RETURN = "return"
    WITHDRAW = "withdraw"
    CANCEL = "cancel"
    START_PAYMENT = "start_payment"
    PAY = "pay"
    FAIL_PAYMENT = "fail_payment"


S, A = ClaimStatus, ClaimAction

# The one table of legal transitions. Anything not here is refused with 409.
TRANSITIONS: dict[tuple[ClaimStatus, ClaimAction], ClaimStatus] = {
    (S.DRAFT, A.SUBMIT): S.SUBMITTED,
    (S.RETURNED, A.SUBMIT): S.SUBMITTED,
    (S.WITHDRAWN, A.SUBMIT): S.SUBMITTED,
    (S.SUBMITTED, A.START_APPROVAL): S.APPROVING,
    (S.SUBMITTED, A.APPROVE): S.APPROVED,  # a route that resolves to no approver
    (S.SUBMITTED, A.WITHDRAW): S.WITHDRAWN,
    (S.APPROVING, A.APPROVE): S.APPROVED,
    (S.APPROVING, A.REJECT): S.REJECTED,
    (S.APPROVING, A.RETURN): S.RETURNED,
    (S.APPROVING, A.WITHDRAW): S.WITHDRAWN,
    (S.DRAFT, A.CANCEL): S.CANCELLED,
    (S.RETURNED, A.CANCEL): S.CANCELLED,
    (S.WITHDRAWN, A.CANCEL): S.CANCELLED,
    (S.APPROVED, A.START_PAYMENT): S.PAYING,
    (S.PAYING, A.PAY): S.PAID,
    (S.PAYING, A.FAIL_PAYMENT): S.APPROVED,
}

EDITABLE = frozenset({S.DRAFT, S.RETURNED, S.WITHDRAWN})
TERMINAL = frozenset({S.PAID, S.REJECTED, S.CANCELLED})

# The event each transition publishes (None: internal step, no event).
EVENT_TYPES: dict[ClaimAction, str | None] = {
    A.SUBMIT: "claim.submitted",
    A.START_APPROVAL: None,
    A.APPROVE: "claim.approved",
    A.REJECT: "claim.rejected",
    A.RETURN: "claim.returned",
    A.WITHDRAW: "claim.withdrawn",
    A.CANCEL: "claim.cancelled",
    A.START_PAYMENT: "payment.requested",
    A.PAY: "claim.paid",
    A.FAIL_PAYMENT: "payment.failed",
}


class IllegalTransition(Conflict):
    code = "invalid_transition"
    message = Msg(
        "A claim in status {current_status} cannot {action}.",
        "状态为 {current_status} 的报销单不能执行 {action} 操作。",
    )


class ClaimNotEditable(Conflict):
    code = "claim_not_editable"
    message = Msg(
        "Claim {number} is {current_status}; "
        "only draft, returned or withdrawn claims can be edited.",
        "报销单 {number} 当前为 {current_status} 状态,仅草稿、退回或撤回的报销单可以编辑。",
    )


class Claim(Base):
    __tablename__ = "claims"
    __table_args__ = (UniqueConstraint("company_id", "number"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id"), index=True)
    number: Mapped[str] = mapped_column(String(32))
    claim_type: Mapped[str] = mapped_column(String(32), default="general")
    claimant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("employees.id"), index=True)
    department_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("departments.id"), index=True
    )
    cost_center_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cost_centers.id"))
    project_code: Mapped[str | None] = mapped_column(String(64))  # matched by project budgets
    reason: Mapped[str] = mapped_column(String(500))
    currency: Mapped[str] = mapped_column(ForeignKey("currencies.code"))
    total_amount: Mapped[Decimal] = mapped_column(default=Decimal(0))
    # Set by approvers' line decisions; None: every line approved as claimed.
    approved_amount: Mapped[Decimal | None]
    status: Mapped[str] = mapped_column(String(16), default=S.DRAFT, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]

    claimant: Mapped[Employee] = relationship(foreign_keys=[claimant_id])
    lines: Mapped[list[ClaimLine]] = relationship(
        back_populates="claim", cascade="all, delete-orphan", order_by="ClaimLine.position"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="claim", cascade="all, delete-orphan", order_by="Attachment.created_at"
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    @property
    def etag(self) -> str:
        return f'"{self.id.hex}-{self.version}"'

    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE

    def ensure_editable(self) -> None:
        if not self.is_editable:
            raise ClaimNotEditable(number=self.number, current_status=self.status)

    def recompute_total(self) -> Decimal:
        """The total is always the sum of the lines, computed here and nowhere else."""
        self.total_amount = sum((line.amount_base for line in self.lines), Decimal(0))
        return self.total_amount

    @property
    def payable_amount(self) -> Decimal:
        """What budget and payment use: the approved amount when approvers changed lines."""
        return self.total_amount if self.approved_amount is None else self.approved_amount

    def recompute_approved(self) -> Decimal | None:
        """Sum of the lines' approved amounts; None while no line was adjusted."""
        if all(line.approved_amount is None for line in self.lines):
            self.approved_amount = None
        else:
            self.approved_amount = sum(
                (
                    line.amount_base if line.approved_amount is None else line.approved_amount
                    for line in self.lines
                ),
                Decimal(0),
            )
        return self.approved_amount

    def can(self, action: ClaimAction) -> bool:
        return (ClaimStatus(self.status), action) in TRANSITIONS

    def transition(self, action: ClaimAction, *, at: datetime | None = None) -> DomainEvent | None:
        """Move along the transition table; returns the event to publish, if any."""
        current = ClaimStatus(self.status)
        target = TRANSITIONS.get((current, action))
        if target is None:
            raise IllegalTransition(current_status=current.value, action=action.value)
        when = at or utcnow()
        self.status = target
        if action is A.SUBMIT:
            self.submitted_at = when
        elif action is A.APPROVE:
            self.approved_at = when
        elif action is A.PAY:
            self.paid_at = when
        event_type = EVENT_TYPES[action]
        if event_type is None:
            return None
        return DomainEvent(
            type=event_type,
            subject_type="claim",
            subject_id=str(self.id),
            company_id=str(self.company_id),
            data={
                "claim_id": str(self.id),
                "number": self.number,
                "status": target.value,
                "previous_status": current.value,
                "claimant_id": str(self.claimant_id),
                "total_amount": str(self.total_amount),
                "currency": self.currency,
            },
        )


class ClaimLine(Base):
    __tablename__ = "claim_lines"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    claim_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("claims.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    category_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("expense_categories.id"))
    expense_date: Mapped[date]
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(ForeignKey("currencies.code"))
    exchange_rate: Mapped[Decimal] = mapped_column(Rate())
    rate_source: Mapped[str] = mapped_column(String(16), default="table")  # table | manual | same
    amount_base: Mapped[Decimal]
    description: Mapped[str] = mapped_column(String(500), default="")
    city: Mapped[str | None] = mapped_column(String(100))
    # Policies (issue #8): nights or days a hotel / per-diem line covers, the claimant's
    # reason for keeping an over-cap amount, and the amount before a standard capped it.
    days: Mapped[int | None]
    justification: Mapped[str | None] = mapped_column(String(500))
    capped_from: Mapped[Decimal | None]
    # Invoices (issue #8): filled from the invoice backing the line; input VAT kept apart.
    seller_name: Mapped[str | None] = mapped_column(String(200))
    tax_amount: Mapped[Decimal | None]
    deductible_tax: Mapped[Decimal | None]
    # An approver's line decision (claim currency): never above amount_base; 0 = refused.
    approved_amount: Mapped[Decimal | None]
    approval_note: Mapped[str | None] = mapped_column(String(500))

    claim: Mapped[Claim] = relationship(back_populates="lines")
    # With the lines, in one query: every read of a claim shows each line's category.
    category: Mapped[ExpenseCategory] = relationship(lazy="selectin")


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    claim_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("claims.id", ondelete="CASCADE"), index=True
    )
    line_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("claim_lines.id", ondelete="SET NULL")
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    uploaded_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    claim: Mapped[Claim] = relationship(back_populates="attachments")


class ClaimActivity(Base):
    """The claim's timeline: every transition and notable act, with who and why."""

    __tablename__ = "claim_activities"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    claim_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("claims.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
