"""An employee's money pages: their advances (借款) and asking for one, offsetting open
advances on a claim being edited (核销), and their payee bank account (masked; a change
needs the current password, or for an SSO-only account a recent confirmation at the
provider, checked by bankaccounts.put)."""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import Form, Request, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from baoxiao.identity import permissions, sessions, sso_web
from baoxiao.identity.deps import (
    CsrfProtected,
    CurrentWebSession,
    DbSession,
    WebPrincipal,
    client_ip,
)
from baoxiao.identity.principal import Principal
from baoxiao.kernel.crypto import SecretBox
from baoxiao.kernel.errors import ValidationFailed
from baoxiao.models.advance import AdvanceStatus
from baoxiao.models.catalog import in_minor_units
from baoxiao.models.claim import Claim
from baoxiao.models.identity import WebSession
from baoxiao.payments import advances, bankaccounts, offsets
from baoxiao.payments.errors import BankAccountNotFound
from baoxiao.payments.schemas import AdvanceCreate, BankAccountWrite
from baoxiao.web.pages import field_errors, page_router, redirect, render

router = page_router()


def _employee_id(principal: Principal) -> uuid.UUID:
    if principal.employee_id is None:
        raise ValidationFailed("This account is not linked to an employee.")
    return principal.employee_id


def _advance_rows(session: Session, principal: Principal) -> list[dict[str, Any]]:
    found = advances.of_employee(session, principal, _employee_id(principal))
    return [
        {
            "advance": a,
            "claim": session.get(Claim, a.claim_id),
            "outstanding": offsets.outstanding(session, a),
            "available": offsets.available(session, a),
        }
        for a in reversed(found)
    ]


def _advances_page(
    request: Request, session: Session, principal: Principal, status_code: int = 200, **form: Any
) -> Response:
    rows = _advance_rows(session, principal)
    return render(
        request,
        "payments/advances.html",
        status_code=status_code,
        rows=rows,
        owed=sum((r["outstanding"] for r in rows), Decimal(0)),
        fields=form.pop("fields", {}),
        form=form,
    )


@router.get("/advances")
def my_advances(request: Request, principal: WebPrincipal, session: DbSession) -> Response:
    """My advances with what I still owe, and the form to ask for one."""
    return _advances_page(request, session, principal)


@router.post("/advances", dependencies=[CsrfProtected])
def request_advance(
    request: Request,
    principal: WebPrincipal,
    session: DbSession,
    amount: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    due_date: Annotated[str, Form()] = "",
) -> Response:
    """Ask for an advance: it is submitted for approval and paid like a claim."""
    form = {"amount": amount, "reason": reason, "due_date": due_date}
    try:
        data = AdvanceCreate(amount=amount, reason=reason.strip(), due_date=due_date or None)  # type: ignore[arg-type]
    except ValidationError as exc:
        return _advances_page(request, session, principal, 422, fields=field_errors(exc), **form)
    # A refusal by the service (say, no category) renders as the page's error message.
    advance = advances.request(
        session, principal, amount=data.amount, reason=data.reason, due_date=data.due_date
    )
    return redirect(f"/claims/{advance.claim_id}?done=submit", request)


def _offsets_fragment(
    request: Request, session: Session, principal: Principal, claim: Claim, **extra: Any
) -> Response:
    chosen = {
        o.advance_id: in_minor_units(session, o.amount, claim.currency)
        for o in offsets.offsets_of(session, claim.id)
    }
    rows = [
        {
            "advance": a,
            "number": c.number if (c := session.get(Claim, a.claim_id)) else "",
            "available": offsets.available(session, a, for_claim=claim.id),
            "chosen": chosen.get(a.id),
        }
        for a in advances.of_employee(session, principal, claim.claimant_id)
        if a.status == AdvanceStatus.OPEN and a.currency == claim.currency
    ]
    return render(request, "payments/_offsets.html", claim=claim, rows=rows, **extra)


@router.get("/claims/{claim_id}/offsets")
def claim_offsets(
    request: Request, claim_id: uuid.UUID, principal: WebPrincipal, session: DbSession
) -> Response:
    """The editor's offsets block (HTMX): my open advances and what this claim offsets."""
    claim = permissions.load_visible_claim(session, principal, claim_id)
    return _offsets_fragment(request, session, principal, claim)


