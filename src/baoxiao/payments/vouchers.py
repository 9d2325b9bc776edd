"""Accounting vouchers (凭证): built whole, balanced, one per business event.

- On approval (accrual): debit each line's expense account (the category's GL
  account, or its mapping) by the claim's cost center, net of the deductible
  input VAT, which goes to the input-VAT account; credit employee payables.
  An advance debits advance receivables instead of expenses.
- On payment: debit employee payables with the approved amount; credit the
  advances it offsets and the bank with what was paid.
- On an advance repayment: debit the bank, credit advance receivables.

`balanced` refuses any voucher whose debits and credits differ; the database
check constraint refuses it again, so an unbalanced voucher cannot exist.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.kernel import sequences
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.events import DomainEvent
from baoxiao.kernel.money import ISO_MINOR_UNITS, round_money
from baoxiao.models.catalog import minor_units
from baoxiao.models.claim import Claim, ClaimLine
from baoxiao.models.org import Company, CostCenter, Employee
from baoxiao.models.voucher import AccountMapping, Voucher, VoucherKind, VoucherLine
from baoxiao.outbox.service import publish

# Defaults follow the PRC Enterprise Accounting Standards chart (企业会计准则 科目表).
DEFAULT_ACCOUNTS: dict[str, tuple[str, str]] = {
    "employee_payable": ("2241", "其他应付款-员工报销"),
    "bank": ("1002", "银行存款"),
    "input_vat": ("22210101", "应交税费-应交增值税(进项税额)"),
    "advance_receivable": ("1221", "其他应收款-员工借款"),
}
ZERO = Decimal(0)


class UnbalancedVoucher(ValueError):
    """A programming error: a voucher's debits and credits differ."""


@dataclass(frozen=True)
class Entry:
    account: str
    summary: str
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    cost_center: str | None = None
    employee_no: str | None = None


class Accounts:
    """A company's account mappings, read in one statement for the voucher being built."""

    def __init__(self, session: Session, company_id: uuid.UUID) -> None:
        rows = session.execute(
            select(AccountMapping.key, AccountMapping.account).where(
                AccountMapping.company_id == company_id
            )
        )
        self._mapped: dict[str, str] = {key: account for key, account in rows}

    def __call__(self, key: str, fallback: str | None = None) -> str:
        found = self._mapped.get(key)
        if found:
            return found
        if fallback is not None:
            return fallback
        return DEFAULT_ACCOUNTS[key][0]


def balanced(entries: list[Entry]) -> tuple[list[Entry], Decimal]:
    """Drop zero entries; refuse a voucher whose sides differ or that is empty."""
    kept = [e for e in entries if e.debit > 0 or e.credit > 0]
    for e in kept:
        if e.debit < 0 or e.credit < 0 or (e.debit > 0 and e.credit > 0):
            raise UnbalancedVoucher(f"entry {e} must have exactly one positive side")
    debit = sum((e.debit for e in kept), ZERO)
    credit = sum((e.credit for e in kept), ZERO)
    if debit != credit or debit == 0:
        raise UnbalancedVoucher(f"debits {debit} != credits {credit}")
    return kept, debit


def _number(session: Session, company: Company, on: date) -> str:
    seq = sequences.next_value(session, company.id, f"voucher:{on:%Y%m}")
    return f"V-{company.code}-{on:%Y%m}-{seq:05d}"


def write(
    session: Session,
    claim_company: uuid.UUID,
    kind: VoucherKind,
    source_key: str,
    entries: list[Entry],
    *,
    currency: str,
    summary: str,
    claim_id: uuid.UUID | None = None,
    payment_id: uuid.UUID | None = None,
    claim_number: str | None = None,
) -> Voucher | None:
    """Store a balanced voucher once per source event; None if it already exists."""
    if session.scalar(select(Voucher.id).where(Voucher.source_key == source_key)) is not None:
        return None
    kept, total = balanced(entries)
    company = session.get(Company, claim_company)
    assert company is not None
    today = utcnow().astimezone(ZoneInfo(company.timezone)).date()
    voucher = Voucher(
        id=uuid.uuid4(),
        company_id=company.id,
        number=_number(session, company, today),
        kind=kind,
        claim_id=claim_id,
        payment_id=payment_id,
        source_key=source_key,
        voucher_date=today,
        currency=currency,
        total_debit=total,
        total_credit=total,
        summary=summary[:200],
        created_at=utcnow(),
    )
    voucher.lines = [
        VoucherLine(
            position=i,
            account=e.account,
            summary=e.summary[:200],
            debit=e.debit,
            credit=e.credit,
            cost_center=e.cost_center,
            employee_no=e.employee_no,
        )
        for i, e in enumerate(kept, start=1)
    ]
    session.add(voucher)
    session.flush()
    publish(session, created_event(voucher, claim_number))
    return voucher


