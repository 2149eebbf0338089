"""``serve --workers N``: N uvicorn worker processes on one port, sharing one index snapshot.

The parent prepares once (migrations, the index snapshot written to disk, the operator token
put in the environment), then hands over to uvicorn's own process supervisor with the app
given as a factory (``socialcredit.web.app:worker_app``). Each worker opens the registry from
the environment and restores the snapshot memory-mapped: the index and the name table are
pages of one file in the page cache, shared by all workers, and a worker is ready in the time
it takes to map them and catch up from the feed. uvicorn binds the socket in the parent, the
workers accept on it, a worker that dies or stops answering its pings is started again, and
SIGTERM stops them all (each flushes its screening log first).

Why uvicorn's workers and not our own forked ones: the first version forked the workers from
the parent (each with an ``SO_REUSEPORT`` socket, then with one inherited socket). In three
runs of ``bench/cluster.py`` the forked workers cost 1.17x, 1.21x and 1.29x one process's
CPU per screening and uvicorn's 0.91x-1.06x, but uvicorn's were always measured after the
forked ones; measured in the forked ones' place after the switch they cost 1.14x, so the
order on this shared VM explains most of the gap. They stay for what they bring: uvicorn's
supervisor (restart on exit or missed pings, SIGHUP reload) instead of ours. What they cost:
each worker imports the package itself (a few seconds at start) and does not share the
parent's Python heap copy-on-write; the index and the name table are mapped either way.
"""

from __future__ import annotations

import os
import signal
from typing import Any

PR_SET_PDEATHSIG = 1  # prctl(2)
WORKER_APP = "socialcredit.web.app:worker_app"


def die_with_parent() -> None:
    """A worker whose supervisor is killed (SIGKILL: it cannot pass anything on) would keep
    the port with nobody to restart or stop it: Linux sends it SIGTERM instead (it then
    stops cleanly, flushing its log)."""
    parent = os.getppid()
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the service manager must stop the group
        return
    if os.getppid() != parent:  # it died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def run_workers(host: str, port: int, workers: int, options: dict[str, Any]) -> None:
    """Run ``workers`` processes of :data:`WORKER_APP` on ``host:port`` until stopped."""
    import uvicorn

    from socialcredit.runtime.server import metrics_dir

    with metrics_dir():  # one /metrics for all the workers (web/metrics.py)
        uvicorn.run(WORKER_APP, factory=True, host=host, port=port, workers=workers, **options)
