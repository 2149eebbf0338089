"""``serve --workers N``: N forked server processes on one port (``SO_REUSEPORT``).

Why forked processes rather than uvicorn's own ``workers``: uvicorn spawns fresh
interpreters that import the app by name, so every worker would build (or restore) the index
on its own. Here the parent prepares once (migrations, the index snapshot written to disk),
then forks; each child opens the snapshot memory-mapped, so the index and the name table are
pages of one file in the page cache, shared by all workers, and a worker is ready in the time
it takes to map it and catch up from the feed.

Each child binds its own listening socket with ``SO_REUSEPORT`` and the kernel spreads new
connections over them by a hash of the connection, with no accept lock and no thundering
herd. The parent only supervises: a worker that dies is forked again (it maps the same
snapshot), SIGTERM or SIGINT stops them all and waits for them (each flushes its screening
log).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

RESTART_PAUSE_S = 0.5
PR_SET_PDEATHSIG = 1  # prctl(2)


def reuseport_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _die_with_parent(parent: int) -> None:
    """A worker whose supervisor is killed (SIGKILL: it cannot pass anything on) would keep
    the port with nobody to restart or stop it: Linux sends it SIGTERM instead (it then
    stops cleanly, flushing its log)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the service manager must stop the group
        return
    if os.getppid() != parent:  # it died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _child(
    make_app: Callable[[], Any], host: str, port: int, options: dict[str, Any], parent: int
) -> int:
    import uvicorn

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    _die_with_parent(parent)
    sock = reuseport_socket(host, port)
    config = uvicorn.Config(make_app(), host=host, port=port, **options)
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def run_workers(
    make_app: Callable[[], Any],
    host: str,
    port: int,
    workers: int,
    options: dict[str, Any],
) -> int:
    """Fork ``workers`` servers of ``make_app()`` on ``host:port`` and supervise them; returns
    when they have all stopped. Call with no threads running (``fork`` copies one thread)."""
    children: dict[int, int] = {}  # pid -> worker number
    stopping = False

    parent = os.getpid()

    def fork(n: int) -> None:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = _child(make_app, host, port, options, parent)
            except BaseException:
                log.exception("screening worker %d failed", n)
            finally:
                os._exit(code)
        children[pid] = n

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for n in range(workers):
        fork(n)
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        n = children.pop(pid, -1)
        if n < 0:
            continue  # not a worker (a worker's own children are reaped by it)
        if not stopping:
            log.error("screening worker %d (pid %d) exited (%s); starting another", n, pid, status)
            time.sleep(RESTART_PAUSE_S)
            fork(n)
    return 0
