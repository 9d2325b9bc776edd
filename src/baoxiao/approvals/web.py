"""The approver's inbox: pending tasks with policy flags, decisions, batch approval."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Form, Request, Response
from sqlalchemy.orm import Session

from baoxiao.approvals import runtime, service
from baoxiao.budgets import service as budgets
from baoxiao.claims.api import claim_read
from baoxiao.claims.schemas import ClaimRead
from baoxiao.identity.deps import CsrfProtected, DbSession, WebPrincipal
from baoxiao.identity.principal import Principal
from baoxiao.kernel.errors import AppError
from baoxiao.models.approval import ApprovalTask
from baoxiao.models.catalog import ExpenseCategory
from baoxiao.models.claim import Claim
from baoxiao.org import service as org
from baoxiao.web.pages import lang_of, page_router, render

router = page_router(prefix="/inbox")
DECISIONS: dict[str, service.Decision] = {
    "approve": "approve",
    "reject": "reject",
    "return": "return",
}


@dataclass
class InboxItem:
    task: ApprovalTask
    claim: ClaimRead
    step_name: str
    # The budget position of the claim (claim_budget_position); None: no budget covers it.
    budget: dict[str, Any] | None = None


def claim_budget_position(session: Session, claim: Claim) -> dict[str, Any] | None:
    """The budgets a claim's lines hit (budgets.service.claim_budgets), tightest first;
    None when no budget covers the claim."""
    position = budgets.claim_budgets(session, claim)
    if not position.budgets:
        return None
    ordered = sorted(position.budgets, key=lambda b: b.available)
    tightest = ordered[0]
    return {
        "status": position.status,
        "over": position.status == "over",
        "name": tightest.name,
        "code": tightest.code,
        "currency": tightest.currency,
        "total": tightest.total,
        "occupied": tightest.occupied,
        "consumed": tightest.consumed,
        "available": tightest.available,
        "control": tightest.control,
        "budgets": ordered,
    }


def budget_position(session: Session, task: ApprovalTask) -> dict[str, Any] | None:
    """The budget position of the task's claim: what is left, and whether it is exceeded."""
    return claim_budget_position(session, task.claim)


def step_name(session: Session, task: ApprovalTask) -> str:
    """The node's name from the route pinned at submission (the task keeps its id)."""
    instance = runtime.instance_of(session, task.claim)
    steps = instance.route.get("steps", []) if instance is not None else []
    names = {s.get("node_id"): s.get("node_name") for s in steps}
    return str(names.get(task.step_name) or task.step_name)


def _items(session: Session, principal: Principal) -> list[InboxItem]:
    return [
        InboxItem(
            task,
            claim_read(session, principal, task.claim, Response()),
            step_name(session, task),
            budget_position(session, task),
        )
        for task in service.list_tasks(session, principal)
    ]


@router.get("")
def inbox(request: Request, principal: WebPrincipal, session: DbSession) -> Response:
    """Tasks waiting for me, oldest first."""
    return render(
        request,
        "approvals/inbox.html",
        items=_items(session, principal),
        categories=org.list_in_company(session, principal, ExpenseCategory),
        results=[],
    )


@router.post("/batch", dependencies=[CsrfProtected])
def batch_approve(
    request: Request,
    principal: WebPrincipal,
    session: DbSession,
    task_id: Annotated[list[str] | None, Form()] = None,
    comment: Annotated[str, Form()] = "",
) -> Response:
    """Approve every ticked task, each through the normal decision (SoD and all); one that
    fails does not stop the others, and each result is shown."""
    return _batch(request, session, principal, task_id or [], comment.strip() or None)


def _batch(
    request: Request, session: Session, principal: Principal, ids: list[str], comment: str | None
) -> Response:
    lang = lang_of(request)
    results: list[dict[str, Any]] = []
    for raw in ids:
        try:
            task_id = uuid.UUID(raw)
        except ValueError:
            continue
        savepoint = session.begin_nested()
        try:
            task = service.decide(session, principal, task_id, "approve", comment)
            savepoint.commit()
            results.append({"ok": True, "number": task.claim.number, "message": None})
        except AppError as err:
            savepoint.rollback()
            results.append({"ok": False, "number": raw, "message": err.render(lang)})
    return render(
        request,
        "approvals/inbox.html",
        items=_items(session, principal),
        categories=org.list_in_company(session, principal, ExpenseCategory),
        results=results,
    )


@router.post("/{task_id}/{decision}", dependencies=[CsrfProtected])
def decide(
    request: Request,
    task_id: uuid.UUID,
    decision: str,
    principal: WebPrincipal,
    session: DbSession,
    comment: Annotated[str, Form()] = "",
) -> Response:
    """Approve, reject or return one task with a comment; the card shows the result."""
    chosen = DECISIONS.get(decision)
    if chosen is None:
        return render(request, "approvals/_decided.html", status_code=404, ok=False, message="")
    task = service.decide(session, principal, task_id, chosen, comment.strip() or None)
    response = render(
        request, "approvals/_decided.html", ok=True, decision=decision, task=task, message=None
    )
    # Errors land in the card's result area; a decision replaces the whole card.
    response.headers["HX-Retarget"] = f"#task-{task.id}"
    response.headers["HX-Reswap"] = "outerHTML"
    return response
