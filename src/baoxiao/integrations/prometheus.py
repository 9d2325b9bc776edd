"""/metrics in the Prometheus text format (delivery backlog, latency, failures, dead letters)."""

from __future__ import annotations

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from baoxiao.integrations import metrics, monitor
from baoxiao.kernel.db import Database


def install_metrics(app: FastAPI, db: Database) -> None:
    @app.get("/metrics", tags=["operations"], response_class=Response)
    def prometheus_metrics() -> Response:
        """Prometheus metrics; gauges are read from the database at scrape time."""
        with db.session_factory() as session:
            monitor.refresh_gauges(session)
            session.rollback()
        return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)
