"""Claim use cases: draft, edit header and lines, submit, withdraw, cancel.

Receipts and invoices on a claim live in receipts.py; reads in queries.py.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.approvals import service as approvals
from baoxiao.claims import lifecycle
from baoxiao.claims.errors import (
    CategoryUnknown,
    ClaimEmpty,
    CurrencyUnknown,
    ExchangeRateMissing,
    InvalidAmount,
    LineNotFound,
    ReferenceUnknown,
    WithdrawTooLate,
)
from baoxiao.claims.schemas import ClaimCreate, ClaimLineCreate, ClaimLineUpdate, ClaimUpdate
from baoxiao.identity import permissions
from baoxiao.identity.principal import Principal
from baoxiao.invoices import service as invoices
from baoxiao.kernel import sequences
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.errors import PreconditionFailed, ValidationFailed
from baoxiao.kernel.ids import new_id
from baoxiao.kernel.money import MoneyError, check_amount, check_rate, convert
from baoxiao.models.catalog import Currency, ExpenseCategory, rate_on
from baoxiao.models.claim import Claim, ClaimAction, ClaimLine
from baoxiao.models.org import Company, CostCenter, Department, Employee
from baoxiao.policies import service as policies


def check_if_match(claim: Claim, if_match: str | None) -> None:
    """Optimistic concurrency: a stale If-Match gets 412."""
    if if_match is None or if_match.strip() == "*":
        return
    candidates = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if claim.etag not in candidates:
        raise PreconditionFailed()


def _claimant_employee(session: Session, principal: Principal) -> Employee:
    if principal.employee_id is None:
        raise ValidationFailed("This account is not linked to an employee and cannot file claims.")
    employee = session.get(Employee, principal.employee_id)
    if employee is None or not employee.active:
        raise ValidationFailed("The employee record of this account is inactive.")
    return employee


def _check_ref(
    session: Session,
    model: type[Department] | type[CostCenter],
    ref_id: uuid.UUID | None,
    company_id: uuid.UUID,
    field_name: str,
) -> None:
    if ref_id is None:
        return
    obj = (
        session.get(Department, ref_id) if model is Department else session.get(CostCenter, ref_id)
    )
    if obj is None or obj.company_id != company_id or not obj.active:
        raise ReferenceUnknown(field=field_name)


def _category(
    session: Session, company_id: uuid.UUID, category_id: uuid.UUID | None, code: str | None
) -> ExpenseCategory:
    stmt = select(ExpenseCategory).where(ExpenseCategory.company_id == company_id)
    stmt = stmt.where(
        ExpenseCategory.id == category_id if category_id else ExpenseCategory.code == code
    )
    category = session.scalars(stmt).first()
    if category is None or not category.active:
        raise CategoryUnknown(category=str(category_id or code))
    return category


@dataclass
class _LineValues:
    category: ExpenseCategory
    expense_date: object
    amount: Decimal
    currency: str
    exchange_rate: Decimal
    rate_source: str
    amount_base: Decimal
    description: str
    city: str | None


def _price_line(
    session: Session, claim: Claim, index: int, category: ExpenseCategory, data: ClaimLineCreate
) -> _LineValues:
    """Validate a line's money and convert it into the claim currency."""
    where = f"lines[{index}].amount"
    currency_code = data.currency or claim.currency
    currency = session.get(Currency, currency_code)
    if currency is None or not currency.active:
        raise CurrencyUnknown(currency=currency_code)
    base = session.get(Currency, claim.currency)
    assert base is not None
    try:
        amount = check_amount(data.amount, currency.minor_units)
    except MoneyError as exc:
        raise InvalidAmount(field=where, reason=str(exc)) from exc
    if currency_code == claim.currency:
        rate, source = check_rate(Decimal(1)), "same"
    elif data.exchange_rate is not None:
        try:
            rate, source = check_rate(data.exchange_rate), "manual"
        except MoneyError as exc:
            raise InvalidAmount(field=f"lines[{index}].exchange_rate", reason=str(exc)) from exc
    else:
        found = rate_on(session, claim.company_id, currency_code, claim.currency, data.expense_date)
        if found is None:
            raise ExchangeRateMissing(
                currency=currency_code, base=claim.currency, date=data.expense_date
            )
        rate, source = found, "table"
    try:  # a manual rate can push the converted amount past what a claim may hold
        amount_base = check_amount(
            convert(amount, rate, base.minor_units), base.minor_units, allow_zero=True
        )
    except MoneyError as exc:
        raise InvalidAmount(field=where, reason=f"in {claim.currency}, {exc}") from exc
    return _LineValues(
        category,
        data.expense_date,
        amount,
        currency_code,
        rate,
        source,
        amount_base,
        data.description,
        data.city,
    )


