"""Integration endpoints: connector instances, deliveries, the sync monitor, the event
catalog, and the inbound callback URL of each instance."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from baoxiao.connectors import registry
from baoxiao.connectors.base import InboundRequest
from baoxiao.identity.deps import CurrentPrincipal, DbSession
from baoxiao.integrations import catalog, inbound, monitor, service
from baoxiao.integrations.errors import EventTypeNotFound
from baoxiao.integrations.schemas import (
    CallbackAck,
    ConnectorCreate,
    ConnectorKindRead,
    ConnectorRead,
    ConnectorUpdate,
    DeliveryRead,
    HealthRead,
    MonitorRead,
    ReplayRequest,
    ReplayResult,
)
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.crypto import SecretBox
from baoxiao.kernel.routing import TransactionalRoute
from baoxiao.models.integration import ConnectorInstance, DeliveryStatus

router = APIRouter(route_class=TransactionalRoute, tags=["integrations"])


def secret_box(request: Request) -> SecretBox:
    box: SecretBox | None = getattr(request.app.state, "secret_box", None)
    if box is None:
        settings = request.app.state.settings
        box = SecretBox.from_secret(
            settings.resolved_secret_key,
            old_secrets=tuple(s.get_secret_value() for s in settings.old_secret_keys),
        )
        request.app.state.secret_box = box
    return box


def _read(request: Request, instance: ConnectorInstance) -> ConnectorRead:
    base = str(request.base_url).rstrip("/")
    return ConnectorRead(
        id=instance.id,
        kind=instance.kind,
        name=instance.name,
        config=service.masked_config(instance),
        event_types=[str(t) for t in instance.event_types],
        enabled=instance.enabled,
        disabled_reason=instance.disabled_reason,
        allow_private_network=instance.allow_private_network,
        rate_limit_qps=instance.rate_limit_qps,
        rate_burst=instance.rate_burst,
        actor_user_id=instance.actor_user_id,
        callback_url=f"{base}/api/v1/integrations/{instance.id}/events",
        created_at=instance.created_at,
        updated_at=instance.updated_at,
    )


@router.get("/connector-kinds", response_model=list[ConnectorKindRead])
def connector_kinds(principal: CurrentPrincipal) -> list[ConnectorKindRead]:
    """Installed connectors (entry point group `baoxiao.connectors`) and their config schema."""
    return [
        ConnectorKindRead(
            kind=kind,
            title=cls.title,
            config_schema=cls.config_schema.model_json_schema(),
            secret_fields=list(cls.secret_fields()),
        )
        for kind, cls in sorted(registry.available().items())
    ]


@router.post("/connectors", response_model=ConnectorRead, status_code=status.HTTP_201_CREATED)
def create_connector(
    body: ConnectorCreate, request: Request, principal: CurrentPrincipal, session: DbSession
) -> ConnectorRead:
    """Configure a connector instance (integrations admin). Secrets are stored encrypted."""
    return _read(request, service.create(session, principal, secret_box(request), body))


@router.get("/connectors", response_model=list[ConnectorRead])
def list_connectors(
    request: Request, principal: CurrentPrincipal, session: DbSession
) -> list[ConnectorRead]:
    """Connector instances of the caller's companies; secrets masked."""
    return [_read(request, i) for i in service.list_instances(session, principal)]


@router.get("/connectors/{connector_id}", response_model=ConnectorRead)
def get_connector(
    connector_id: uuid.UUID, request: Request, principal: CurrentPrincipal, session: DbSession
) -> ConnectorRead:
    """One connector instance; secrets masked."""
    return _read(request, service.get(session, principal, connector_id))


@router.patch("/connectors/{connector_id}", response_model=ConnectorRead)
def update_connector(
    connector_id: uuid.UUID,
    body: ConnectorUpdate,
    request: Request,
    principal: CurrentPrincipal,
    session: DbSession,
) -> ConnectorRead:
    """Change an instance; omitted secrets are kept. Re-enabling resumes paused deliveries."""
    instance = service.update(session, principal, secret_box(request), connector_id, body)
    return _read(request, instance)


@router.delete("/connectors/{connector_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_connector(
    connector_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> Response:
    """Remove an instance together with its deliveries and inbox."""
    service.delete(session, principal, connector_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/connectors/{connector_id}/test", response_model=HealthRead)
def test_connector(
    connector_id: uuid.UUID, request: Request, principal: CurrentPrincipal, session: DbSession
) -> HealthRead:
    """Run the connector's health check (e.g. the webhook URL passes the SSRF guard and answers)."""
    instance = service.get(session, principal, connector_id)
    ctx = service.context(secret_box(request), instance)
    connector = service.connector_class(instance.kind)()
    try:
        result = connector.health_check(ctx)
    finally:
        connector.close()
    return HealthRead(ok=result.ok, detail=result.detail)


@router.get("/connectors/{connector_id}/deliveries", response_model=list[DeliveryRead])
def list_deliveries(
    connector_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: DbSession,
    status: DeliveryStatus | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[DeliveryRead]:
    """Deliveries of an instance, newest first: status, attempts, last error. `status=dead`
    lists the dead letters."""
    rows = monitor.list_deliveries(session, principal, connector_id, status=status, limit=limit)
    return [DeliveryRead.model_validate(r) for r in rows]


@router.post("/connectors/{connector_id}/replay", response_model=ReplayResult)
def replay(
    connector_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: DbSession,
    body: ReplayRequest | None = None,
) -> ReplayResult:
    """Queue dead letters again with a fresh retry horizon (all, or the ids given)."""
    ids = body.delivery_ids if body else None
    return ReplayResult(replayed=monitor.replay(session, principal, connector_id, ids))


@router.get("/integrations/monitor", response_model=MonitorRead)
def sync_monitor(principal: CurrentPrincipal, session: DbSession) -> MonitorRead:
    """Backlog per connector instance (pending, due, in flight, delivered, dead, last error)."""
    return monitor.monitor(session, principal)


@router.post(
    "/integrations/{connector_id}/events",
    response_model=CallbackAck,
    status_code=status.HTTP_202_ACCEPTED,
    responses={200: {"description": "Already received (replay): ignored"}, 401: {}},
)
async def receive_callback(
    connector_id: uuid.UUID, request: Request, session: DbSession
) -> JSONResponse:
    """Inbound callback of an external system, signed like our webhooks (Standard Webhooks).
    Verified, stored, acknowledged with 202; applied asynchronously by the worker."""
    body = await request.body()
    inbound_request = InboundRequest(
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
        received_at=utcnow(),
    )
    is_new, event = await run_in_threadpool(
        inbound.receive, session, secret_box(request), connector_id, inbound_request
    )
    ack = CallbackAck(status="accepted" if is_new else "duplicate", id=event.external_id)
    return JSONResponse(ack.model_dump(), status_code=202 if is_new else 200)


@router.get("/event-types", tags=["events"])
def event_types() -> dict[str, Any]:
    """The event catalog: a JSON Schema per event type (also in docs/events/)."""
    return {"event_types": [{"type": t, "schema": s} for t, s in catalog.schemas().items()]}


@router.get("/event-types/{event_type}", tags=["events"])
def event_type(event_type: str) -> dict[str, Any]:
    """The JSON Schema of one event type."""
    schema = catalog.schemas().get(event_type)
    if schema is None:
        raise EventTypeNotFound()
    return schema
