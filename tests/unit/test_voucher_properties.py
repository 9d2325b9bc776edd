"""Pure properties of voucher building: balanced or refused, VAT never above the line."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baoxiao.models.claim import ClaimLine
from baoxiao.payments.vouchers import Entry, UnbalancedVoucher, balanced, line_vat

cents = st.integers(0, 10**11).map(lambda n: Decimal(n).scaleb(-2))


@given(
    debits=st.lists(cents, min_size=1, max_size=12),
    credits=st.lists(cents, min_size=1, max_size=12),
)
def test_balanced_or_refused(debits: list[Decimal], credits: list[Decimal]) -> None:
    entries = [Entry("6602", "d", debit=d) for d in debits] + [
        Entry("2241", "c", credit=c) for c in credits
    ]
    if sum(debits) == sum(credits) and sum(debits) > 0:
        kept, total = balanced(entries)
        assert total == sum(e.debit for e in kept) == sum(e.credit for e in kept)
        assert all((e.debit > 0) != (e.credit > 0) for e in kept)
    else:
        with pytest.raises(UnbalancedVoucher):
            balanced(entries)


@given(
    gross=st.integers(1, 10**9).map(lambda n: Decimal(n).scaleb(-2)),
    tax_share=st.integers(0, 100),
    approved_share=st.integers(0, 100),
    rate=st.sampled_from([Decimal(1), Decimal("7.10000000"), Decimal("0.04710000")]),
)
def test_vat_is_cent_exact_and_never_above_the_line(
    gross: Decimal, tax_share: int, approved_share: int, rate: Decimal
) -> None:
    line = ClaimLine(amount_base=gross, exchange_rate=rate)
    line.deductible_tax = (gross / rate * tax_share / 100).quantize(Decimal("0.01"))
    target = (gross * approved_share / 100).quantize(Decimal("0.01"))
    vat = line_vat(line, target, 2)
    assert vat == vat.quantize(Decimal("0.01"))
    assert Decimal(0) <= vat <= target
    # What is left for the expense account plus the VAT is exactly the approved amount.
    assert (target - vat) + vat == target
