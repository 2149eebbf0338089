"""How ``socialcredit serve`` runs uvicorn: the fast stack when it is installed.

- ``uvloop`` (libuv event loop) and ``httptools`` (the Node.js HTTP parser) rather than asyncio
  and h11: on the reference machine a trivial endpoint went from ~1,650 to ~3,000+ requests
  a second on one process, and the screening endpoint gains the same. Both are dependencies;
  the pure-Python pair stays the fallback, and each can be forced (``--loop``, ``--http``).
- No access log: one formatted line per screening would cost more than the screening.
- A shorter GIL switch interval (``SWITCH_INTERVAL_S``): the index watcher and the log writer
  are threads. Whenever the event loop lets the GIL go (every poll for I/O), a background
  thread may take it, and CPython only asks it to hand the GIL back after the switch interval,
  5 ms by default: a request waiting behind that is a 5 ms p99 by itself. At 0.5 ms the
  background work is sliced finer and a request waits at most that long for it.

- The heap is frozen once the app has started (:func:`freeze_heap`): the index, the name
  table, the rule pack and the app are alive for the whole run, and CPython's full collection
  walked all of them (~75 ms on a 100,000-person registry) every few thousand requests.

Both endpoints of a benchmark run on the same configuration: this is the server, not a
special case for one route.

- ``serve --workers N`` gives the workers one directory for their metric files
  (:func:`metrics_dir`): ``/metrics`` then answers for the whole server, whichever worker
  the scrape reaches (``web/metrics.py``).
"""

from __future__ import annotations

import gc
import importlib.util
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

Loop = Literal["auto", "uvloop", "asyncio"]
Http = Literal["auto", "httptools", "h11"]
SWITCH_INTERVAL_S = 0.0005


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def resolve(loop: str = "auto", http: str = "auto") -> tuple[str, str]:
    """The event loop and HTTP parser to run: ``auto`` takes the fast one when installed."""
    if loop not in ("auto", "uvloop", "asyncio"):
        raise ValueError(f"unknown event loop {loop!r}: auto, uvloop or asyncio")
    if http not in ("auto", "httptools", "h11"):
        raise ValueError(f"unknown HTTP implementation {http!r}: auto, httptools or h11")
    if loop == "auto":
        loop = "uvloop" if _installed("uvloop") else "asyncio"
    if http == "auto":
        http = "httptools" if _installed("httptools") else "h11"
    for name in (loop, http):
        if name in ("uvloop", "httptools") and not _installed(name):
            raise ValueError(f"{name} is not installed")
    return loop, http


def uvicorn_options(loop: str = "auto", http: str = "auto") -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` besides the app, host and port."""
    lp, hp = resolve(loop, http)
    return {"loop": lp, "http": hp, "access_log": False, "log_level": "warning"}


def tune_interpreter() -> None:
    """Process-wide settings for a server process (see the module docstring)."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)


def freeze_heap() -> None:
    """Collect once, then move every object alive now into the permanent generation, which
    the cyclic collector no longer walks. Called by the app's startup in a server process
    (``app.state.freeze_heap``), after the screening index is loaded; later objects are
    collected as before."""
    gc.collect()
    gc.freeze()


MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def metrics_dir() -> Iterator[Path]:
    """The directory of one run's worker metric files, in ``PROMETHEUS_MULTIPROC_DIR`` for
    the workers to inherit: the operator's (emptied first: files of an earlier run would be
    summed with this one's) or a new temporary one, removed when the run ends."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for old in path.glob("*.db"):
            old.unlink()
        yield path
        return
    path = Path(tempfile.mkdtemp(prefix="socialcredit-metrics-"))
    os.environ[MULTIPROC_ENV] = str(path)
    try:
        yield path
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(path, ignore_errors=True)
