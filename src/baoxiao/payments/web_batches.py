"""Finance pages for payment batches (bank files, results) and vouchers (Kingdee, Yonyou).

Every page calls the services the REST API calls (batches, bankfiles, voucher_export);
their permission checks (payment:batch, bank_account:reveal, voucher:export) decide.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

from fastapi import Form, Query, Request, Response

from baoxiao.identity.deps import CsrfProtected, DbSession, WebPrincipal
from baoxiao.kernel.crypto import SecretBox
from baoxiao.kernel.errors import ValidationFailed
from baoxiao.models.payment import Payment
from baoxiao.payments import bankfiles, batches, voucher_export
from baoxiao.payments.errors import PaymentNotFound
from baoxiao.web.pages import page_router, redirect, render

router = page_router(prefix="/finance")


def _box(request: Request) -> SecretBox:
    box: SecretBox = request.app.state.settings.secret_box
    return box


def _download(content: bytes, media: str, name: str) -> Response:
    return Response(
        content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/batches")
def batch_list(request: Request, principal: WebPrincipal, session: DbSession) -> Response:
    """Payment batches of my company, newest first, with their status."""
    return render(
        request, "payments/batches.html", batches=batches.list_batches(session, principal)
    )


@router.post("/batches", dependencies=[CsrfProtected])
def create_batch(
    request: Request,
    principal: WebPrincipal,
    session: DbSession,
    claim_id: Annotated[list[uuid.UUID] | None, Form()] = None,
    payer_account: Annotated[str, Form()] = "",
    payer_bank: Annotated[str, Form()] = "",
) -> Response:
    """Pay the ticked approved claims together: all or none, the first refusal says why."""
    batch = batches.create(
        session,
        principal,
        claim_id or [],
        payer_account=payer_account.strip() or None,
        payer_bank=payer_bank.strip() or None,
    )
    return redirect(f"/finance/batches/{batch.id}?done=created", request)


@router.get("/batches/{batch_id}")
def batch_detail(
    request: Request, batch_id: uuid.UUID, principal: WebPrincipal, session: DbSession
) -> Response:
    """A batch, its payments (accounts masked) and the forms for the bank's results."""
    batch = batches.get(session, principal, batch_id)
    return render(request, "payments/batch.html", batch=batch, items=batches.items(session, batch))


@router.get("/batches/{batch_id}/bank-file")
def bank_file(
    request: Request,
    batch_id: uuid.UUID,
    principal: WebPrincipal,
    session: DbSession,
    fmt: Literal["csv", "icbc"] = Query(default="csv", alias="format"),
) -> Response:
    """The bank upload file (generic CSV or ICBC's sheet); full account numbers, audited."""
    return _download(*bankfiles.export(session, principal, batch_id, fmt, _box(request)))


@router.post("/batches/{batch_id}/results", dependencies=[CsrfProtected])
def batch_result(
    request: Request,
    batch_id: uuid.UUID,
    principal: WebPrincipal,
    session: DbSession,
    payment_id: Annotated[uuid.UUID, Form()],
    outcome: Annotated[Literal["succeeded", "failed"], Form()],
    reason: Annotated[str, Form()] = "",
    external_reference: Annotated[str, Form()] = "",
) -> Response:
    """One payment's result from the bank, through the batch's result service (as the API)."""
    batch = batches.get(session, principal, batch_id)
    payment = session.get(Payment, payment_id)
    if payment is None or payment.batch_id != batch.id:
        raise PaymentNotFound()
    if outcome == "failed" and not reason.strip():
        raise ValidationFailed(errors=[{"field": "reason", "message": "say why it failed"}])
    row = batches.ResultRow(
        payment.reference,
        outcome == "succeeded",
        reason.strip() or None,
        external_reference.strip() or None,
    )
    batches.record_results(session, principal, batch, [row])
    return redirect(f"/finance/batches/{batch.id}?done={outcome}", request)


@router.get("/vouchers")
def voucher_list(
    request: Request,
    principal: WebPrincipal,
    session: DbSession,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Response:
    """Accounting vouchers with their entries, filtered by date, and the export links."""
    found = voucher_export.list_vouchers(session, principal, date_from=date_from, date_to=date_to)
    return render(
        request,
        "payments/vouchers.html",
        vouchers=found,
        numbers=voucher_export.claim_numbers(session, found),
        date_from=date_from,
        date_to=date_to,
    )


@router.get("/vouchers/export")
def voucher_file(
    principal: WebPrincipal,
    session: DbSession,
    fmt: Literal["kingdee", "yonyou"] = Query(alias="format"),
    date_from: date | None = None,
    date_to: date | None = None,
) -> Response:
    """The vouchers as a Kingdee or Yonyou import sheet (marked exported, audited)."""
    found = voucher_export.list_vouchers(
        session, principal, date_from=date_from, date_to=date_to, limit=5000
    )
    return _download(*voucher_export.export(session, principal, fmt, found))
