"""Claim pages: my claims, a new claim, the claim detail with its timeline and route.

The editor's HTMX fragments (lines, totals, receipts, autosave) live in web_editor.py.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Form, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.approvals import flows
from baoxiao.approvals.web import claim_budget_position
from baoxiao.claims import queries, service
from baoxiao.claims.api import claim_read
from baoxiao.claims.schemas import ClaimCreate, ClaimRead
from baoxiao.identity.deps import CsrfProtected, DbSession, WebPrincipal
from baoxiao.identity.principal import Principal
from baoxiao.models.catalog import ExpenseCategory
from baoxiao.models.claim import ClaimActivity
from baoxiao.models.identity import User
from baoxiao.org import service as org
from baoxiao.payments import service as payments
from baoxiao.web.pages import STATUSES, field_errors, page_router, redirect, render

router = page_router(prefix="/claims")
PAGE_SIZE = 25


def view_of(session: Session, principal: Principal, claim_id: uuid.UUID) -> ClaimRead:
    """The claim as the API shows it (lines, policy checks, allowed actions)."""
    claim = queries.get_claim(session, principal, claim_id)
    return claim_read(session, principal, claim, Response())


@router.get("")
def my_claims(
    request: Request,
    principal: WebPrincipal,
    session: DbSession,
    status: str = "",
    q: str = "",
    scope: str = "mine",
    cursor: str | None = None,
) -> Response:
    """My claims (or every claim I may see), newest first, with filters."""
    flt = queries.ClaimFilter(
        status=[status] if status in STATUSES else [],
        mine=scope != "all",
        q=q.strip() or None,
    )
    claims, next_cursor = queries.list_claims(
        session, principal, flt, cursor=cursor, limit=PAGE_SIZE
    )
    template = "claims/_list_rows.html" if request.headers.get("hx-target") else "claims/list.html"
    return render(
        request,
        template,
        claims=claims,
        next_cursor=next_cursor,
        status=status,
        q=q,
        scope=scope,
    )


@router.get("/new")
def new_claim_page(request: Request, principal: WebPrincipal) -> Response:
    """Start a claim: its reason first, then lines and receipts in the editor."""
    return render(request, "claims/new.html", fields={}, reason="")


@router.post("/new", dependencies=[CsrfProtected])
def create_claim(
    request: Request,
    principal: WebPrincipal,
    session: DbSession,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Create the draft and open it in the editor."""
    try:
        data = ClaimCreate(reason=reason)
    except ValueError as exc:
        return render(
            request,
            "claims/new.html",
            status_code=422,
            fields=field_errors(exc),  # type: ignore[arg-type]
            reason=reason,
        )
    claim = service.create_draft(session, principal, data)
    return redirect(f"/claims/{claim.id}/edit", request)


def _actors(session: Session, activities: list[ClaimActivity]) -> dict[uuid.UUID, str]:
    ids = {a.actor_user_id for a in activities if a.actor_user_id is not None}
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    return {user_id: name for user_id, name in rows}


def route_steps(route: dict[str, Any]) -> list[dict[str, Any]]:
    """Each step of the route with its people and state: done, current or expected."""
    tasks = route.get("tasks", [])
    out = []
    for step in route.get("steps", []):
        mine = [t for t in tasks if t["step"] == step["step"]]
        states = {t["status"] for t in mine}
        if mine and states <= {"approved", "cancelled", "transferred"} and "approved" in states:
            state = "done"
        elif "pending" in states:
            state = "current"
        elif states & {"rejected", "returned", "sent_back"}:
            state = "stopped"
        else:
            state = "expected"
        decided = [t for t in mine if t.get("decided_at")]
        out.append(
            {
                "name": step["node_name"],
                "people": step["assignees"],
                "state": state,
                "comment": decided[-1]["comment"] if decided else None,
            }
        )
    return out


@router.get("/{claim_id}")
def claim_detail(
    request: Request, claim_id: uuid.UUID, principal: WebPrincipal, session: DbSession
) -> Response:
    """One claim: lines with policy flags, receipts, the route and the full timeline."""
    view = view_of(session, principal, claim_id)
    activities = queries.history(session, principal, claim_id)
    route = flows.route_for_claim(session, principal, claim_id)
    return render(
        request,
        "claims/detail.html",
        claim=view,
        activities=activities,
        actors=_actors(session, activities),
        route=route,
        steps=route_steps(route),
        payments=payments.payments_of(session, principal, claim_id),
        categories=org.list_in_company(session, principal, ExpenseCategory),
        budget=claim_budget_position(session, queries.get_claim(session, principal, claim_id)),
    )


def _act(
    request: Request, session: Session, principal: Principal, claim_id: uuid.UUID, action: str
) -> Response:
    # An error renders through PageRoute: a page, or a fragment for an HTMX target.
    if action == "submit":
        service.submit(session, principal, claim_id, None)
    elif action == "withdraw":
        service.withdraw(session, principal, claim_id, None, None)
    else:
        service.cancel(session, principal, claim_id, None, None)
    return redirect(f"/claims/{claim_id}?done={action}", request)


@router.post("/{claim_id}/submit", dependencies=[CsrfProtected])
def submit_claim(
    request: Request, claim_id: uuid.UUID, principal: WebPrincipal, session: DbSession
) -> Response:
    """Submit for approval; the route starts at once."""
    return _act(request, session, principal, claim_id, "submit")


@router.post("/{claim_id}/withdraw", dependencies=[CsrfProtected])
def withdraw_claim(
    request: Request, claim_id: uuid.UUID, principal: WebPrincipal, session: DbSession
) -> Response:
    """Take the claim back while nobody has acted on it."""
    return _act(request, session, principal, claim_id, "withdraw")


@router.post("/{claim_id}/cancel", dependencies=[CsrfProtected])
def cancel_claim(
    request: Request, claim_id: uuid.UUID, principal: WebPrincipal, session: DbSession
) -> Response:
    """Abandon a draft, returned or withdrawn claim."""
    return _act(request, session, principal, claim_id, "cancel")
