"""A claim is paid at most once, and never more than approved, whatever the interleaving.

A Hypothesis state machine drives the real services: submit, approve (with
lines lowered at random), reject, withdraw, pay (one by one or in a batch),
ambiguous timeouts (the cashier resends or queries the payment whose outcome
is unknown) and the bank's callbacks: success or failure, duplicated, late
(for a payment that already failed) or contradicting an earlier answer.
After every step: at most one live payment and one success per claim, no
second reference while one is pending, the amount paid equals what was
approved, the budget's figures equal its ledger, and every voucher balances.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session, SessionTransaction

from baoxiao.approvals import service as approvals
from baoxiao.budgets import service as budgets
from baoxiao.budgets.schemas import BudgetCreate
from baoxiao.claims import service as claims
from baoxiao.claims.schemas import ClaimCreate, ClaimLineCreate
from baoxiao.identity.principal import Principal
from baoxiao.identity.service import principal_for
from baoxiao.kernel.crypto import SecretBox
from baoxiao.kernel.db import Database
from baoxiao.kernel.errors import AppError
from baoxiao.models import (
    BankAccount,
    Budget,
    BudgetEntry,
    Claim,
    ClaimStatus,
    Payment,
    PaymentStatus,
    Voucher,
    VoucherLine,
)
from baoxiao.payments import bankaccounts, batches
from baoxiao.payments import service as payments
from tests.support.factories import build_world

S = ClaimStatus
SEEN: Counter[str] = Counter()  # refusals and outcomes over the whole run
# Refusals the model allows: every one of them leaves no trace (the savepoint rolls back).
REFUSALS = {
    "invalid_transition",
    "payment_outcome_unknown",
    "payment_already_completed",
    "withdraw_too_late",
    "task_not_found",
    "payer_was_approver",
    "budget_exceeded",
}
amounts = st.integers(100, 500_00).map(lambda n: Decimal(n).scaleb(-2))


@dataclass
class Tracked:
    id: uuid.UUID
    status: S = S.APPROVING
    payments: list[uuid.UUID] = field(default_factory=list)


class PaymentRaces(RuleBasedStateMachine):
    def __init__(self, session: Session, p: dict[str, Principal]) -> None:
        super().__init__()
        self.session, self.p = session, p
        self.claims: list[Tracked] = []
        self.example: SessionTransaction = session.begin_nested()

    def teardown(self) -> None:
        if self.example.is_active:
            self.example.rollback()
        self.session.expire_all()

    def _try(self, work: object) -> bool:
        try:
            with self.session.begin_nested():
                work()  # type: ignore[operator]
        except AppError as exc:
            self.session.expire_all()
            assert exc.code in REFUSALS, f"{exc.code}: {exc}"
            SEEN[exc.code] += 1
            return False
        return True

    def _claim(self, tracked: Tracked) -> Claim:
        claim = self.session.get(Claim, tracked.id, populate_existing=True)
        assert claim is not None
        return claim

    # ---- rules ----------------------------------------------------------------------

    @rule(lines=st.lists(amounts, min_size=1, max_size=3))
    def submit(self, lines: list[Decimal]) -> None:
        body = ClaimCreate(
            reason="trip",
            lines=[
                ClaimLineCreate(category_code="TAXI", expense_date=date(2026, 11, 2), amount=a)
                for a in lines
            ],
        )

        def work() -> None:
            claim = claims.create_draft(self.session, self.p["claimant"], body)
            claims.submit(self.session, self.p["claimant"], claim.id, None)
            self.claims.append(Tracked(claim.id))

        self._try(work)

    @precondition(lambda self: self.claims)
    @rule(data=st.data(), lower=st.booleans())
    def approve(self, data: st.DataObject, lower: bool) -> None:
        tracked = data.draw(st.sampled_from(self.claims))
        claim = self._claim(tracked)
        for who in ("manager", "finance"):
            task = approvals.open_task_for(self.session, self.p[who], claim)
            if task is None:
                continue
            lines = []
            if lower and who == "manager":
                line = claim.lines[0]
                lines = [
                    approvals.LineDecision(
                        line.id, (line.amount_base / 2).quantize(Decimal("0.01")), "cap"
                    )
                ]
            if self._try(
                lambda w=who, t=task, ls=lines: approvals.decide(
                    self.session, self.p[w], t.id, "approve", None, lines=ls
                )
            ):
                claim = self._claim(tracked)  # and on to the next step, if any
        tracked.status = S(self._claim(tracked).status)

    @precondition(lambda self: self.claims)
    @rule(data=st.data())
    def reject_or_withdraw(self, data: st.DataObject) -> None:
        tracked = data.draw(st.sampled_from(self.claims))
        claim = self._claim(tracked)
        if data.draw(st.booleans()):
            self._try(
                lambda: claims.withdraw(self.session, self.p["claimant"], claim.id, None, None)
            )
        else:
            for who in ("manager", "finance"):
                task = approvals.open_task_for(self.session, self.p[who], claim)
                if task is not None:
                    self._try(
                        lambda t=task, w=who: approvals.decide(
                            self.session, self.p[w], t.id, "reject", "no"
                        )
                    )
                    break
        tracked.status = S(self._claim(tracked).status)

    @precondition(lambda self: self.claims)
    @rule(data=st.data(), in_batch=st.booleans())
    def pay(self, data: st.DataObject, in_batch: bool) -> None:
        tracked = data.draw(st.sampled_from(self.claims))
        before = self._claim(tracked).status
        pending = payments.pending_of(self.session, tracked.id)

        def work() -> None:
            if in_batch:
                batch = batches.create(self.session, self.p["cashier"], [tracked.id])
                made = self.session.scalars(
                    select(Payment).where(Payment.batch_id == batch.id)
                ).one()
            else:
                made = payments.request_payment(self.session, self.p["cashier"], tracked.id)
            tracked.payments.append(made.id)

        done = self._try(work)
        assert done == (before == S.APPROVED)  # paying and paid claims refuse a new payment
        if pending is not None:
            assert not done
        tracked.status = S(self._claim(tracked).status)

    @precondition(lambda self: any(t.payments for t in self.claims))
    @rule(data=st.data(), resend=st.booleans())
    def timeout(self, data: st.DataObject, resend: bool) -> None:
        """The bank did not answer: resend with the same reference, or query."""
        tracked = data.draw(st.sampled_from([t for t in self.claims if t.payments]))
        payment_id = tracked.payments[-1]
        reference = self.session.get(Payment, payment_id).reference  # type: ignore[union-attr]
        act = payments.resend if resend else payments.query
        self._try(lambda: act(self.session, self.p["cashier"], payment_id))
        assert self.session.get(Payment, payment_id).reference == reference  # type: ignore[union-attr]

    @precondition(lambda self: any(t.payments for t in self.claims))
    @rule(data=st.data(), success=st.booleans(), repeat=st.integers(1, 2))
    def callback(self, data: st.DataObject, success: bool, repeat: int) -> None:
        """A result for any payment ever made, perhaps repeated, perhaps late or contradicting."""
        tracked = data.draw(st.sampled_from([t for t in self.claims if t.payments]))
        payment_id = data.draw(st.sampled_from(tracked.payments))
        for _ in range(repeat):
            if success:
                self._try(
                    lambda: payments.record_success(
                        self.session, self.p["cashier"], payment_id, "BANK"
                    )
                )
            else:
                self._try(
                    lambda: payments.record_failure(
                        self.session, self.p["cashier"], payment_id, "refused"
                    )
                )
        tracked.status = S(self._claim(tracked).status)

    # ---- invariants -----------------------------------------------------------------

    @invariant()
    def paid_at_most_once_and_exactly_what_was_approved(self) -> None:
        for tracked in self.claims:
            claim = self._claim(tracked)
            rows = self.session.scalars(select(Payment).where(Payment.claim_id == claim.id)).all()
            succeeded = [p for p in rows if p.status == PaymentStatus.SUCCEEDED]
            pending = [p for p in rows if p.status == PaymentStatus.PENDING]
            assert len(succeeded) <= 1 and len(pending) <= 1 and not (succeeded and pending)
            assert (claim.status == S.PAID) == bool(succeeded)
            SEEN["paid"] += len(succeeded)
            SEEN["failed"] += sum(p.status == PaymentStatus.FAILED for p in rows)
            assert (claim.status == S.PAYING) == bool(pending)
            for p in rows:
                assert p.amount == claim.payable_amount  # never more (or less) than approved
            assert len({p.reference for p in rows}) == len(rows)

    @invariant()
    def budget_is_its_ledger_and_vouchers_balance(self) -> None:
        budget = self.session.scalars(select(Budget)).one()
        self.session.refresh(budget)
        sums = self.session.execute(
            select(
                func.coalesce(func.sum(BudgetEntry.occupied_delta), 0),
                func.coalesce(func.sum(BudgetEntry.consumed_delta), 0),
            ).where(BudgetEntry.budget_id == budget.id)
        ).one()
        assert (budget.occupied, budget.consumed) == (Decimal(sums[0]), Decimal(sums[1]))
        live = {S.SUBMITTED, S.APPROVING, S.APPROVED, S.PAYING}
        claims_now = [self._claim(t) for t in self.claims]
        assert budget.occupied == sum(
            (c.payable_amount for c in claims_now if c.status in live), Decimal(0)
        )
        assert budget.consumed == sum(
            (c.payable_amount for c in claims_now if c.status == S.PAID), Decimal(0)
        )
        for voucher in self.session.scalars(select(Voucher)):
            debit, credit = self.session.execute(
                select(func.sum(VoucherLine.debit), func.sum(VoucherLine.credit)).where(
                    VoucherLine.voucher_id == voucher.id
                )
            ).one()
            assert Decimal(debit) == Decimal(credit) == voucher.total_debit == voucher.total_credit


def test_a_claim_is_paid_at_most_once(db: Database) -> None:
    with db.session_factory() as session:
        world = build_world(session)
        p = {
            name: principal_for(world[name].user)
            for name in ("claimant", "manager", "finance", "cashier")
        }
        budgets.create(
            session,
            p["finance"],
            BudgetCreate(
                code="B",
                name="b",
                period_kind="year",
                period="2026",
                amount=Decimal("10000000"),
                control="block",
                department_code="RD",
            ),
        )
        employee = world["claimant"].employee
        assert employee is not None
        box = SecretBox.from_secret("k" * 40)
        session.add(
            BankAccount(
                company_id=world.company.id,
                employee_id=employee.id,
                holder_name="c",
                bank_name="ICBC",
                account_cipher=box.encrypt(
                    "62220000111122", context=bankaccounts.context(employee.id)
                ),
                account_last4="1122",
                updated_by_id=world["claimant"].user.id,
            )
        )
        session.flush()
        run_state_machine_as_test(
            lambda: PaymentRaces(session, p),
            settings=settings(
                max_examples=30,
                stateful_step_count=40,
                deadline=None,
                derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
            ),
        )
    # The run did race: payments succeeded and failed, and late or repeated answers were refused.
    assert SEEN["paid"] and SEEN["failed"], SEEN
    assert SEEN["payment_already_completed"] and SEEN["invalid_transition"], SEEN