def _add_line(session: Session, claim: Claim, data: ClaimLineCreate, index: int) -> ClaimLine:
    category = _category(session, claim.company_id, data.category_id, data.category_code)
    values = _price_line(session, claim, index, category, data)
    position = max((line.position for line in claim.lines), default=0) + 1
    line = ClaimLine(
        claim_id=claim.id,
        position=position,
        category_id=category.id,
        expense_date=values.expense_date,
        amount=values.amount,
        currency=values.currency,
        exchange_rate=values.exchange_rate,
        rate_source=values.rate_source,
        amount_base=values.amount_base,
        description=values.description,
        city=values.city,
        days=data.days,
        justification=data.justification,
    )
    line.category = category
    claim.lines.append(line)
    return line


def touch(claim: Claim) -> None:
    claim.recompute_total()
    claim.updated_at = utcnow()


def recheck(session: Session, claim: Claim) -> None:
    """Run the expense standard over the claim again (it may cap lines and change the total)."""
    session.flush()
    policies.evaluate_claim(session, claim)


def create_draft(session: Session, principal: Principal, data: ClaimCreate) -> Claim:
    """Create a draft claim for the caller, with optional lines."""
    employee = _claimant_employee(session, principal)
    company = session.get(Company, employee.company_id)
    assert company is not None
    _check_ref(session, Department, data.department_id, company.id, "department_id")
    _check_ref(session, CostCenter, data.cost_center_id, company.id, "cost_center_id")
    now = utcnow()
    claim = Claim(
        id=new_id(),
        company_id=company.id,
        claim_type=data.claim_type,
        claimant_id=employee.id,
        department_id=data.department_id or employee.department_id,
        cost_center_id=data.cost_center_id or employee.cost_center_id,
        project_code=data.project_code or None,
        reason=data.reason,
        currency=company.base_currency,
        total_amount=Decimal(0),
        created_by_id=principal.user_id,
        created_at=now,
        updated_at=now,
        # A new claim has none: set so, reading them costs no query.
        lines=[],
        attachments=[],
    )
    claim.claimant = employee
    session.add(claim)
    with session.no_autoflush:  # the claim and its lines are inserted together, below
        try:
            for index, line in enumerate(data.lines):
                _add_line(session, claim, line, index)
        finally:  # also when a line is refused, so the claim is as complete as before
            # The number last: taking it locks the company's counter row until commit.
            year = now.astimezone(ZoneInfo(company.timezone)).year  # the company's year
            seq = sequences.next_value(session, company.id, f"claim:{year}")
            claim.number = f"{company.claim_prefix}-{year}-{seq:06d}"
    claim.recompute_total()
    session.flush()
    if claim.lines:
        recheck(session, claim)
    lifecycle.note(
        session,
        claim,
        "claim:create",
        actor=principal.actor,
        actor_user_id=principal.user_id,
        to_status=claim.status,
    )
    return claim


def editable(
    session: Session, principal: Principal, claim_id: uuid.UUID, if_match: str | None
) -> Claim:
    claim = permissions.load_visible_claim(session, principal, claim_id, lock=True)
    permissions.require_claimant(principal, claim)
    check_if_match(claim, if_match)
    claim.ensure_editable()
    return claim


def update_claim(
    session: Session,
    principal: Principal,
    claim_id: uuid.UUID,
    data: ClaimUpdate,
    if_match: str | None,
) -> Claim:
    """Change the header fields of an editable claim."""
    claim = editable(session, principal, claim_id, if_match)
    changes = data.model_dump(exclude_unset=True)
    if "department_id" in changes:
        _check_ref(session, Department, data.department_id, claim.company_id, "department_id")
    if "cost_center_id" in changes:
        _check_ref(session, CostCenter, data.cost_center_id, claim.company_id, "cost_center_id")
    if changes.get("reason", "") is None:
        raise ValidationFailed(errors=[{"field": "reason", "message": "reason cannot be empty"}])
    for name, value in changes.items():
        setattr(claim, name, value)
    touch(claim)
    lifecycle.note(
        session,
        claim,
        "claim:update",
        actor=principal.actor,
        actor_user_id=principal.user_id,
        extra={"fields": sorted(changes)},
    )
    return claim


def add_line(
    session: Session,
    principal: Principal,
    claim_id: uuid.UUID,
    data: ClaimLineCreate,
    if_match: str | None,
) -> ClaimLine:
    """Add a line; the total is recomputed on the server."""
    claim = editable(session, principal, claim_id, if_match)
    line = _add_line(session, claim, data, len(claim.lines))
    touch(claim)
    recheck(session, claim)
    lifecycle.note(
        session,
        claim,
        "claim:add_line",
        actor=principal.actor,
        actor_user_id=principal.user_id,
        extra={"line_id": str(line.id), "amount": str(line.amount)},
    )
    return line


def line_of(claim: Claim, line_id: uuid.UUID) -> ClaimLine:
    for line in claim.lines:
        if line.id == line_id:
            return line
    raise LineNotFound()


