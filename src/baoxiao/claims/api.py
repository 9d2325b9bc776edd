"""Claim endpoints under /api/v1/claims."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, File, Form, Header, Query, Request, Response, UploadFile, status
from fastapi.responses import FileResponse
from pydantic import AwareDatetime
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from baoxiao.claims import queries, receipts, service
from baoxiao.claims.errors import AttachmentTooLarge
from baoxiao.claims.schemas import (
    ActivityRead,
    AttachmentRead,
    AttachmentUploadRead,
    ClaimCreate,
    ClaimLineCreate,
    ClaimLineRead,
    ClaimLineUpdate,
    ClaimPage,
    ClaimRead,
    ClaimSummary,
    ClaimUpdate,
    Comment,
    PersonRef,
)
from baoxiao.identity.deps import CurrentPrincipal, DbSession
from baoxiao.identity.principal import Principal
from baoxiao.invoices import ocr
from baoxiao.invoices import service as invoices
from baoxiao.invoices.schemas import InvoiceAttach, InvoiceBrief
from baoxiao.kernel.routing import TransactionalRoute
from baoxiao.models.catalog import in_minor_units
from baoxiao.models.claim import Claim, ClaimLine
from baoxiao.models.invoice import Invoice
from baoxiao.models.policy import Outcome, PolicyResult
from baoxiao.policies import service as policies
from baoxiao.policies.engine import worst_outcome
from baoxiao.policies.schemas import PolicyCheckRead, PolicySummary

router = APIRouter(prefix="/claims", route_class=TransactionalRoute, tags=["claims"])
IfMatch = Annotated[str | None, Header(alias="If-Match", description="ETag from a previous read.")]
UPLOAD_CHUNK = 1024 * 1024


async def read_upload(file: UploadFile, limit: int) -> bytes:
    """The uploaded bytes, refused as soon as they pass the limit (pages use it too)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await file.read(UPLOAD_CHUNK):
        size += len(chunk)
        if size > limit:
            raise AttachmentTooLarge(limit=limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def store_receipt(
    request: Request,
    session: Session,
    principal: Principal,
    claim_id: uuid.UUID,
    file: UploadFile,
    line_id: uuid.UUID | None,
    if_match: str | None,
) -> receipts.Upload:
    """Read an upload within the size limit and store it as a receipt (API and pages)."""
    settings = request.app.state.settings
    limit: int = settings.max_attachment_bytes
    data = await read_upload(file, limit)
    return await run_in_threadpool(
        receipts.add_attachment,
        session,
        principal,
        request.app.state.storage,
        claim_id,
        filename=file.filename,
        data=data,
        max_bytes=limit,
        line_id=line_id,
        if_match=if_match,
        ocr=ocr.reader(settings.ocr_max_pixels, settings.ocr_timeout_seconds)
        if settings.ocr_enabled
        else None,
    )


def _summary(session: Session, claim: Claim) -> ClaimSummary:
    c = claim.claimant
    return ClaimSummary(
        id=claim.id,
        number=claim.number,
        claim_type=claim.claim_type,
        status=claim.status,
        reason=claim.reason,
        claimant=PersonRef(id=c.id, name=c.name, employee_no=c.employee_no),
        department_id=claim.department_id,
        currency=claim.currency,
        total_amount=in_minor_units(session, claim.total_amount, claim.currency),
        created_at=claim.created_at,
        submitted_at=claim.submitted_at,
        version=claim.version,
    )


def _check(result: PolicyResult) -> PolicyCheckRead:
    return PolicyCheckRead(
        rule=result.rule,
        outcome=result.outcome,
        message_en=result.message_en,
        message_zh=result.message_zh,
        trace_en=str(result.trace.get("en", "")),
        trace_zh=str(result.trace.get("zh", "")),
        standard_version=result.standard_version,
    )


def _money(session: Session, amount: Decimal | None, currency: str) -> Decimal | None:
    return None if amount is None else in_minor_units(session, amount, currency)


def _line(
    session: Session,
    line: ClaimLine,
    invoice: Invoice | None = None,
    checks: list[PolicyResult] | None = None,
) -> ClaimLineRead:
    base = line.claim.currency
    return ClaimLineRead(
        id=line.id,
        position=line.position,
        category_id=line.category_id,
        category_code=line.category.code,
        expense_date=line.expense_date,
        amount=in_minor_units(session, line.amount, line.currency),
        currency=line.currency,
        exchange_rate=line.exchange_rate,
        rate_source=line.rate_source,
        amount_base=in_minor_units(session, line.amount_base, line.claim.currency),
        description=line.description,
        city=line.city,
        days=line.days,
        justification=line.justification,
        capped_from=_money(session, line.capped_from, base),
        seller_name=line.seller_name,
        tax_amount=_money(session, line.tax_amount, "CNY"),
        deductible_tax=_money(session, line.deductible_tax, "CNY"),
        invoice=InvoiceBrief.model_validate(invoice) if invoice else None,
        policy=[_check(r) for r in checks or []],
        approved_amount=None
        if line.approved_amount is None
        else in_minor_units(session, line.approved_amount, line.claim.currency),
        approval_note=line.approval_note,
    )


def claim_read(
    session: Session, principal: Principal, claim: Claim, response: Response
) -> ClaimRead:
    session.flush()  # the version (and so the ETag) is final once flushed
    response.headers["ETag"] = claim.etag
    results = policies.results_for(session, claim)
    on_lines = invoices.invoices_of(session, claim)
    outcomes = [Outcome(r.outcome) for r in results]
    return ClaimRead(
        **_summary(session, claim).model_dump(),
        company_id=claim.company_id,
        cost_center_id=claim.cost_center_id,
        project_code=claim.project_code,
        updated_at=claim.updated_at,
        approved_at=claim.approved_at,
        paid_at=claim.paid_at,
        lines=[
            _line(
                session, line, on_lines.get(line.id), [r for r in results if r.line_id == line.id]
            )
            for line in claim.lines
        ],
        approved_amount=None
        if claim.approved_amount is None
        else in_minor_units(session, claim.approved_amount, claim.currency),
        attachments=[AttachmentRead.model_validate(a) for a in claim.attachments],
        policy=PolicySummary(
            outcome=worst_outcome(outcomes).value,
            warnings=outcomes.count(Outcome.WARN),
            blocks=outcomes.count(Outcome.BLOCK),
            standard_version=results[0].standard_version if results else None,
        ),
        allowed_actions=queries.allowed_actions(session, principal, claim),
    )


@router.post("", response_model=ClaimRead, status_code=status.HTTP_201_CREATED)
def create_claim(
    body: ClaimCreate, principal: CurrentPrincipal, session: DbSession, response: Response
) -> ClaimRead:
    """Create a draft claim for the caller, optionally with its lines."""
    claim = service.create_draft(session, principal, body)
    response.headers["Location"] = f"/api/v1/claims/{claim.id}"
    return claim_read(session, principal, claim, response)


@router.get("", response_model=ClaimPage)
def list_claims(
    principal: CurrentPrincipal,
    session: DbSession,
    status_: Annotated[list[str] | None, Query(alias="status")] = None,
    claimant_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
    mine: bool = False,
    created_from: AwareDatetime | None = None,
    created_to: AwareDatetime | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)] = 20,
) -> ClaimPage:
    """Claims the caller may see, newest first; pass next_cursor to page on."""
    flt = queries.ClaimFilter(
        status=status_ or [],
        claimant_id=claimant_id,
        department_id=department_id,
        mine=mine,
        created_from=created_from,
        created_to=created_to,
        q=q,
    )
    items, next_cursor = queries.list_claims(session, principal, flt, cursor=cursor, limit=limit)
    return ClaimPage(items=[_summary(session, c) for c in items], next_cursor=next_cursor)


