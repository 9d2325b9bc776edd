"""Money is cent-exact from lines to payment and vouchers, across currencies and offsets.

For random claims (CNY, USD and JPY lines at table or manual rates, input VAT,
lines lowered by the approver) offsetting part of a paid advance: the payment
is exactly the approved total minus the offset, computed here independently;
every voucher balances; the accrual's debits are the approved lines (net plus
VAT) and the payment voucher splits the payable into the advance and the bank.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from baoxiao.approvals import service as approvals
from baoxiao.claims import service as claims
from baoxiao.claims.schemas import ClaimCreate, ClaimLineCreate
from baoxiao.identity import permissions
from baoxiao.identity.service import principal_for
from baoxiao.kernel.db import Database
from baoxiao.models import ClaimLine, Voucher
from baoxiao.payments import advances
from baoxiao.payments import service as payments
from tests.support.factories import build_world, ensure_currencies

CENT = Decimal("0.01")
RATES = {"CNY": Decimal(1), "USD": Decimal("7.10000000")}  # factories.make_company
line_st = st.tuples(
    st.sampled_from(["CNY", "USD", "JPY"]),
    st.integers(1, 2_000_000),  # minor units of the currency
    st.none() | st.integers(1, 2_000_000_000).map(lambda n: Decimal(n).scaleb(-8)),
    st.integers(0, 13),  # VAT share in percent
    st.integers(1, 100),  # approved share in percent
)


def _half_up(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(lines=st.lists(line_st, min_size=1, max_size=4), offset_share=st.integers(0, 100))
def test_money_is_cent_exact_through_payment_and_vouchers(
    db: Database, lines: list[tuple[str, int, Decimal | None, int, int]], offset_share: int
) -> None:
    with db.transaction() as session:
        ensure_currencies(session)
        world = build_world(session)
        p = {
            n: principal_for(world[n].user)
            for n in ("claimant", "manager", "finance", "cashier", "boss")
        }
        # A paid advance of 1,000,000.00 to offset against.
        advance = advances.request(
            session, p["claimant"], amount=Decimal("1000000.00"), reason="adv"
        )
        for who in ("manager", "finance"):
            task = approvals.open_task_for(
                session,
                p[who],
                permissions.load_visible_claim(session, p[who], advance.claim_id),
            )
            assert task is not None
            approvals.decide(session, p[who], task.id, "approve", None)
        payments.mark_paid(session, p["cashier"], advance.claim_id)

        specs, expected_base = [], []
        for currency, minor, manual, _vat, _share in lines:
            places = 0 if currency == "JPY" else 2
            amount = Decimal(minor).scaleb(-places)
            rate = None if currency == "CNY" or manual is None else manual
            if currency == "JPY" and rate is None:
                rate = Decimal("0.04710000")  # no table rate for JPY: give one
            specs.append(
                ClaimLineCreate(
                    category_code="TAXI",
                    expense_date=date(2026, 5, 1),
                    amount=amount,
                    currency=currency,
                    exchange_rate=rate,
                )
            )
            expected_base.append(_half_up(amount * (rate or RATES[currency])))
        claim = claims.create_draft(session, p["claimant"], ClaimCreate(reason="trip", lines=specs))
        assert claim.total_amount == sum(expected_base)
        rows = session.scalars(
            select(ClaimLine).where(ClaimLine.claim_id == claim.id).order_by(ClaimLine.position)
        ).all()
        vats = []
        for row, (_c, _m, _r, vat_share, _s) in zip(rows, lines, strict=True):
            row.deductible_tax = _half_up(row.amount * vat_share / 100)
            vats.append(row.deductible_tax)
        offset = _half_up(claim.total_amount * offset_share / 100)
        if offset > 0:
            advances.set_offsets(
                session, p["claimant"], claim.id, [advances.OffsetRequest(advance.id, offset)]
            )
        claims.submit(session, p["claimant"], claim.id, None)
        decisions = []
        approved = []
        for row, (_c, _m, _r, _v, share), base in zip(rows, lines, expected_base, strict=True):
            target = _half_up(base * share / 100)
            approved.append(target)
            if target < base:
                decisions.append(approvals.LineDecision(row.id, target, "policy"))
        if sum(approved) == 0:
            return  # every line refused: that is a rejection, not this property
        task = approvals.open_task_for(session, p["manager"], claim)
        assert task is not None
        approvals.decide(session, p["manager"], task.id, "approve", None, lines=decisions)
        task = approvals.open_task_for(session, p["finance"], claim)
        assert task is not None
        approvals.decide(session, p["finance"], task.id, "approve", None)
        payable = sum(approved, Decimal(0))
        effective_offset = min(offset, payable)
        payment = payments.mark_paid(session, p["cashier"], claim.id)
        assert payment.amount == payable - effective_offset
        assert payment.amount == payment.amount.quantize(CENT)

        vouchers = session.scalars(
            select(Voucher).where(Voucher.claim_id == claim.id).order_by(Voucher.number)
        ).all()
        accrual, paid = vouchers
        for voucher in vouchers:
            debit = sum(line.debit for line in voucher.lines)
            credit = sum(line.credit for line in voucher.lines)
            assert debit == credit == voucher.total_debit == voucher.total_credit
            assert all(line.debit == line.debit.quantize(CENT) for line in voucher.lines)
        assert accrual.total_debit == payable
        vat_lines = sum(line.debit for line in accrual.lines if line.account == "22210101")
        assert 0 <= vat_lines <= payable
        by_account = {line.account: line for line in paid.lines}
        assert by_account["2241"].debit == payable
        assert by_account.get("1221") is None or by_account["1221"].credit == effective_offset
        assert (by_account["1002"].credit if "1002" in by_account else 0) == payment.amount
        session.rollback()