@router.post("/claims/{claim_id}/offsets", dependencies=[CsrfProtected])
def set_claim_offsets(
    request: Request,
    claim_id: uuid.UUID,
    principal: WebPrincipal,
    session: DbSession,
    advance_id: Annotated[list[uuid.UUID] | None, Form()] = None,
    amount: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Offset open advances against this editable claim (an empty amount: not offset)."""
    wanted = []
    for advance, raw in zip(advance_id or [], amount or [], strict=False):
        if not raw.strip():
            continue
        try:
            value = Decimal(raw.strip())
        except InvalidOperation:
            raise ValidationFailed(
                errors=[{"field": "amount", "message": "not a number"}]
            ) from None
        wanted.append(advances.OffsetRequest(advance, value))
    advances.set_offsets(session, principal, claim_id, wanted)
    claim = permissions.load_visible_claim(session, principal, claim_id)
    return _offsets_fragment(request, session, principal, claim, saved=True)


def _box(request: Request) -> SecretBox:
    box: SecretBox = request.app.state.settings.secret_box
    return box


def _recently_confirmed(request: Request, web: WebSession) -> bool:
    return sessions.recently_authenticated(web, request.app.state.settings.session_policy)


def _bank_page(
    request: Request, session: Session, principal: Principal, status_code: int = 200, **extra: Any
) -> Response:
    try:
        account = bankaccounts.get(session, principal, _employee_id(principal))
    except BankAccountNotFound:
        account = None
    web: WebSession = request.state.web_session
    return render(
        request,
        "payments/bank_account.html",
        status_code=status_code,
        account=account,
        # How this person proves it is them: their password, or without one a fresh
        # confirmation at a provider they sign in with.
        confirm=sso_web.confirm_options(session, principal.user_id),
        confirmed=_recently_confirmed(request, web),
        reauth_minutes=request.app.state.settings.session_reauth_minutes,
        **extra,
    )


@router.get("/account/bank")
def bank_account(request: Request, principal: WebPrincipal, session: DbSession) -> Response:
    """My payee account, masked to its last four digits."""
    return _bank_page(request, session, principal, fields={}, form={})


@router.post("/account/bank", dependencies=[CsrfProtected])
def change_bank_account(
    request: Request,
    principal: WebPrincipal,
    web: CurrentWebSession,
    session: DbSession,
    holder_name: Annotated[str, Form()] = "",
    bank_name: Annotated[str, Form()] = "",
    account_number: Annotated[str, Form()] = "",
    branch_name: Annotated[str, Form()] = "",
    bank_code: Annotated[str, Form()] = "",
    current_password: Annotated[str, Form()] = "",
) -> Response:
    """Change my payee account; my current password (SSO only: a recent confirmation at
    the provider) shows it is me."""
    form = {"holder_name": holder_name, "bank_name": bank_name, "branch_name": branch_name}
    form["bank_code"] = bank_code
    try:
        body = BankAccountWrite(
            holder_name=holder_name.strip(),
            bank_name=bank_name.strip(),
            account_number=account_number.strip(),
            branch_name=branch_name.strip() or None,
            bank_code=bank_code.strip() or None,
            current_password=current_password or None,
        )
    except ValidationError as exc:
        return _bank_page(request, session, principal, 422, fields=field_errors(exc), form=form)
    details = bankaccounts.BankDetails(
        holder_name=body.holder_name,
        bank_name=body.bank_name,
        account_number=body.account_number,
        branch_name=body.branch_name,
        bank_code=body.bank_code,
    )
    # A wrong password raises ReauthenticationFailed (403), a missing confirmation
    # ConfirmationRequired: the page shows why, nothing changes.
    bankaccounts.put(
        session,
        principal,
        _box(request),
        _employee_id(principal),
        details,
        body.current_password,
        ip=client_ip(request),
        recently_confirmed=_recently_confirmed(request, web),
    )
    return redirect("/account/bank?done=saved", request)