@router.get("/{claim_id}", response_model=ClaimRead)
def get_claim(
    claim_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession, response: Response
) -> ClaimRead:
    """One claim with its lines, attachments and the caller's allowed actions."""
    return claim_read(session, principal, queries.get_claim(session, principal, claim_id), response)


@router.patch("/{claim_id}", response_model=ClaimRead)
def update_claim(
    claim_id: uuid.UUID,
    body: ClaimUpdate,
    principal: CurrentPrincipal,
    session: DbSession,
    response: Response,
    if_match: IfMatch = None,
) -> ClaimRead:
    """Edit the header of a draft, returned or withdrawn claim."""
    claim = service.update_claim(session, principal, claim_id, body, if_match)
    return claim_read(session, principal, claim, response)


@router.post("/{claim_id}/lines", response_model=ClaimRead, status_code=status.HTTP_201_CREATED)
def add_line(
    claim_id: uuid.UUID,
    body: ClaimLineCreate,
    principal: CurrentPrincipal,
    session: DbSession,
    response: Response,
    if_match: IfMatch = None,
) -> ClaimRead:
    """Add a line item; the claim total is recomputed."""
    line = service.add_line(session, principal, claim_id, body, if_match)
    return claim_read(session, principal, line.claim, response)


@router.patch("/{claim_id}/lines/{line_id}", response_model=ClaimRead)
def update_line(
    claim_id: uuid.UUID,
    line_id: uuid.UUID,
    body: ClaimLineUpdate,
    principal: CurrentPrincipal,
    session: DbSession,
    response: Response,
    if_match: IfMatch = None,
) -> ClaimRead:
    """Change a line item."""
    line = service.update_line(session, principal, claim_id, line_id, body, if_match)
    return claim_read(session, principal, line.claim, response)


@router.delete("/{claim_id}/lines/{line_id}", response_model=ClaimRead)
def remove_line(
    claim_id: uuid.UUID,
    line_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: DbSession,
    response: Response,
    if_match: IfMatch = None,
) -> ClaimRead:
    """Remove a line item."""
    claim = service.remove_line(session, principal, claim_id, line_id, if_match)
    return claim_read(session, principal, claim, response)


