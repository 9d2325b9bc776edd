"""Integration pages for admins: the sync monitor, dead letters and their replay."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Form, Request, Response

from baoxiao.identity import permissions
from baoxiao.identity.deps import CsrfProtected, DbSession, WebPrincipal
from baoxiao.integrations import monitor, service
from baoxiao.kernel.errors import Forbidden
from baoxiao.models.integration import DeliveryStatus
from baoxiao.web.pages import page_router, redirect, render

router = page_router(prefix="/admin/integrations")


def _require_admin(principal: permissions.Principal) -> None:
    if not permissions.has_right_anywhere(principal, permissions.Right.INTEGRATIONS_ADMIN):
        raise Forbidden()


@router.get("")
def sync_monitor(request: Request, principal: WebPrincipal, session: DbSession) -> Response:
    """Every connector with its delivery backlog, dead letters and last error."""
    _require_admin(principal)
    template = (
        "integrations/_monitor.html"
        if request.headers.get("hx-request")
        else "integrations/monitor.html"
    )
    return render(request, template, state=monitor.monitor(session, principal))


@router.get("/{connector_id}")
def dead_letters(
    request: Request, connector_id: uuid.UUID, principal: WebPrincipal, session: DbSession
) -> Response:
    """A connector's dead letters, to replay after the cause is fixed."""
    instance = service.get(session, principal, connector_id)
    return render(
        request,
        "integrations/dead_letters.html",
        instance=instance,
        dead=monitor.list_deliveries(session, principal, connector_id, status=DeliveryStatus.DEAD),
    )


@router.post("/{connector_id}/replay", dependencies=[CsrfProtected])
def replay(
    request: Request,
    connector_id: uuid.UUID,
    principal: WebPrincipal,
    session: DbSession,
    delivery_id: Annotated[list[uuid.UUID] | None, Form()] = None,
    everything: Annotated[str, Form()] = "",
) -> Response:
    """Queue the chosen dead letters (or all of them) for delivery again."""
    count = monitor.replay(
        session, principal, connector_id, None if everything else (delivery_id or [])
    )
    return redirect(f"/admin/integrations/{connector_id}?replayed={count}", request)
