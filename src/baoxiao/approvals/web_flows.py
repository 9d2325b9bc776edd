"""The approval flow editor: YAML with validation messages, publish, and a live simulate
panel that resolves a route for a hypothetical claim against the text being edited."""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Annotated, Any

import yaml
from fastapi import Form, Request, Response
from sqlalchemy.orm import Session

from baoxiao.approvals import flows
from baoxiao.approvals.errors import FlowInvalid
from baoxiao.identity.deps import CsrfProtected, DbSession, WebPrincipal
from baoxiao.identity.principal import Principal
from baoxiao.kernel.errors import AppError
from baoxiao.models.approval import ApprovalFlow
from baoxiao.models.catalog import ExpenseCategory
from baoxiao.models.org import Employee
from baoxiao.org import service as org
from baoxiao.web.pages import lang_of, page_router, redirect, render

router = page_router(prefix="/admin/flows")
EXAMPLE = "simple-two-level.yaml"


def parse_yaml(text: str) -> Any:
    """The flow document typed in the editor, or FlowInvalid naming the YAML problem."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise FlowInvalid(errors=[{"field": "", "message": f"YAML: {exc}"[:300]}]) from exc


def _example() -> str:
    return resources.files("baoxiao.approvals").joinpath("examples", EXAMPLE).read_text("utf-8")


def _dump(document: Any) -> str:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def _problems(err: AppError, lang: str) -> list[str]:
    found = [f"{e.get('field') or '/'}: {e.get('message')}" for e in err.errors]
    return found or [err.render(lang)]


def _editor(
    request: Request,
    session: Session,
    principal: Principal,
    flow: ApprovalFlow | None,
    text: str,
    status_code: int = 200,
    problems: list[str] | None = None,
    flash: str | None = None,
) -> Response:
    return render(
        request,
        "approvals/flow_editor.html",
        status_code=status_code,
        flow=flow,
        versions=flows.versions(session, flow) if flow else [],
        text=text,
        problems=problems or [],
        flash=flash,
        employees=org.list_in_company(session, principal, Employee, active_only=True),
        categories=org.list_in_company(session, principal, ExpenseCategory, active_only=True),
    )


@router.get("")
def flow_list(request: Request, principal: WebPrincipal, session: DbSession) -> Response:
    """Every approval flow of the company with its versions."""
    items = [(f, flows.versions(session, f)) for f in flows.list_flows(session, principal)]
    return render(request, "approvals/flows.html", items=items)


@router.get("/new")
def new_flow(request: Request, principal: WebPrincipal, session: DbSession) -> Response:
    """A new flow, starting from the shipped two-level example."""
    flows.list_flows(session, principal)  # the same right as every flow page
    return _editor(
        request, session, principal, None, _example().replace("simple-two-level", "my-flow", 1)
    )


@router.post("/new", dependencies=[CsrfProtected])
def create_flow(
    request: Request,
    principal: WebPrincipal,
    session: DbSession,
    document: Annotated[str, Form()] = "",
) -> Response:
    """Create the flow with its first draft."""
    try:
        flow = flows.create_flow(session, principal, parse_yaml(document))
    except FlowInvalid as err:
        session.rollback()
        problems = _problems(err, lang_of(request))
        return _editor(request, session, principal, None, document, 422, problems)
    return redirect(f"/admin/flows/{flow.id}?done=created", request)


@router.get("/{flow_id}")
def edit_flow(
    request: Request, flow_id: uuid.UUID, principal: WebPrincipal, session: DbSession
) -> Response:
    """The latest version of a flow in the editor."""
    flow = flows.get_flow(session, principal, flow_id)
    latest = flows.versions(session, flow)[-1]
    return _editor(request, session, principal, flow, _dump(latest.document))


@router.post("/{flow_id}/draft", dependencies=[CsrfProtected])
def save_draft(
    request: Request,
    flow_id: uuid.UUID,
    principal: WebPrincipal,
    session: DbSession,
    document: Annotated[str, Form()] = "",
    publish: Annotated[str, Form()] = "",
) -> Response:
    """Save the text as the draft (and publish it when asked)."""
    flow = flows.get_flow(session, principal, flow_id)
    try:
        draft = flows.save_draft(session, principal, flow_id, parse_yaml(document))
        if publish:
            flows.publish(session, principal, flow_id)
    except FlowInvalid as err:
        session.rollback()
        problems = _problems(err, lang_of(request))
        return _editor(request, session, principal, flow, document, 422, problems)
    done = "published" if publish else "saved"
    return redirect(f"/admin/flows/{flow_id}?done={done}&version={draft.version}", request)


def _claim_data(claimant_id: str, category_code: str, amount: str) -> dict[str, Any]:
    problems = []
    try:
        claimant = uuid.UUID(claimant_id)
    except ValueError:
        problems.append({"field": "/claim/claimant_id", "message": "choose a claimant"})
    try:
        value = Decimal(amount or "0")
        if not value.is_finite() or value < 0:
            raise InvalidOperation
    except InvalidOperation:
        problems.append({"field": "/claim/lines/0/amount", "message": "not an amount"})
    if problems:
        raise FlowInvalid(errors=problems)
    return {"claimant_id": claimant, "lines": [{"category_code": category_code, "amount": value}]}


@router.post("/simulate", dependencies=[CsrfProtected])
def simulate(
    request: Request,
    principal: WebPrincipal,
    session: DbSession,
    document: Annotated[str, Form()] = "",
    claimant_id: Annotated[str, Form()] = "",
    category_code: Annotated[str, Form()] = "",
    amount: Annotated[str, Form()] = "",
) -> Response:
    """The route this text would give the hypothetical claim (nothing is saved)."""
    try:
        route = flows.simulate(
            session,
            principal,
            claim_id=None,
            claim_data=_claim_data(claimant_id, category_code, amount),
            document=parse_yaml(document) if document.strip() else None,
            flow_id=None,
        )
    except FlowInvalid as err:
        problems = _problems(err, lang_of(request))
        return render(request, "approvals/_simulation.html", route=None, problems=problems)
    return render(request, "approvals/_simulation.html", route=route, problems=[])
