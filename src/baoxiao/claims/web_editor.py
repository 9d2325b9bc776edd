"""The claim editor's HTMX parts: header autosave, add and remove lines with server-computed
totals, receipt upload with preview. Every change goes through the claim services."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import File, Form, Request, Response, UploadFile
from fastapi.responses import FileResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from baoxiao.claims import receipts, service
from baoxiao.claims.api import store_receipt
from baoxiao.claims.schemas import ClaimLineCreate, ClaimUpdate
from baoxiao.claims.web import view_of
from baoxiao.identity.deps import CsrfProtected, DbSession, WebPrincipal
from baoxiao.identity.principal import Principal
from baoxiao.kernel.errors import AppError
from baoxiao.models.catalog import ExpenseCategory
from baoxiao.org import service as org
from baoxiao.web.pages import field_errors, lang_of, page_router, render

router = page_router(prefix="/claims")
# Errors that name no field but belong to one input of the line form.
CODE_FIELDS = {
    "unknown_category": "category_code",
    "unknown_currency": "currency",
    "exchange_rate_missing": "currency",
    "invalid_amount": "amount",
}


def _choices(session: Session, principal: Principal) -> dict[str, Any]:
    return {
        "categories": org.list_in_company(session, principal, ExpenseCategory, active_only=True),
        "currencies": org.currencies(session),
    }


def _lines(
    request: Request,
    session: Session,
    principal: Principal,
    claim_id: uuid.UUID,
    status_code: int = 200,
    fields: dict[str, str] | None = None,
    entered: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "claims/_lines.html",
        status_code=status_code,
        claim=view_of(session, principal, claim_id),
        fields=fields or {},
        entered=entered or {},
        **_choices(session, principal),
    )


@router.get("/{claim_id}/edit")
def editor(
    request: Request, claim_id: uuid.UUID, principal: WebPrincipal, session: DbSession
) -> Response:
    """The claim editor (drafts and returned claims of the claimant)."""
    claim = service.editable(session, principal, claim_id, None)
    return render(
        request,
        "claims/editor.html",
        claim=view_of(session, principal, claim.id),
        fields={},
        entered={},
        **_choices(session, principal),
    )


@router.post("/{claim_id}/header", dependencies=[CsrfProtected])
def autosave_header(
    request: Request,
    claim_id: uuid.UUID,
    principal: WebPrincipal,
    session: DbSession,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Save the header as the person types (debounced by the page)."""
    try:
        data = ClaimUpdate(reason=reason)
    except ValidationError as exc:
        return render(request, "claims/_autosave.html", status_code=422, fields=field_errors(exc))
    claim = service.update_claim(session, principal, claim_id, data, None)
    return render(request, "claims/_autosave.html", fields={}, saved_at=claim.updated_at)


@router.post("/{claim_id}/lines", dependencies=[CsrfProtected])
def add_line(
    request: Request,
    claim_id: uuid.UUID,
    principal: WebPrincipal,
    session: DbSession,
    category_code: Annotated[str, Form()] = "",
    expense_date: Annotated[str, Form()] = "",
    amount: Annotated[str, Form()] = "",
    currency: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
) -> Response:
    """Add a line; the lines table comes back with the new totals, or the form with the
    messages next to its fields."""
    entered = {
        "category_code": category_code,
        "expense_date": expense_date,
        "amount": amount.strip(),
        "currency": currency,
        "description": description,
    }
    try:
        data = ClaimLineCreate.model_validate(
            {key: value for key, value in entered.items() if value != ""}
            | {"description": description}
        )
        service.add_line(session, principal, claim_id, data, None)
    except ValidationError as exc:
        session.rollback()
        return _lines(request, session, principal, claim_id, 422, field_errors(exc), entered)
    except AppError as err:
        if err.status >= 500 or err.status in (403, 404):
            raise
        session.rollback()
        fields = field_errors(err, lang_of(request))
        if not fields or set(fields) == {"form"}:
            fields = {CODE_FIELDS.get(err.code, "form"): err.render(lang_of(request))}
        return _lines(request, session, principal, claim_id, err.status, fields, entered)
    return _lines(request, session, principal, claim_id)


@router.post("/{claim_id}/lines/{line_id}/remove", dependencies=[CsrfProtected])
def remove_line(
    request: Request,
    claim_id: uuid.UUID,
    line_id: uuid.UUID,
    principal: WebPrincipal,
    session: DbSession,
) -> Response:
    """Remove a line; the table and totals come back."""
    service.remove_line(session, principal, claim_id, line_id, None)
    return _lines(request, session, principal, claim_id)


def _receipts(
    request: Request,
    session: Session,
    principal: Principal,
    claim_id: uuid.UUID,
    status_code: int = 200,
    message: str | None = None,
) -> Response:
    return render(
        request,
        "claims/_receipts.html",
        status_code=status_code,
        claim=view_of(session, principal, claim_id),
        upload_error=message,
    )


@router.post("/{claim_id}/attachments", dependencies=[CsrfProtected])
async def upload_receipt(
    request: Request,
    claim_id: uuid.UUID,
    principal: WebPrincipal,
    session: DbSession,
    file: Annotated[UploadFile, File()],
) -> Response:
    """Upload a receipt (photo, PDF, e-invoice); the receipts list comes back with previews."""
    try:
        await store_receipt(request, session, principal, claim_id, file, None, None)
    except AppError as err:
        if err.status in (403, 404):
            raise
        await run_in_threadpool(session.rollback)
        return await run_in_threadpool(
            _receipts,
            request,
            session,
            principal,
            claim_id,
            err.status,
            err.render(lang_of(request)),
        )
    return await run_in_threadpool(_receipts, request, session, principal, claim_id)


@router.post("/{claim_id}/attachments/{attachment_id}/remove", dependencies=[CsrfProtected])
def remove_receipt(
    request: Request,
    claim_id: uuid.UUID,
    attachment_id: uuid.UUID,
    principal: WebPrincipal,
    session: DbSession,
) -> Response:
    """Remove a receipt from the claim."""
    receipts.remove_attachment(session, principal, claim_id, attachment_id, None)
    return _receipts(request, session, principal, claim_id)


@router.get("/{claim_id}/attachments/{attachment_id}/content")
def receipt_content(
    request: Request,
    claim_id: uuid.UUID,
    attachment_id: uuid.UUID,
    principal: WebPrincipal,
    session: DbSession,
) -> Response:
    """The receipt's bytes for its preview, to whoever may see the claim."""
    attachment = receipts.get_attachment(session, principal, claim_id, attachment_id)
    return FileResponse(
        request.app.state.storage.path(attachment.storage_key),
        media_type=attachment.content_type,
        filename=attachment.filename,
        content_disposition_type="inline",
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
            "Cache-Control": "private, max-age=300",
        },
    )
