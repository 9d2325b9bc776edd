"""Prometheus metrics of event delivery, served at /metrics.

Backlog and dead-letter gauges are read from the database at scrape time, so
any API process reports the true totals. Counters and the latency histogram
are per process: /metrics of the web process shows the embedded dispatcher's
(SQLite mode); separate `baoxiao worker` processes do not export theirs yet.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

DELIVERIES = Counter(
    "baoxiao_deliveries_total",
    "Delivery attempts by outcome (delivered, retry, dead, disabled, lost_lease).",
    ["connector_kind", "outcome"],
    registry=REGISTRY,
)
FAILURES = Counter(
    "baoxiao_delivery_failures_total",
    "Failed delivery attempts (retried or dead-lettered).",
    ["connector_kind"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "baoxiao_delivery_latency_seconds",
    "From the event's commit (occurred_at) to the receiver's 2xx.",
    ["connector_kind"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400),
    registry=REGISTRY,
)
BACKLOG = Gauge(
    "baoxiao_delivery_backlog",
    "Pending deliveries per connector instance.",
    ["connector_id", "connector_kind"],
    registry=REGISTRY,
)
DEAD_LETTERS = Gauge(
    "baoxiao_delivery_dead_letters",
    "Dead-lettered deliveries per connector instance.",
    ["connector_id", "connector_kind"],
    registry=REGISTRY,
)
INBOX_RECEIVED = Gauge(
    "baoxiao_inbox_unapplied",
    "Inbound callbacks received but not yet applied.",
    registry=REGISTRY,
)
