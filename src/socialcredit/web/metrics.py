"""``GET /metrics`` for Prometheus: what the service does, aggregated, with no personal data.

- ``socialcredit_screenings_total{sector, decision}``: screenings answered (single and batch)
  since the server started, by every worker (``runtime/metrics.py``).
- ``socialcredit_http_request_duration_seconds{method, route}``: latency per route template
  (never the raw path, which can hold an ID), measured by a plain ASGI middleware, summed
  over every worker.
- Today's figures, from :func:`socialcredit.reports.today.today`, the function the officials'
  dashboard reads (cached for ``CACHE_SECONDS``): ``socialcredit_listings_new_today``,
  ``socialcredit_removals_today{reason}`` (fulfilled, expired, objection_upheld, withdrawn,
  repaired: subjects removed today as the transparency report counts them, expiries
  included), ``socialcredit_objections_open`` / ``_overdue``, ``socialcredit_notices_backlog``
  / ``_failed`` and ``socialcredit_screenings_last_minute{sector, decision}``.

Several workers (``serve --workers N``): each is a process with its own memory, and a scrape
reaches one of them. prometheus-client's multiprocess mode makes the answer the whole
server's: ``serve`` gives the workers a fresh ``PROMETHEUS_MULTIPROC_DIR``
(``runtime/server.py:metrics_dir``), each worker's histogram and counter live in memory-mapped
files there, and the exposition sums them (``MultiProcessCollector``); a worker that stops
marks itself dead. One process without that directory keeps them in memory, as before.

Small counts are suppressed as in the transparency report: a value from 1 to
``SOCIALCREDIT_REPORT_MIN_COUNT`` - 1 is not exported (the series is absent until it reaches
the threshold), so no one's screening or objection can be read off a quiet sector or day.

Access: operator only (``Authorization: Bearer <operator token>``, Prometheus'
``authorization`` scrape setting), not bound to loopback: a scraper on another host is the
normal case, and the figures, while aggregate, show the registry's activity live.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from socialcredit.reports.today import Today, today
from socialcredit.runtime.deps import OperatorDep
from socialcredit.runtime.metrics import SCREENINGS
from socialcredit.runtime.registry import Registry

CACHE_SECONDS = 5.0
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
MULTIPROC = "PROMETHEUS_MULTIPROC_DIR"
SCREENINGS_NAME = "socialcredit_screenings"
SCREENINGS_HELP = "Screenings answered, by sector and decision"


def shown(n: float, k: int) -> bool:
    """Whether a count is exported: zero, or at least the report's minimum."""
    return n == 0 or n >= k


class Screenings(Collector):
    """This process's screenings (one process, no multiprocess directory)."""

    def __init__(self, k: int) -> None:
        self.k = k

    def collect(self) -> Iterator[Metric]:
        c = CounterMetricFamily(SCREENINGS_NAME, SCREENINGS_HELP, labels=["sector", "decision"])
        for labels, n in sorted(SCREENINGS.snapshot().items()):
            if shown(n, self.k):
                c.add_metric(list(labels), n)
        yield c


class Workers(Collector):
    """Every worker's histogram and counter, summed from the multiprocess directory; small
    screening counts left out as above."""

    def __init__(self, path: str, k: int) -> None:
        from prometheus_client.multiprocess import MultiProcessCollector

        self.inner = MultiProcessCollector(None, path)  # type: ignore[no-untyped-call]
        self.k = k

    def collect(self) -> Iterator[Metric]:
        for m in self.inner.collect():  # type: ignore[no-untyped-call]
            if m.name == SCREENINGS_NAME:
                m.samples = [s for s in m.samples if shown(s.value, self.k)]
            yield m


GAUGES = {
    "listings_new_today": "Records accepted today (each lists its subject)",
    "objections_open": "Objection and reconsideration cases not yet decided",
    "objections_overdue": "Open objection and reconsideration cases past their due day",
    "notices_backlog": "Notices queued and not yet sent",
    "notices_failed": "Notices whose delivery failed",
}


def _gauges(f: Today) -> dict[str, int]:
    return {
        "listings_new_today": f.new_listings,
        "objections_open": f.objections_open,
        "objections_overdue": f.objections_overdue,
        "notices_backlog": f.notices_backlog,
        "notices_failed": f.notices_failed,
    }


class TodayFigures(Collector):
    """:func:`reports.today.today`, read at most once per ``CACHE_SECONDS``."""

    def __init__(self, reg: Registry) -> None:
        self.reg = reg
        self._lock = threading.Lock()
        self._at = -CACHE_SECONDS
        self._figures: Today | None = None

    def figures(self) -> Today:
        with self._lock:
            if self._figures is None or time.monotonic() - self._at >= CACHE_SECONDS:
                self._figures = today(self.reg)
                self._at = time.monotonic()
            return self._figures

    def collect(self) -> Iterator[Metric]:
        k = self.reg.settings.report_min_count
        f = self.figures()
        for name, n in _gauges(f).items():
            g = GaugeMetricFamily(f"socialcredit_{name}", GAUGES[name])
            if shown(n, k):
                g.add_metric([], n)
            yield g
        r = GaugeMetricFamily(
            "socialcredit_removals_today",
            "Subjects removed from the lists today, by reason (expiries included)",
            labels=["reason"],
        )
        for reason, n in f.removals.items():
            if shown(n, k):
                r.add_metric([reason], n)
        yield r
        s = GaugeMetricFamily(
            "socialcredit_screenings_last_minute",
            "Screenings logged in the last minute, by sector and decision",
            labels=["sector", "decision"],
        )
        for sector, decision, n in f.screenings:
            if shown(n, k):
                s.add_metric([sector, decision], n)
        yield s


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
    k = reg.settings.report_min_count
    path = os.environ.get(MULTIPROC)
    # In multiprocess mode the histogram and the counter write to this worker's files and
    # belong to no registry: the exposition reads every worker's files instead.
    histogram = Histogram(
        "socialcredit_http_request_duration_seconds",
        "HTTP request latency by method and route template",
        ["method", "route"],
        buckets=BUCKETS,
        registry=None if path else registry,
    )
    if path:
        counter = Counter(SCREENINGS_NAME, SCREENINGS_HELP, ["sector", "decision"], registry=None)
        SCREENINGS.sink = lambda key, n: counter.labels(*key).inc(n)
        registry.register(Workers(path, k))
        _mark_dead_at_exit()
    else:
        registry.register(Screenings(k))
    registry.register(TodayFigures(reg))
    app.add_middleware(Latency, histogram=histogram)

    @app.get(
        "/metrics",
        tags=["operator"],
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
    )
    def metrics(_: OperatorDep) -> Response:
        """Prometheus text exposition: screenings, latency, today's figures (no personal data;
        counts from 1 to the report's minimum minus one are left out), over every worker."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


_marking = threading.Lock()
_marked: list[int] = []


def _mark_dead_at_exit() -> None:
    """When this worker exits, mark it dead: its live gauges' files go (its counts and
    latencies stay in the sums, as a counter's should). Once per process."""
    import atexit

    from prometheus_client import multiprocess

    with _marking:
        if os.getpid() in _marked:
            return
        _marked.append(os.getpid())
    pid = os.getpid()
    atexit.register(lambda: multiprocess.mark_process_dead(pid))  # type: ignore[no-untyped-call]
