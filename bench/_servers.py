"""Throwaway Redis and PostgreSQL servers for the benchmarks, on 127.0.0.1 in a temp dir.

Both are stopped when their ``with`` block ends. PostgreSQL refuses to run as root, so the
cluster belongs to ``nobody``. ``scripts/ensure-services.sh`` installs both servers.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def redis_server(tmp: Path) -> Iterator[int]:
    exe = shutil.which("redis-server")
    if exe is None:
        raise SystemExit("redis-server is missing: run scripts/ensure-services.sh")
    port = free_port()
    args = [exe, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
    args += ["--dir", str(tmp), "--protected-mode", "yes", "--daemonize", "no"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import redis

        client = redis.Redis(host="127.0.0.1", port=port)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        client.close()
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def run_as(user: str, *args: str) -> None:
    cmd = list(args) if os.geteuid() != 0 else ["runuser", "-u", user, "--", *args]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@contextlib.contextmanager
def postgres_server(tmp: Path, *, durable: bool = False) -> Iterator[int]:
    """A throwaway cluster on 127.0.0.1; ``durable`` keeps fsync and synchronous commits on
    (for write benchmarks), otherwise both are off (for read benchmarks)."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not bins:
        raise SystemExit("PostgreSQL is missing: run scripts/ensure-services.sh")
    bindir = Path(bins[-1]).parent
    root = tmp / "pg"
    root.mkdir()
    if os.geteuid() == 0:
        shutil.chown(tmp, "nobody")
        shutil.chown(root, "nobody")
    data, port = root / "data", free_port()
    run_as("nobody", str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres")
    opts = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c shared_buffers=1GB "
        "-c max_wal_size=4GB -c work_mem=256MB -c maintenance_work_mem=1GB"
    )
    if not durable:
        opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    ctl = str(bindir / "pg_ctl")
    run_as("nobody", ctl, "-D", str(data), "-o", opts, "-l", str(root / "log"), "-w", "start")
    try:
        yield port
    finally:
        run_as("nobody", ctl, "-D", str(data), "-m", "fast", "-w", "stop")