@router.put("/{claim_id}/lines/{line_id}/invoice", response_model=ClaimRead)
def attach_invoice(
    claim_id: uuid.UUID,
    line_id: uuid.UUID,
    body: InvoiceAttach,
    principal: CurrentPrincipal,
    session: DbSession,
    response: Response,
    if_match: IfMatch = None,
) -> ClaimRead:
    """Back a line with an invoice (from an upload, a QR text or fields); 409
    invoice_duplicate when it already backs another live line of the company."""
    claim = receipts.attach_invoice(session, principal, claim_id, line_id, body, if_match)
    return claim_read(session, principal, claim, response)


@router.delete("/{claim_id}/lines/{line_id}/invoice", response_model=ClaimRead)
def detach_invoice(
    claim_id: uuid.UUID,
    line_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: DbSession,
    response: Response,
    if_match: IfMatch = None,
) -> ClaimRead:
    """Drop the line's invoice; it is released for other use."""
    claim = receipts.detach_invoice(session, principal, claim_id, line_id, if_match)
    return claim_read(session, principal, claim, response)


@router.post(
    "/{claim_id}/attachments",
    response_model=AttachmentUploadRead,
    status_code=status.HTTP_201_CREATED,
)
async def add_attachment(
    claim_id: uuid.UUID,
    request: Request,
    principal: CurrentPrincipal,
    session: DbSession,
    file: Annotated[UploadFile, File(description="JPEG, PNG, WebP, PDF, XML or OFD.")],
    line_id: Annotated[uuid.UUID | None, Form()] = None,
    if_match: IfMatch = None,
) -> AttachmentRead:
    """Upload a receipt; its type is decided from its bytes, not from the client. An invoice
    in it (QR, PDF, XML, OFD) is read into the registry, and backs the line if one is given."""
    upload = await store_receipt(request, session, principal, claim_id, file, line_id, if_match)
    return AttachmentUploadRead(
        **AttachmentRead.model_validate(upload.attachment).model_dump(),
        invoice=InvoiceBrief.model_validate(upload.invoice) if upload.invoice else None,
        same_file=upload.same_file,
        ocr=upload.ocr,
    )


@router.get("/{claim_id}/attachments/{attachment_id}", response_model=AttachmentRead)
def get_attachment(
    claim_id: uuid.UUID, attachment_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> AttachmentRead:
    """Metadata of one attachment."""
    return AttachmentRead.model_validate(
        receipts.get_attachment(session, principal, claim_id, attachment_id)
    )


@router.get("/{claim_id}/attachments/{attachment_id}/content", response_class=FileResponse)
def download_attachment(
    claim_id: uuid.UUID,
    attachment_id: uuid.UUID,
    request: Request,
    principal: CurrentPrincipal,
    session: DbSession,
) -> FileResponse:
    """The file itself, served with its sniffed type and no content sniffing by browsers."""
    attachment = receipts.get_attachment(session, principal, claim_id, attachment_id)
    return FileResponse(
        request.app.state.storage.path(attachment.storage_key),
        media_type=attachment.content_type,
        filename=attachment.filename,
        content_disposition_type="attachment",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"},
    )


@router.delete("/{claim_id}/attachments/{attachment_id}", response_model=ClaimRead)
def remove_attachment(
    claim_id: uuid.UUID,
    attachment_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: DbSession,
    response: Response,
    if_match: IfMatch = None,
) -> ClaimRead:
    """Remove an attachment from an editable claim."""
    claim = receipts.remove_attachment(session, principal, claim_id, attachment_id, if_match)
    return claim_read(session, principal, claim, response)


@router.post("/{claim_id}/submit", response_model=ClaimRead)
def submit_claim(
    claim_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: DbSession,
    response: Response,
    if_match: IfMatch = None,
) -> ClaimRead:
    """Submit the claim; its approval route starts at once."""
    return claim_read(
        session, principal, service.submit(session, principal, claim_id, if_match), response
    )


@router.post("/{claim_id}/withdraw", response_model=ClaimRead)
def withdraw_claim(
    claim_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: DbSession,
    response: Response,
    body: Comment | None = None,
    if_match: IfMatch = None,
) -> ClaimRead:
    """Withdraw a submitted claim while no approver has acted."""
    comment = body.comment if body else None
    claim = service.withdraw(session, principal, claim_id, comment, if_match)
    return claim_read(session, principal, claim, response)


@router.post("/{claim_id}/cancel", response_model=ClaimRead)
def cancel_claim(
    claim_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: DbSession,
    response: Response,
    body: Comment | None = None,
    if_match: IfMatch = None,
) -> ClaimRead:
    """Cancel a draft, returned or withdrawn claim for good."""
    comment = body.comment if body else None
    claim = service.cancel(session, principal, claim_id, comment, if_match)
    return claim_read(session, principal, claim, response)


@router.get("/{claim_id}/history", response_model=list[ActivityRead])
def claim_history(
    claim_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> list[ActivityRead]:
    """The claim's timeline, oldest first."""
    return [ActivityRead.model_validate(a) for a in queries.history(session, principal, claim_id)]
