"""The ASGI application: routers, error rendering, health checks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Receive, Scope, Send

from baoxiao import __version__
from baoxiao.approvals import web as approvals_web
from baoxiao.approvals import web_flows as approval_flows_web
from baoxiao.approvals.api import router as approvals_router
from baoxiao.approvals.flows_api import router as approval_flows_router
from baoxiao.audit import web as audit_web
from baoxiao.audit.api import router as audit_router
from baoxiao.budgets.api import router as budgets_router
from baoxiao.claims import web as claims_web
from baoxiao.claims import web_editor as claims_editor
from baoxiao.claims.api import router as claims_router
from baoxiao.identity import runtime
from baoxiao.identity import web as identity_web
from baoxiao.identity import web_account as identity_account_web
from baoxiao.identity import web_admin as identity_admin_web
from baoxiao.identity.admin_api import router as identity_admin_router
from baoxiao.identity.api import router as identity_router
from baoxiao.identity.deps import idempotency_scope
from baoxiao.identity.me_api import router as me_router
from baoxiao.identity.providers_api import router as identity_providers_router
from baoxiao.identity.scim import api as scim_api
from baoxiao.identity.sso_web import router as identity_sso_router
from baoxiao.integrations import service as connector_instances
from baoxiao.integrations import web as integrations_web
from baoxiao.integrations.api import router as integrations_router
from baoxiao.integrations.feishu.api import router as feishu_router
from baoxiao.integrations.prometheus import install_metrics
from baoxiao.invoices.api import router as invoices_router
from baoxiao.kernel import problems
from baoxiao.kernel.db import Database
from baoxiao.kernel.errors import PayloadTooLarge
from baoxiao.kernel.i18n import negotiate
from baoxiao.kernel.logging import RequestIdMiddleware
from baoxiao.kernel.storage import LocalStorage
from baoxiao.migrations import runner
from baoxiao.org import web as org_web
from baoxiao.org.api import router as org_router
from baoxiao.outbox import broker
from baoxiao.payments import web as payments_web
from baoxiao.payments import web_batches as payments_batches_web
from baoxiao.payments import web_employee as payments_employee_web
from baoxiao.payments.advances_api import router as advances_router
from baoxiao.payments.api import router as payments_router
from baoxiao.payments.batches_api import router as batches_router
from baoxiao.policies.api import router as policies_router
from baoxiao.reports import web as reports_web
from baoxiao.settings import Settings
from baoxiao.web import assets
from baoxiao.worker import EmbeddedDispatcher

log = logging.getLogger("baoxiao")
MULTIPART_OVERHEAD = 64 * 1024


def install_pages(app: FastAPI) -> None:
    """The web app: static files and every domain's pages (the dashboard is at /)."""
    assets.install(app)
    for router in (
        identity_web.router,
        reports_web.router,
        claims_web.router,
        claims_editor.router,
        approvals_web.router,
        approval_flows_web.router,
        payments_web.router,
        payments_batches_web.router,
        payments_employee_web.router,
        org_web.router,
        identity_admin_web.router,
        identity_account_web.router,
        integrations_web.router,
        audit_web.router,
    ):
        app.include_router(router)


def prepare_connectors(db: Database) -> None:
    """Load the connector SDKs that answering callbacks needs before serving any."""
    try:
        with db.transaction() as session:
            kinds = connector_instances.prepare_inbound(session)
    except SQLAlchemyError as exc:  # e.g. not migrated yet, which /readyz reports
        log.warning("connectors not prepared: %s", exc.__class__.__name__)
        return
    if kinds:
        log.info("connectors prepared for callbacks: %s", ", ".join(kinds))


class BodySizeLimit:
    """Refuse bodies whose declared length exceeds the limit before reading them."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            length = dict(scope.get("headers") or []).get(b"content-length")
            if length is not None and length.isdigit() and int(length) > self.limit:
                err = PayloadTooLarge(limit=self.limit)
                body: dict[str, Any] = {
                    "type": f"urn:baoxiao:problem:{err.code}",
                    "title": err.code.replace("_", " "),
                    "status": err.status,
                    "code": err.code,
                    "limit": self.limit,
                    "detail": err.render(
                        negotiate(
                            dict(scope.get("headers") or [])
                            .get(b"accept-language", b"")
                            .decode("latin-1"),
                            default="en",
                        )
                    ),
                }
                response = JSONResponse(body, status_code=413, media_type=problems.PROBLEM_JSON)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    """Build the application; tests pass their own settings and database."""
    settings = settings or Settings()
    db = db or Database.from_url(settings.resolved_database_url, pool_size=settings.db_pool_size)
    broker.configure(settings.broker_url.get_secret_value() if settings.broker_url else None)
    embedded = (
        EmbeddedDispatcher(db, settings)
        if settings.embedded_dispatcher and db.dialect == "sqlite"
        else None
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(prepare_connectors, db)
        if embedded is not None:
            embedded.start()
        yield
        if embedded is not None:
            embedded.shutdown()

    app = FastAPI(
        lifespan=lifespan,
        title="Baoxiao API",
        version=__version__,
        summary="Expense reimbursement that works as one with the OA suite.",
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.db = db
    app.state.storage = LocalStorage(settings.resolved_attachment_dir)
    app.state.secret_box = settings.secret_box
    runtime.install(
        db,
        box=settings.secret_box,
        policy=runtime.SignInPolicy(
            lock_after=settings.signin_lock_after,
            lock_for=timedelta(minutes=settings.signin_lock_minutes),
            ip_limit=settings.signin_ip_limit,
            ip_window=timedelta(minutes=settings.signin_ip_window_minutes),
        ),
    )
    app.state.idempotency_scope = idempotency_scope
    app.state.idempotency_ttl = settings.idempotency_ttl

    api = APIRouter(prefix="/api/v1")
    for router in (
        identity_router,
        me_router,
        identity_providers_router,
        claims_router,
        approvals_router,
        approval_flows_router,
        payments_router,
        org_router,
    ):
        api.include_router(router)
    api.include_router(integrations_router)
    api.include_router(feishu_router)
    api.include_router(policies_router)
    api.include_router(invoices_router)
    for finance_router in (budgets_router, batches_router, advances_router):
        api.include_router(finance_router)
    api.include_router(identity_admin_router)
    api.include_router(audit_router)
    app.include_router(api)
    app.include_router(identity_sso_router)
    scim_api.install(app)
    problems.install(app)
    install_metrics(app, db)
    install_pages(app)
    app.add_middleware(BodySizeLimit, limit=settings.max_attachment_bytes + MULTIPART_OVERHEAD)
    app.add_middleware(RequestIdMiddleware)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    def readyz(request: Request) -> JSONResponse:
        """Readiness: the database answers and its schema is at the latest migration."""
        checks: dict[str, str] = {}
        try:
            # Through a session, like every request: it joins the test's transaction and
            # takes the same connection setup as the rest of the application.
            with db.session_factory() as session:
                conn = session.connection()
                conn.execute(text("SELECT 1"))
                checks["database"] = "ok"
                checks["migrations"] = "ok" if runner.is_current(conn) else "pending"
        except Exception as exc:  # any driver error means "not ready"
            log.warning("readiness check failed: %s", exc)
            checks["database"] = "unreachable"
        ready = all(value == "ok" for value in checks.values()) and len(checks) == 2
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    return app
