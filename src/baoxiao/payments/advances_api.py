"""Advances (借款), claim offsets (核销), repayments; vouchers and account mappings."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any, Literal

from fastapi import APIRouter, Query, Response, status
from sqlalchemy.orm import Session

from baoxiao.identity import permissions
from baoxiao.identity.deps import CurrentPrincipal, DbSession
from baoxiao.kernel.routing import TransactionalRoute
from baoxiao.models.advance import Advance
from baoxiao.models.catalog import in_minor_units
from baoxiao.models.claim import Claim
from baoxiao.payments import advances, offsets, voucher_export
from baoxiao.payments.schemas import (
    AdvanceCreate,
    AdvanceRead,
    ClaimOffsetsRead,
    EmployeeAdvances,
    MappingWrite,
    OffsetRead,
    OffsetsWrite,
    RepaymentCreate,
)

router = APIRouter(route_class=TransactionalRoute, tags=["finance"])


def _advance(session: Session, advance: Advance) -> AdvanceRead:
    claim = session.get(Claim, advance.claim_id)
    assert claim is not None
    money = partial(in_minor_units, session, currency=advance.currency)

    return AdvanceRead(
        id=advance.id,
        claim_id=advance.claim_id,
        claim_number=claim.number,
        employee_id=advance.employee_id,
        amount=money(advance.amount),
        currency=advance.currency,
        status=advance.status,
        outstanding=money(offsets.outstanding(session, advance)),
        available=money(offsets.available(session, advance)),
        due_date=advance.due_date,
        created_at=advance.created_at,
    )


@router.post("/advances", response_model=AdvanceRead, status_code=status.HTTP_201_CREATED)
def request_advance(
    body: AdvanceCreate, principal: CurrentPrincipal, session: DbSession
) -> AdvanceRead:
    """Ask for an advance; it goes through approval and payment like a claim."""
    advance = advances.request(
        session,
        principal,
        amount=body.amount,
        reason=body.reason,
        category_code=body.category_code,
        due_date=body.due_date,
    )
    return _advance(session, advance)


@router.get("/advances/{advance_id}", response_model=AdvanceRead)
def get_advance(
    advance_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> AdvanceRead:
    """One advance with its outstanding balance."""
    return _advance(session, advances.get(session, principal, advance_id))


@router.get("/employees/{employee_id}/advances", response_model=EmployeeAdvances)
def employee_advances(
    employee_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> EmployeeAdvances:
    """An employee's advances and what they still owe in total."""
    reads = [_advance(session, a) for a in advances.of_employee(session, principal, employee_id)]
    return EmployeeAdvances(
        employee_id=employee_id,
        outstanding=sum((r.outstanding for r in reads), Decimal(0)),
        advances=reads,
    )


@router.post("/advances/{advance_id}/repayments", response_model=AdvanceRead)
def repay_advance(
    advance_id: uuid.UUID, body: RepaymentCreate, principal: CurrentPrincipal, session: DbSession
) -> AdvanceRead:
    """Finance records money the employee paid back (with a voucher)."""
    advances.repay(session, principal, advance_id, body.amount, body.reference)
    return _advance(session, advances.get(session, principal, advance_id))


def _claim_offsets(session: Session, claim: Claim) -> ClaimOffsetsRead:
    rows = offsets.offsets_of(session, claim.id)
    total = sum((r.amount for r in rows), Decimal(0))
    money = partial(in_minor_units, session, currency=claim.currency)

    return ClaimOffsetsRead(
        claim_total=money(claim.payable_amount),
        offsets_total=money(total),
        payable=money(claim.payable_amount - total),
        offsets=[
            OffsetRead(advance_id=r.advance_id, amount=money(r.amount), status=r.status)
            for r in rows
        ],
    )


@router.get("/claims/{claim_id}/offsets", response_model=ClaimOffsetsRead)
def claim_offsets(
    claim_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> ClaimOffsetsRead:
    """Which advances the claim offsets, and what remains payable."""
    return _claim_offsets(session, permissions.load_visible_claim(session, principal, claim_id))


@router.put("/claims/{claim_id}/offsets", response_model=ClaimOffsetsRead)
def set_claim_offsets(
    claim_id: uuid.UUID, body: OffsetsWrite, principal: CurrentPrincipal, session: DbSession
) -> ClaimOffsetsRead:
    """The claimant offsets open advances against an editable claim (replaces earlier choices)."""
    wanted = [advances.OffsetRequest(o.advance_id, o.amount) for o in body.offsets]
    advances.set_offsets(session, principal, claim_id, wanted)
    return _claim_offsets(session, permissions.load_visible_claim(session, principal, claim_id))


@router.get("/vouchers")
def list_vouchers(
    principal: CurrentPrincipal,
    session: DbSession,
    claim_id: uuid.UUID | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> list[dict[str, Any]]:
    """Accounting vouchers as JSON (the `voucher.created` event payload)."""
    found = voucher_export.list_vouchers(
        session, principal, claim_id=claim_id, date_from=date_from, date_to=date_to
    )
    numbers = voucher_export.claim_numbers(session, found)
    return [
        voucher_export.as_json(v, numbers.get(v.claim_id) if v.claim_id else None) for v in found
    ]


@router.get("/vouchers/export")
def export_vouchers(
    principal: CurrentPrincipal,
    session: DbSession,
    fmt: Literal["kingdee", "yonyou"] = Query(alias="format"),
    date_from: date | None = None,
    date_to: date | None = None,
) -> Response:
    """Vouchers in the Kingdee or Yonyou voucher import sheet (xlsx)."""
    found = voucher_export.list_vouchers(
        session, principal, date_from=date_from, date_to=date_to, limit=5000
    )
    content, media, name = voucher_export.export(session, principal, fmt, found)
    return Response(
        content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/account-mappings")
def get_mappings(principal: CurrentPrincipal, session: DbSession) -> dict[str, str]:
    """GL accounts per role (defaults filled in); category:<code> overrides a category's account."""
    return voucher_export.mappings(session, principal)


@router.put("/account-mappings")
def put_mapping(
    body: MappingWrite, principal: CurrentPrincipal, session: DbSession
) -> dict[str, str]:
    """Map one role to a GL account (audited)."""
    return voucher_export.set_mapping(session, principal, body.key, body.account)