def reprice(session: Session, claim: Claim, line: ClaimLine, changes: dict[str, object]) -> None:
    """Apply changes to a line and price it again; unchanged fields keep their values."""
    merged: dict[str, object] = {
        "category_id": line.category_id,
        "expense_date": line.expense_date,
        "amount": line.amount,
        "currency": line.currency,
        "description": line.description,
        "city": line.city,
        "days": line.days,
        "justification": line.justification,
        "exchange_rate": line.exchange_rate if line.rate_source == "manual" else None,
    }
    if "category_code" in changes:
        merged.pop("category_id")
    merged.update(changes)
    full = ClaimLineCreate.model_validate(merged)
    category = _category(session, claim.company_id, full.category_id, full.category_code)
    values = _price_line(session, claim, line.position - 1, category, full)
    line.category_id, line.category = category.id, category
    line.expense_date, line.amount, line.currency = (
        full.expense_date,
        values.amount,
        values.currency,
    )
    line.exchange_rate, line.rate_source = values.exchange_rate, values.rate_source
    line.amount_base, line.description, line.city = (
        values.amount_base,
        values.description,
        values.city,
    )
    line.days, line.justification, line.capped_from = full.days, full.justification, None


def update_line(
    session: Session,
    principal: Principal,
    claim_id: uuid.UUID,
    line_id: uuid.UUID,
    data: ClaimLineUpdate,
    if_match: str | None,
) -> ClaimLine:
    """Change a line; unchanged fields keep their values."""
    claim = editable(session, principal, claim_id, if_match)
    line = line_of(claim, line_id)
    changes = data.model_dump(exclude_unset=True)
    reprice(session, claim, line, changes)
    touch(claim)
    recheck(session, claim)
    lifecycle.note(
        session,
        claim,
        "claim:update_line",
        actor=principal.actor,
        actor_user_id=principal.user_id,
        extra={"line_id": str(line.id), "fields": sorted(changes)},
    )
    return line


def remove_line(
    session: Session,
    principal: Principal,
    claim_id: uuid.UUID,
    line_id: uuid.UUID,
    if_match: str | None,
) -> Claim:
    """Remove a line and any attachment bound to it stays on the claim, unbound."""
    claim = editable(session, principal, claim_id, if_match)
    line = line_of(claim, line_id)
    for attachment in claim.attachments:
        if attachment.line_id == line.id:
            attachment.line_id = None
    invoices.release_line(session, principal, line)
    claim.lines.remove(line)
    touch(claim)
    recheck(session, claim)
    lifecycle.note(
        session,
        claim,
        "claim:remove_line",
        actor=principal.actor,
        actor_user_id=principal.user_id,
        extra={"line_id": str(line_id)},
    )
    return claim


def submit(
    session: Session, principal: Principal, claim_id: uuid.UUID, if_match: str | None
) -> Claim:
    """Submit for approval; the approval route starts in the same transaction."""
    claim = permissions.load_visible_claim(session, principal, claim_id, lock=True)
    permissions.require_claimant(principal, claim)
    check_if_match(claim, if_match)
    if not claim.lines:
        raise ClaimEmpty()
    if claim.can(ClaimAction.SUBMIT):  # otherwise lifecycle.apply answers invalid_transition
        invoices.reacquire_for_submit(session, principal, claim)
        policies.enforce_for_submit(session, claim)
    claim.recompute_total()
    lifecycle.apply(
        session, claim, ClaimAction.SUBMIT, actor=principal.actor, actor_user_id=principal.user_id
    )
    approvals.start_route(session, claim, actor=principal.actor)
    return claim


def withdraw(
    session: Session,
    principal: Principal,
    claim_id: uuid.UUID,
    comment: str | None,
    if_match: str | None,
) -> Claim:
    """Take a claim back while no approver has acted on this round."""
    claim = permissions.load_visible_claim(session, principal, claim_id, lock=True)
    permissions.require_claimant(principal, claim)
    check_if_match(claim, if_match)
    if claim.can(ClaimAction.WITHDRAW) and approvals.anyone_acted(session, claim):
        raise WithdrawTooLate()
    lifecycle.apply(
        session,
        claim,
        ClaimAction.WITHDRAW,
        actor=principal.actor,
        actor_user_id=principal.user_id,
        comment=comment,
    )
    approvals.close_open_tasks(session, claim)
    return claim


def cancel(
    session: Session,
    principal: Principal,
    claim_id: uuid.UUID,
    comment: str | None,
    if_match: str | None,
) -> Claim:
    """Abandon a claim that is not under approval (draft, returned or withdrawn)."""
    claim = permissions.load_visible_claim(session, principal, claim_id, lock=True)
    permissions.require_claimant(principal, claim)
    check_if_match(claim, if_match)
    lifecycle.apply(
        session,
        claim,
        ClaimAction.CANCEL,
        actor=principal.actor,
        actor_user_id=principal.user_id,
        comment=comment,
    )
    return claim
