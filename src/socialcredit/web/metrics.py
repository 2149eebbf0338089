"""``GET /metrics`` for Prometheus: what the service does, aggregated, with no personal data.

- ``socialcredit_screenings_total{sector, decision}``: screenings answered by this process
  (single and batch), counted in memory on the hot path (``runtime/metrics.py``).
- ``socialcredit_http_request_duration_seconds{method, route}``: latency per route template
  (never the raw path, which can hold an ID), measured by a plain ASGI middleware.
- Figures read from the store at scrape time, cached for ``CACHE_SECONDS`` so a scrape every
  few seconds costs a handful of counts, not a query per scrape:
  ``socialcredit_listings_new_today`` (records accepted today: each lists its subject, a
  publicity period may hold the restriction back), ``socialcredit_removals_today``
  (fulfilments, withdrawals and repairs recorded today, objections upheld today; a natural
  expiry is not an event and is not counted), ``socialcredit_objections_open`` and
  ``socialcredit_objections_overdue`` (objection and reconsideration cases), and
  ``socialcredit_notices_backlog`` / ``socialcredit_notices_failed``.

Small counts are suppressed as in the transparency report: a value from 1 to
``SOCIALCREDIT_REPORT_MIN_COUNT`` - 1 is not exported (the series is absent until it reaches
the threshold), so no one's screening or objection can be read off a quiet sector or day.

Access: operator only (``Authorization: Bearer <operator token>``, Prometheus'
``authorization`` scrape setting), not bound to loopback: a scraper on another host is the
normal case, and the figures, while aggregate, show the registry's activity live.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from socialcredit.runtime.deps import OperatorDep
from socialcredit.runtime.metrics import SCREENINGS
from socialcredit.runtime.registry import Registry
from socialcredit.store import tables as t
from socialcredit.store.tables_dueprocess import cases, notices

CACHE_SECONDS = 5.0
ENDING_EVENTS = ("fulfilled", "withdrawn", "repaired")
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


def shown(n: int, k: int) -> bool:
    """Whether a count is exported: zero, or at least the report's minimum."""
    return n == 0 or n >= k


class Screenings(Collector):
    def __init__(self, k: int) -> None:
        self.k = k

    def collect(self) -> Iterator[Metric]:
        c = CounterMetricFamily(
            "socialcredit_screenings",
            "Screenings answered by this process, by sector and decision",
            labels=["sector", "decision"],
        )
        for labels, n in sorted(SCREENINGS.snapshot().items()):
            if shown(n, self.k):
                c.add_metric(list(labels), n)
        yield c


def store_figures(reg: Registry) -> dict[str, int]:
    """Today's figures from the store (a few indexed counts)."""
    today = reg.today()
    start = dt.datetime.combine(today, dt.time(), reg.tz).astimezone(dt.UTC).replace(tzinfo=None)
    b, r, e, c, n = t.batches.c, t.records.c, t.record_events.c, cases.c, notices.c
    open_case = (c.decided_on.is_(None)) & (c.kind.in_(("objection", "reconsideration")))
    with reg.engine.connect() as conn:
        conn.execution_options(socialcredit_readonly=True)
        new = conn.scalar(
            select(func.count())
            .select_from(t.records.join(t.batches, r.batch_id == b.id))
            .where(b.received_at >= start)
        )
        ended = conn.scalar(
            select(func.count()).where(e.type.in_(ENDING_EVENTS), e.event_date == today)
        )
        upheld = conn.scalar(
            select(func.count()).where(c.decided_on == today, c.outcome == "upheld")
        )
        opened = conn.scalar(select(func.count()).where(open_case))
        overdue = conn.scalar(select(func.count()).where(open_case, c.due_on < today))
        backlog = conn.scalar(select(func.count()).where(n.status == "queued"))
        failed = conn.scalar(select(func.count()).where(n.status == "failed"))
    return {
        "listings_new_today": int(new or 0),
        "removals_today": int(ended or 0) + int(upheld or 0),
        "objections_open": int(opened or 0),
        "objections_overdue": int(overdue or 0),
        "notices_backlog": int(backlog or 0),
        "notices_failed": int(failed or 0),
    }


HELP = {
    "listings_new_today": "Records accepted today (each lists its subject)",
    "removals_today": "Fulfilments, withdrawals, repairs and upheld objections recorded today",
    "objections_open": "Objection and reconsideration cases not yet decided",
    "objections_overdue": "Open objection and reconsideration cases past their due day",
    "notices_backlog": "Notices queued and not yet sent",
    "notices_failed": "Notices whose delivery failed",
}


class StoreFigures(Collector):
    """The store's figures, read at most once per ``CACHE_SECONDS``."""

    def __init__(self, reg: Registry) -> None:
        self.reg = reg
        self._lock = threading.Lock()
        self._at = -CACHE_SECONDS
        self._figures: dict[str, int] = {}

    def figures(self) -> dict[str, int]:
        with self._lock:
            if time.monotonic() - self._at >= CACHE_SECONDS:
                self._figures = store_figures(self.reg)
                self._at = time.monotonic()
            return self._figures

    def collect(self) -> Iterator[Metric]:
        k = self.reg.settings.report_min_count
        for name, n in self.figures().items():
            g = GaugeMetricFamily(f"socialcredit_{name}", HELP[name])
            if shown(n, k):
                g.add_metric([], n)
            yield g


class Latency:
    """Pure ASGI middleware: request seconds per method and route template."""

    def __init__(self, app: ASGIApp, histogram: Histogram) -> None:
        self.app = app
        self.histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = 500

        async def sent(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sent)
        finally:
            route = getattr(scope.get("route"), "path", None)
            label = route or ("unmatched" if status == 404 else "other")
            self.histogram.labels(scope["method"], label).observe(time.perf_counter() - t0)


def install(app: FastAPI, reg: Registry) -> None:
    """Add the latency middleware and ``GET /metrics`` (operator only)."""
    registry = CollectorRegistry()
    histogram = Histogram(
        "socialcredit_http_request_duration_seconds",
        "HTTP request latency by method and route template",
        ["method", "route"],
        buckets=BUCKETS,
        registry=registry,
    )
    registry.register(Screenings(reg.settings.report_min_count))
    registry.register(StoreFigures(reg))
    app.add_middleware(Latency, histogram=histogram)

    @app.get(
        "/metrics",
        tags=["operator"],
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
    )
    def metrics(_: OperatorDep) -> Response:
        """Prometheus text exposition: screenings, latency, today's figures (no personal data;
        counts from 1 to the report's minimum minus one are left out)."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
