"""The invoice registry: receive, attach, release, reimburse, void; one live use per invoice.

"One invoice backs one live claim line per company" is a partial unique index
(models/invoice.py), so concurrent attempts cannot both succeed; this module
turns the losing insert into 409 invoice_duplicate and says where the invoice
is used, to those allowed to see that claim.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from baoxiao.audit.service import record as audit
from baoxiao.identity import permissions
from baoxiao.identity.principal import Principal
from baoxiao.invoices import vat
from baoxiao.invoices.errors import (
    InvoiceDuplicate,
    InvoiceNotFound,
    InvoiceNotUsable,
    InvoiceNotVoidable,
)
from baoxiao.invoices.fields import InvoiceFields
from baoxiao.invoices.ocr import OcrReader, OcrResult
from baoxiao.invoices.ocr_text import Candidate
from baoxiao.invoices.qr import open_image
from baoxiao.invoices.reader import read_invoice
from baoxiao.invoices.schemas import OcrCandidate, OcrRead, SameFile
from baoxiao.kernel.clock import utcnow
from baoxiao.models.claim import Attachment, Claim, ClaimAction, ClaimLine
from baoxiao.models.invoice import LIVE_STATUSES, Invoice, InvoiceStatus

RELEASED_BY = frozenset({ClaimAction.REJECT, ClaimAction.WITHDRAW, ClaimAction.CANCEL})


def _record(session: Session, actor: str, invoice: Invoice, action: str, **data: Any) -> None:
    audit(
        session,
        actor=actor,
        action=f"invoice:{action}",
        subject_type="invoice",
        subject_id=str(invoice.id),
        company_id=str(invoice.company_id),
        data={
            "invoice_key": invoice.invoice_key,
            "status": invoice.status,
            "claim_id": str(invoice.claim_id) if invoice.claim_id else None,
            "line_id": str(invoice.line_id) if invoice.line_id else None,
            **data,
        },
    )


def _move(session: Session, actor: str, invoice: Invoice, to: InvoiceStatus, **data: Any) -> None:
    before = invoice.status
    invoice.status, invoice.updated_at = to, utcnow()
    _record(session, actor, invoice, to.value, previous_status=before, **data)


def new_invoice(
    principal: Principal, claim: Claim, fields: InvoiceFields, attachment: Attachment | None
) -> Invoice:
    return Invoice(
        company_id=claim.company_id,
        invoice_key=fields.key,
        invoice_type=fields.invoice_type,
        invoice_code=fields.invoice_code,
        invoice_number=fields.invoice_number,
        issue_date=fields.issue_date,
        amount=fields.amount,
        tax_amount=fields.tax_amount,
        total_amount=fields.total_amount,
        check_code=fields.check_code,
        seller_name=fields.seller_name,
        seller_tax_id=fields.seller_tax_id,
        buyer_name=fields.buyer_name,
        buyer_tax_id=fields.buyer_tax_id,
        source=fields.source,
        status=InvoiceStatus.RECEIVED,
        claim_id=claim.id,
        attachment_id=attachment.id if attachment else None,
        file_sha256=attachment.sha256 if attachment else None,
        extracted=fields.as_json(),
        received_by_id=principal.user_id,
        created_at=utcnow(),
        updated_at=utcnow(),
    )


def receive_file(
    session: Session, principal: Principal, claim: Claim, attachment: Attachment, data: bytes
) -> Invoice | None:
    """Read the invoice in an uploaded file into the registry (received), if it holds one."""
    fields = read_invoice(data, attachment.content_type)
    if fields is None:
        return None
    invoice = new_invoice(principal, claim, fields, attachment)
    session.add(invoice)
    session.flush()
    _record(session, principal.actor, invoice, "receive", attachment_id=str(attachment.id))
    return invoice


def propose_by_ocr(reader: OcrReader | None, data: bytes, content_type: str) -> OcrRead | None:
    """OCR proposals for a receipt image that holds no invoice; None when OCR is off. Nothing is
    written to the line: the user takes a proposal or not (their typed values stay)."""
    if reader is None or not content_type.startswith("image/"):
        return None
    return ocr_read(reader.read(open_image(data)))


def _candidate(found: Candidate | None) -> OcrCandidate | None:
    if found is None:
        return None
    value = found.value.isoformat() if isinstance(found.value, date) else str(found.value)
    return OcrCandidate(value=value, confidence=found.confidence, label=found.label)


def ocr_read(result: OcrResult) -> OcrRead:
    return OcrRead(
        status=result.status,
        seconds=round(result.seconds, 3),
        amount=_candidate(result.proposal.amount),
        expense_date=_candidate(result.proposal.expense_date),
        seller_name=_candidate(result.proposal.seller_name),
    )


def receive_fields(
    session: Session, principal: Principal, claim: Claim, fields: InvoiceFields
) -> Invoice:
    invoice = new_invoice(principal, claim, fields, None)
    session.add(invoice)
    session.flush()
    _record(session, principal.actor, invoice, "receive")
    return invoice


def duplicate_error(
    session: Session, principal: Principal | None, company_id: uuid.UUID, key: str
) -> InvoiceDuplicate:
    """409 naming the claim that holds the invoice, if the caller may see that claim."""
    holder = session.scalar(
        select(Invoice.claim_id).where(
            Invoice.company_id == company_id,
            Invoice.invoice_key == key,
            Invoice.status.in_(LIVE_STATUSES),
        )
    )
    number = None
    if holder is not None and principal is not None:
        number = session.scalar(
            select(Claim.number).where(Claim.id == holder, permissions.claim_visibility(principal))
        )
    return InvoiceDuplicate(invoice_key=key, used_in_claim=number)


def live_on_line(session: Session, line_id: uuid.UUID) -> Invoice | None:
    return session.scalars(
        select(Invoice).where(Invoice.line_id == line_id, Invoice.status.in_(LIVE_STATUSES))
    ).first()


def attach(
    session: Session, principal: Principal, claim: Claim, line: ClaimLine, invoice: Invoice
) -> Invoice:
    """Let the invoice back the line; the database refuses a second live use (409)."""
    if invoice.status in LIVE_STATUSES and invoice.line_id == line.id:
        return invoice  # already so: a retry changes nothing
    if invoice.status not in (InvoiceStatus.RECEIVED, InvoiceStatus.RELEASED):
        raise InvoiceNotUsable(invoice_key=invoice.invoice_key, current_status=invoice.status)
    current = live_on_line(session, line.id)
    if current is not None:
        release(session, principal.actor, current, reason="replaced")
    try:
        with session.begin_nested():
            invoice.status, invoice.claim_id, invoice.line_id = (
                InvoiceStatus.ATTACHED,
                claim.id,
                line.id,
            )
            session.flush()
    except IntegrityError:
        raise duplicate_error(session, principal, claim.company_id, invoice.invoice_key) from None
    fields = InvoiceFields(
        invoice_type=invoice.invoice_type,
        invoice_number=invoice.invoice_number,
        invoice_code=invoice.invoice_code,
        tax_amount=invoice.tax_amount,
        total_amount=invoice.total_amount,
    )
    invoice.deductible_tax = vat.deductible(fields, line.category.code)
    invoice.updated_at = utcnow()
    _record(session, principal.actor, invoice, "attach", claim_number=claim.number)
    return invoice


def release(session: Session, actor: str, invoice: Invoice, *, reason: str) -> None:
    if invoice.status == InvoiceStatus.ATTACHED:
        _move(session, actor, invoice, InvoiceStatus.RELEASED, reason=reason)


def release_line(session: Session, principal: Principal, line: ClaimLine) -> None:
    """The line goes away (or drops its invoice): its invoice is free again."""
    invoice = live_on_line(session, line.id)
    if invoice is not None:
        release(session, principal.actor, invoice, reason="line_removed")
        invoice.line_id = None
        session.flush()


def follow_transition(session: Session, claim: Claim, action: ClaimAction, *, actor: str) -> None:
    """Keep invoices in step with their claim: released when it is rejected, withdrawn or
    cancelled; reimbursed when it is paid. Called by claims.lifecycle.apply."""
    if action not in RELEASED_BY and action is not ClaimAction.PAY:
        return
    for invoice in session.scalars(
        select(Invoice).where(Invoice.claim_id == claim.id, Invoice.status.in_(LIVE_STATUSES))
    ):
        if action is ClaimAction.PAY and invoice.status == InvoiceStatus.ATTACHED:
            _move(session, actor, invoice, InvoiceStatus.REIMBURSED, claim_number=claim.number)
        elif action in RELEASED_BY:
            release(session, actor, invoice, reason=f"claim_{action.value}")


def reacquire_for_submit(session: Session, principal: Principal, claim: Claim) -> None:
    """On (re)submission, invoices released by a withdrawal back their lines again; if one was
    used elsewhere meanwhile, the submission fails with invoice_duplicate."""
    line_ids = {line.id: line for line in claim.lines}
    released = session.scalars(
        select(Invoice)
        .where(Invoice.claim_id == claim.id, Invoice.status == InvoiceStatus.RELEASED)
        .order_by(Invoice.updated_at.desc())
    )
    for invoice in released:
        line = line_ids.get(invoice.line_id) if invoice.line_id else None
        if line is not None and live_on_line(session, line.id) is None:
            attach(session, principal, claim, line, invoice)


def invoices_of(session: Session, claim: Claim) -> dict[uuid.UUID, Invoice]:
    """The live invoice of each line of a claim."""
    rows = session.scalars(
        select(Invoice).where(Invoice.claim_id == claim.id, Invoice.status.in_(LIVE_STATUSES))
    )
    return {row.line_id: row for row in rows if row.line_id is not None}


def received_from(session: Session, claim: Claim, attachment_id: uuid.UUID) -> Invoice | None:
    return session.scalars(
        select(Invoice)
        .where(Invoice.claim_id == claim.id, Invoice.attachment_id == attachment_id)
        .order_by(Invoice.created_at.desc())
    ).first()


def same_file(session: Session, principal: Principal, attachment: Attachment) -> SameFile:
    """Other uploads of the very same file in the company; claim numbers only where visible."""
    company_id = session.scalar(select(Claim.company_id).where(Claim.id == attachment.claim_id))
    others = (
        select(Attachment.claim_id)
        .join(Claim, Claim.id == Attachment.claim_id)
        .where(
            Claim.company_id == company_id,
            Attachment.sha256 == attachment.sha256,
            Attachment.id != attachment.id,
        )
    )
    count = session.scalar(select(func.count()).select_from(others.subquery())) or 0
    visible = session.scalars(
        select(Claim.number)
        .where(Claim.id.in_(others), permissions.claim_visibility(principal))
        .order_by(Claim.number)
    )
    return SameFile(seen_before=count, claims=list(visible))


# ---- registry (finance) ------------------------------------------------------------------------


def list_invoices(
    session: Session, principal: Principal, *, status: str | None, q: str | None, limit: int
) -> list[Invoice]:
    """The company's registry, newest first."""
    permissions.require_right(principal, permissions.Right.INVOICE_MANAGE, principal.company_id)
    stmt = select(Invoice).where(Invoice.company_id == principal.company_id)
    if status:
        stmt = stmt.where(Invoice.status == status)
    if q:
        stmt = stmt.where(Invoice.invoice_key.contains(q.strip()))
    return list(session.scalars(stmt.order_by(Invoice.created_at.desc()).limit(limit)))


def get_invoice(session: Session, principal: Principal, invoice_id: uuid.UUID) -> Invoice:
    permissions.require_right(principal, permissions.Right.INVOICE_MANAGE, principal.company_id)
    invoice = session.scalars(
        select(Invoice).where(Invoice.id == invoice_id, Invoice.company_id == principal.company_id)
    ).first()
    if invoice is None:
        raise InvoiceNotFound()
    return invoice


def void(session: Session, principal: Principal, invoice_id: uuid.UUID, reason: str) -> Invoice:
    """Mark an invoice unusable (red-flushed, fake, wrong); a reimbursed one stays as it is."""
    invoice = get_invoice(session, principal, invoice_id)
    if invoice.status == InvoiceStatus.VOIDED:
        return invoice
    if invoice.status == InvoiceStatus.REIMBURSED:
        raise InvoiceNotVoidable(invoice_key=invoice.invoice_key, current_status=invoice.status)
    _move(session, principal.actor, invoice, InvoiceStatus.VOIDED, reason=reason)
    return invoice
