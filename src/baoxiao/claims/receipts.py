"""Receipts and invoices on a claim: upload, remove, read an invoice, back a line with it."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from baoxiao.claims import lifecycle
from baoxiao.claims.attachments import clean_filename, sniff
from baoxiao.claims.errors import (
    AttachmentNotFound,
    AttachmentTooLarge,
    AttachmentTypeRejected,
)
from baoxiao.claims.service import editable, line_of, recheck, reprice, touch
from baoxiao.identity import permissions
from baoxiao.identity.principal import Principal
from baoxiao.invoices import qr as invoice_qr
from baoxiao.invoices import service as invoices
from baoxiao.invoices.errors import InvoiceInvalid
from baoxiao.invoices.fields import InvoiceFields, validate
from baoxiao.invoices.ocr import OcrReader
from baoxiao.invoices.schemas import InvoiceAttach, OcrRead, SameFile
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.errors import BadRequest
from baoxiao.kernel.storage import LocalStorage
from baoxiao.models.claim import Attachment, Claim, ClaimLine
from baoxiao.models.invoice import Invoice


@dataclass
class Upload:
    attachment: Attachment
    invoice: Invoice | None
    same_file: SameFile
    ocr: OcrRead | None = None


def add_attachment(
    session: Session,
    principal: Principal,
    storage: LocalStorage,
    claim_id: uuid.UUID,
    *,
    filename: str | None,
    data: bytes,
    max_bytes: int,
    line_id: uuid.UUID | None,
    if_match: str | None,
    ocr: OcrReader | None = None,
) -> Upload:
    """Store a receipt after checking its size and its real type; read the invoice in it, or
    (with OCR on) propose amount, date and seller from an image without one."""
    claim = editable(session, principal, claim_id, if_match)
    line = line_of(claim, line_id) if line_id is not None else None
    if len(data) > max_bytes:
        raise AttachmentTooLarge(limit=max_bytes)
    if not data:
        raise BadRequest("The uploaded file is empty.")
    content_type = sniff(data)
    if content_type is None:
        raise AttachmentTypeRejected(detected="unknown")
    key = storage.put(data)
    attachment = Attachment(
        claim_id=claim.id,
        line_id=line_id,
        filename=clean_filename(filename, content_type),
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        storage_key=key,
        uploaded_by_id=principal.user_id,
        created_at=utcnow(),
    )
    claim.attachments.append(attachment)
    touch(claim)
    session.flush()
    invoice = invoices.receive_file(session, principal, claim, attachment, data)
    if invoice is not None and line is not None:
        back_line_with(session, principal, claim, line, invoice, fill=True)
    proposal = None if invoice else invoices.propose_by_ocr(ocr, data, content_type)
    recheck(session, claim)
    lifecycle.note(
        session,
        claim,
        "claim:add_attachment",
        actor=principal.actor,
        actor_user_id=principal.user_id,
        extra={
            "attachment_id": str(attachment.id),
            "sha256": attachment.sha256,
            "invoice_key": invoice.invoice_key if invoice else None,
            **({"ocr": proposal.model_dump(mode="json")} if proposal else {}),
        },
    )
    same = invoices.same_file(session, principal, attachment)
    return Upload(attachment, invoice, same, proposal)


def remove_attachment(
    session: Session,
    principal: Principal,
    claim_id: uuid.UUID,
    attachment_id: uuid.UUID,
    if_match: str | None,
) -> Claim:
    """Detach a receipt. The file stays on disk: the audit trail may refer to it."""
    claim = editable(session, principal, claim_id, if_match)
    attachment = next((a for a in claim.attachments if a.id == attachment_id), None)
    if attachment is None:
        raise AttachmentNotFound()
    claim.attachments.remove(attachment)
    touch(claim)
    recheck(session, claim)
    lifecycle.note(
        session,
        claim,
        "claim:remove_attachment",
        actor=principal.actor,
        actor_user_id=principal.user_id,
        extra={"attachment_id": str(attachment_id), "sha256": attachment.sha256},
    )
    return claim


def fill_line(session: Session, claim: Claim, line: ClaimLine, invoice: Invoice) -> None:
    """Copy what the invoice says onto the line: amount (tax included), date, tax, seller."""
    changes: dict[str, object] = {}
    if invoice.total_amount is not None:
        changes.update(amount=invoice.total_amount, currency="CNY", exchange_rate=None)
    if invoice.issue_date is not None:
        changes["expense_date"] = invoice.issue_date
    if changes:
        reprice(session, claim, line, changes)
    line.seller_name = invoice.seller_name
    line.tax_amount = invoice.tax_amount


def back_line_with(
    session: Session,
    principal: Principal,
    claim: Claim,
    line: ClaimLine,
    invoice: Invoice,
    *,
    fill: bool,
) -> Invoice:
    """The invoice backs the line from now on (409 invoice_duplicate if it backs another)."""
    invoices.attach(session, principal, claim, line, invoice)
    if fill:
        fill_line(session, claim, line, invoice)
    line.deductible_tax = invoice.deductible_tax
    if invoice.attachment_id is not None:
        for attachment in claim.attachments:
            if attachment.id == invoice.attachment_id:
                attachment.line_id = line.id
    touch(claim)
    return invoice


def attach_invoice(
    session: Session,
    principal: Principal,
    claim_id: uuid.UUID,
    line_id: uuid.UUID,
    data: InvoiceAttach,
    if_match: str | None,
) -> Claim:
    """Back a line with an invoice read from an attachment, a QR text or typed fields."""
    claim = editable(session, principal, claim_id, if_match)
    line = line_of(claim, line_id)
    if data.attachment_id is not None:
        if not any(a.id == data.attachment_id for a in claim.attachments):
            raise AttachmentNotFound()
        found = invoices.received_from(session, claim, data.attachment_id)
        if found is None:
            raise InvoiceInvalid(reason="no invoice could be read from that attachment")
        invoice = found
    else:
        if data.qr_payload is not None:
            fields = invoice_qr.parse_payload(data.qr_payload)
        else:
            assert data.fields is not None
            fields = validate(InvoiceFields(**data.fields.model_dump(), source="manual"))
        invoice = invoices.receive_fields(session, principal, claim, fields)
    back_line_with(session, principal, claim, line, invoice, fill=data.fill_line)
    recheck(session, claim)
    lifecycle.note(
        session,
        claim,
        "claim:attach_invoice",
        actor=principal.actor,
        actor_user_id=principal.user_id,
        extra={"line_id": str(line.id), "invoice_key": invoice.invoice_key},
    )
    return claim


def detach_invoice(
    session: Session,
    principal: Principal,
    claim_id: uuid.UUID,
    line_id: uuid.UUID,
    if_match: str | None,
) -> Claim:
    """The line no longer relies on its invoice; the invoice is released."""
    claim = editable(session, principal, claim_id, if_match)
    line = line_of(claim, line_id)
    invoices.release_line(session, principal, line)
    line.deductible_tax = line.tax_amount = None
    line.seller_name = None
    touch(claim)
    recheck(session, claim)
    lifecycle.note(
        session,
        claim,
        "claim:detach_invoice",
        actor=principal.actor,
        actor_user_id=principal.user_id,
        extra={"line_id": str(line.id)},
    )
    return claim


def get_attachment(
    session: Session, principal: Principal, claim_id: uuid.UUID, attachment_id: uuid.UUID
) -> Attachment:
    claim = permissions.load_visible_claim(session, principal, claim_id)
    attachment = next((a for a in claim.attachments if a.id == attachment_id), None)
    if attachment is None:
        raise AttachmentNotFound()
    return attachment
