"""Payment batches, bank files and payee bank accounts."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy.orm import Session

from baoxiao.identity.deps import CurrentPrincipal, DbSession, client_ip
from baoxiao.identity.principal import Principal
from baoxiao.kernel.crypto import SecretBox
from baoxiao.kernel.routing import TransactionalRoute
from baoxiao.models.catalog import in_minor_units
from baoxiao.models.payment import BankAccount, PaymentBatch
from baoxiao.payments import bankaccounts, bankfiles, batches
from baoxiao.payments.schemas import (
    BankAccountRead,
    BankAccountWrite,
    BatchCreate,
    BatchItemRead,
    BatchRead,
    BatchResults,
)

router = APIRouter(route_class=TransactionalRoute, tags=["payments"])


def secret_box(request: Request) -> SecretBox:
    box: SecretBox = request.app.state.settings.secret_box
    return box


def _batch(session: Session, batch: PaymentBatch, *, with_items: bool = True) -> BatchRead:
    read = BatchRead(
        id=batch.id,
        reference=batch.reference,
        status=batch.status,
        currency=batch.currency,
        total=in_minor_units(session, batch.total, batch.currency),
        item_count=batch.item_count,
        payer_account=batch.payer_account,
        payer_bank=batch.payer_bank,
        created_at=batch.created_at,
        exported_at=batch.exported_at,
        closed_at=batch.closed_at,
    )
    if with_items:
        read.items = [
            BatchItemRead(
                payment_id=i.payment.id,
                reference=i.payment.reference,
                claim_id=i.claim.id,
                claim_number=i.claim.number,
                payee_name=i.payment.payee_name,
                payee_account=i.account.masked if i.account else None,
                amount=in_minor_units(session, i.payment.amount, i.payment.currency),
                status=i.payment.status,
                failure_reason=i.payment.failure_reason,
            )
            for i in batches.items(session, batch)
        ]
    return read


@router.post("/payment-batches", response_model=BatchRead, status_code=status.HTTP_201_CREATED)
def create_batch(body: BatchCreate, principal: CurrentPrincipal, session: DbSession) -> BatchRead:
    """Start paying approved claims together: one payment (one reference) per claim."""
    batch = batches.create(
        session,
        principal,
        body.claim_ids,
        payer_account=body.payer_account,
        payer_bank=body.payer_bank,
    )
    return _batch(session, batch)


@router.get("/payment-batches", response_model=list[BatchRead])
def list_batches(principal: CurrentPrincipal, session: DbSession) -> list[BatchRead]:
    """Payment batches of the caller's company, newest first."""
    return [_batch(session, b, with_items=False) for b in batches.list_batches(session, principal)]


@router.get("/payment-batches/{batch_id}", response_model=BatchRead)
def get_batch(batch_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> BatchRead:
    """A batch and its payments (account numbers masked)."""
    return _batch(session, batches.get(session, principal, batch_id))


@router.get("/payment-batches/{batch_id}/bank-file")
def bank_file(
    batch_id: uuid.UUID,
    request: Request,
    principal: CurrentPrincipal,
    session: DbSession,
    fmt: Literal["csv", "icbc"] = Query(default="csv", alias="format"),
) -> Response:
    """The batch as a bank upload file: a generic CSV or ICBC's batch-transfer sheet (audited)."""
    content, media, name = bankfiles.export(session, principal, batch_id, fmt, secret_box(request))
    return Response(
        content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.post("/payment-batches/{batch_id}/results", response_model=BatchRead)
def batch_results(
    batch_id: uuid.UUID, body: BatchResults, principal: CurrentPrincipal, session: DbSession
) -> BatchRead:
    """The bank's results by payment reference; repeated or late results change nothing."""
    batch = batches.get(session, principal, batch_id)
    rows = [
        batches.ResultRow(
            r.reference, r.status == "succeeded", r.reason, r.external_reference, r.amount
        )
        for r in body.results
    ]
    batches.record_results(session, principal, batch, rows)
    return _batch(session, batch)


def _account(request: Request, principal: Principal, account: BankAccount) -> BankAccountRead:
    reveal = bankaccounts.may_reveal(principal, account)
    return BankAccountRead(
        employee_id=account.employee_id,
        holder_name=account.holder_name,
        bank_name=account.bank_name,
        branch_name=account.branch_name,
        bank_code=account.bank_code,
        account_number=(
            bankaccounts.reveal(secret_box(request), account) if reveal else account.masked
        ),
        masked=not reveal,
        updated_at=account.updated_at,
    )


@router.get("/employees/{employee_id}/bank-account", response_model=BankAccountRead)
def get_bank_account(
    employee_id: uuid.UUID, request: Request, principal: CurrentPrincipal, session: DbSession
) -> BankAccountRead:
    """The payee account: masked to the last four digits except for cashiers."""
    return _account(request, principal, bankaccounts.get(session, principal, employee_id))


@router.put("/employees/{employee_id}/bank-account", response_model=BankAccountRead)
def put_bank_account(
    employee_id: uuid.UUID,
    body: BankAccountWrite,
    request: Request,
    principal: CurrentPrincipal,
    session: DbSession,
) -> BankAccountRead:
    """Set the payee account (the employee or an admin); needs the caller's current password."""
    details = bankaccounts.BankDetails(
        holder_name=body.holder_name,
        bank_name=body.bank_name,
        account_number=body.account_number,
        branch_name=body.branch_name,
        bank_code=body.bank_code,
    )
    account = bankaccounts.put(
        session,
        principal,
        secret_box(request),
        employee_id,
        details,
        body.current_password,
        ip=client_ip(request),
    )
    return _account(request, principal, account)