def created_event(voucher: Voucher, claim_number: str | None) -> DomainEvent:
    """voucher.created: the voucher as JSON for a finance system (integration core)."""
    places = ISO_MINOR_UNITS.get(voucher.currency, 2)

    def money(value: Decimal) -> str:
        return str(round_money(value, places))

    lines = [
        {
            "position": line.position,
            "account": line.account,
            "summary": line.summary,
            "debit": money(line.debit),
            "credit": money(line.credit),
            "cost_center": line.cost_center,
            "employee_no": line.employee_no,
        }
        for line in voucher.lines
    ]
    return DomainEvent(
        type="voucher.created",
        subject_type="voucher",
        subject_id=str(voucher.id),
        company_id=str(voucher.company_id),
        data={
            "voucher_id": str(voucher.id),
            "number": voucher.number,
            "kind": voucher.kind,
            "date": voucher.voucher_date.isoformat(),
            "currency": voucher.currency,
            "claim_id": str(voucher.claim_id) if voucher.claim_id else None,
            "claim_number": claim_number,
            "payment_id": str(voucher.payment_id) if voucher.payment_id else None,
            "summary": voucher.summary,
            "total_debit": money(voucher.total_debit),
            "total_credit": money(voucher.total_credit),
            "lines": lines,
        },
    )


def line_vat(line: ClaimLine, target: Decimal, minor_units: int) -> Decimal:
    """Deductible input VAT of a line in the claim currency, pro rata when it was lowered."""
    if not line.deductible_tax or target <= 0:
        return ZERO
    vat = round_money(line.deductible_tax * line.exchange_rate, minor_units)
    if target < line.amount_base:
        vat = round_money(vat * target / line.amount_base, minor_units)
    return min(vat, target)


def _context(session: Session, claim: Claim) -> tuple[int, str | None, str]:
    center = session.get(CostCenter, claim.cost_center_id) if claim.cost_center_id else None
    employee = session.get(Employee, claim.claimant_id)
    assert employee is not None
    return (
        minor_units(session, claim.currency),
        center.code if center else None,
        employee.employee_no,
    )


def accrue(session: Session, claim: Claim, *, is_advance: bool) -> Voucher | None:
    """On approval: expenses (or the advance receivable) against employee payables."""
    minor, center, employee_no = _context(session, claim)
    company = claim.company_id
    summary = f"{claim.number} {claim.reason}"
    entries: list[Entry] = []
    accounts = Accounts(session, company)
    vat_account = accounts("input_vat")
    for line in claim.lines:
        target = line.amount_base if line.approved_amount is None else line.approved_amount
        if target <= 0:
            continue
        if is_advance:
            account = accounts("advance_receivable")
            entries.append(Entry(account, f"借款 {summary}", debit=target, employee_no=employee_no))
            continue
        vat = line_vat(line, target, minor)
        category = line.category
        account = accounts(f"category:{category.code}", category.gl_account)
        text = f"{summary} {category.name_zh}"
        entries.append(Entry(account, text, debit=target - vat, cost_center=center))
        entries.append(Entry(vat_account, f"{text} 进项税额", debit=vat))
    total = sum((e.debit for e in entries), ZERO)
    payable = accounts("employee_payable")
    entries.append(Entry(payable, summary, credit=total, employee_no=employee_no))
    if total == 0:
        return None
    return write(
        session,
        company,
        VoucherKind.ACCRUAL,
        f"accrual:{claim.id}",
        entries,
        currency=claim.currency,
        summary=summary,
        claim_id=claim.id,
        claim_number=claim.number,
    )


def pay(
    session: Session,
    claim: Claim,
    payment_id: uuid.UUID,
    gross: Decimal,
    offsets: Decimal,
    paid: Decimal,
) -> Voucher | None:
    """On payment: payables against the advances offset and the bank."""
    _minor, _center, employee_no = _context(session, claim)
    company = claim.company_id
    summary = f"付款 {claim.number}"
    accounts = Accounts(session, company)
    entries = [
        Entry(
            accounts("employee_payable"),
            summary,
            debit=gross,
            employee_no=employee_no,
        ),
        Entry(
            accounts("advance_receivable"),
            f"{summary} 冲借款",
            credit=offsets,
            employee_no=employee_no,
        ),
        Entry(accounts("bank"), summary, credit=paid),
    ]
    if gross == 0:
        return None
    return write(
        session,
        company,
        VoucherKind.PAYMENT,
        f"payment:{payment_id}",
        entries,
        currency=claim.currency,
        summary=summary,
        claim_id=claim.id,
        payment_id=payment_id,
        claim_number=claim.number,
    )


def repay(
    session: Session, company_id: uuid.UUID, repayment_id: uuid.UUID, claim: Claim, amount: Decimal
) -> Voucher | None:
    """An employee repaid (part of) an advance: bank against advance receivables."""
    _minor, _center, employee_no = _context(session, claim)
    summary = f"还款 {claim.number}"
    accounts = Accounts(session, company_id)
    entries = [
        Entry(accounts("bank"), summary, debit=amount),
        Entry(
            accounts("advance_receivable"),
            summary,
            credit=amount,
            employee_no=employee_no,
        ),
    ]
    return write(
        session,
        company_id,
        VoucherKind.REPAYMENT,
        f"repayment:{repayment_id}",
        entries,
        currency=claim.currency,
        summary=summary,
        claim_id=claim.id,
        claim_number=claim.number,
    )
