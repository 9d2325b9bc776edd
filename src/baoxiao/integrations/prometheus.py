"""/metrics in the Prometheus text format (delivery backlog, latency, failures, dead letters).

The numbers name connector instances of every company, so the endpoint is not public:
with BAOXIAO_METRICS_TOKEN set, the scraper sends it as a bearer token; without it,
only clients on this machine (loopback) are answered.
"""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from baoxiao.integrations import metrics, monitor
from baoxiao.kernel.db import Database
from baoxiao.kernel.errors import Forbidden, Unauthorized


def _is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def authorise_scrape(request: Request) -> None:
    """The configured bearer token, or a loopback client when none is configured."""
    token = request.app.state.settings.metrics_token
    if token is None:
        if not _is_loopback(request.client.host if request.client else None):
            raise Forbidden()
        return
    sent = request.headers.get("authorization", "")
    expected = f"Bearer {token.get_secret_value()}"
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Unauthorized()


def install_metrics(app: FastAPI, db: Database) -> None:
    @app.get("/metrics", tags=["operations"], response_class=Response)
    def prometheus_metrics(request: Request) -> Response:
        """Prometheus metrics; gauges are read from the database at scrape time."""
        authorise_scrape(request)
        with db.session_factory() as session:
            monitor.refresh_gauges(session)
            session.rollback()
        return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)
