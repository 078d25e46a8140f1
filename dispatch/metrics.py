"""Prometheus metrics: alerts received, time to acknowledge, escalations, notification
failures, connected consoles. Counters are per process; Prometheus sums the processes."""

from __future__ import annotations

from collections import Counter as TypeCounter
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

ALERTS_RECEIVED = Counter(
    "dispatch_alerts_received_total", "Alerts accepted at intake", ["source", "resolved"]
)
TIME_TO_ACK = Histogram(
    "dispatch_time_to_acknowledge_seconds",
    "Seconds from an alert's arrival to its acknowledgement",
    buckets=(15, 30, 60, 120, 180, 300, 600, 900, 1800, 3600),
)
TIMELINE_EVENTS = Counter(
    "dispatch_timeline_events_total", "Timeline events committed, by type", ["type"]
)
ESCALATIONS = Counter("dispatch_escalations_total", "Escalation steps fired")
NOTIFICATION_FAILURES = Counter(
    "dispatch_notification_failures_total", "Notifications that failed or were not delivered"
)

FAILED_DELIVERY_STATUSES = {"failed", "undelivered", "busy", "no-answer", "canceled"}


def record_committed_events(types: TypeCounter[str], failures: int) -> None:
    """Count events that were just committed (called from the session's after-commit hook)."""
    for event_type, n in types.items():
        TIMELINE_EVENTS.labels(event_type).inc(n)
    escalations = types.get("alert.escalated", 0)
    if escalations:
        ESCALATIONS.inc(escalations)
    if failures:
        NOTIFICATION_FAILURES.inc(failures)


def observe_ack(alert: Any) -> None:
    """Record an acknowledgement's delay from arrival."""
    if alert.acknowledged_at is not None:
        TIME_TO_ACK.observe((alert.acknowledged_at - alert.received_at).total_seconds())


class _ConsoleCollector(Collector):
    """Connected consoles, read from the live hubs of this process at scrape time."""

    def __init__(self) -> None:
        self.hubs: list[Any] = []

    def collect(self) -> Any:
        total = 0
        for hub in self.hubs:
            total += int(getattr(hub, "connection_count", lambda: 0)())
        family = GaugeMetricFamily("dispatch_consoles_connected", "Open console WebSockets")
        family.add_metric([], total)
        yield family


CONSOLES = _ConsoleCollector()
REGISTRY.register(CONSOLES)

router = APIRouter(tags=["ops"])


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus text exposition (serve it on an internal interface only)."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
