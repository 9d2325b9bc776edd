"""Sending one cell of the access matrix: the URL of an endpoint for a caller, a claim
owner and an object, and a valid body; every request is rolled back afterwards."""

from __future__ import annotations

from typing import Any

from tests.api.access_finance import account_body
from tests.api.access_rules import NOBODY, Made, Params
from tests.api.access_world import PASSWORD, V1, AccessWorld
from tests.support.invoice_samples import receipt_image

PNG = receipt_image("PNG")


def path_params(
    aw: AccessWorld, owner: str | None, on: str | None = None, side: str = "A"
) -> dict[str, str]:
    """Every path parameter: the owner's claim (and line, receipt, employee), the world's
    task, budget and advance, and the object `on` of company `side`; else a made-up id."""
    claim = aw.claims[owner] if owner else None
    employee = aw.world[owner].employee if owner else None
    params = {
        "claim_id": claim["id"] if claim else NOBODY,
        "line_id": aw.lines[owner] if owner else NOBODY,
        "attachment_id": aw.attachments[owner] if owner else NOBODY,
        "employee_id": str(employee.id) if employee else NOBODY,
        "task_id": aw.task_id,
        "budget_id": aw.budgets.get("RD-2026", NOBODY),
        "advance_id": aw.advance.get("id", NOBODY),
        "event_type": "claim.paid",
        "provider_key": "matrix-no-provider",
    }
    for name in ("token", "payment", "flow", "standard", "invoice", "connector", "delegation"):
        params[f"{name}_id"] = NOBODY
    for name in ("assignment", "user", "batch", "provider"):
        params[f"{name}_id"] = NOBODY
    if on is not None:
        params.update(aw.objects[on][side])
    return params


def request_kwargs(aw: AccessWorld, who: str, owner: str | None, body: Any) -> dict[str, Any]:
    """The headers and a valid body of the request."""
    if isinstance(body, Made):
        body = body.make(aw, who)
    kwargs: dict[str, Any] = {"headers": aw.headers(who)}
    if body == "upload":
        kwargs["files"] = {"file": ("r.png", PNG, "image/png")}
    elif body == "own_attachment":
        kwargs["json"] = {"attachment_id": aw.attachments[owner] if owner else NOBODY}
    elif body == "transfer":
        kwargs["json"] = {"to_employee_id": str(aw.world["peer"].employee.id)}  # type: ignore[union-attr]
    elif body == "add_signer":
        kwargs["json"] = {"employee_id": str(aw.world["boss"].employee.id)}  # type: ignore[union-attr]
    elif body == "account":
        kwargs["json"] = account_body(99, PASSWORD)
    elif body == "budget_sheet":
        kwargs["content"] = aw.budget_sheet
    elif isinstance(body, Params):
        kwargs["params"] = dict(body)
    elif isinstance(body, bytes):
        kwargs["content"] = body
    elif isinstance(body, dict):
        kwargs["json"] = body
    return kwargs


def call(
    aw: AccessWorld,
    method: str,
    path: str,
    who: str,
    owner: str | None = None,
    body: Any = None,
    *,
    on: str | None = None,
    side: str = "A",
) -> tuple[int, Any]:
    """One request, rolled back: its status and its JSON body (None if it has none)."""
    url = V1 + path.format(**path_params(aw, owner, on, side))
    kwargs = request_kwargs(aw, who, owner, body)
    with aw.undone():
        response = aw.send(method, url, **kwargs)
    is_json = response.content and response.headers.get("content-type", "").endswith("json")
    return response.status_code, response.json() if is_json else None
