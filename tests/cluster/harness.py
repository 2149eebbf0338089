"""A throwaway screening cluster on 127.0.0.1: PostgreSQL primary and streaming replica,
Redis, N ``socialcredit serve`` nodes reading the replica, and HAProxy in front.

Used by the cluster tests and by ``bench/cluster.py``. Everything runs in a temp directory
and is stopped by :meth:`Cluster.close`. PostgreSQL refuses to run as root: as root its
commands run through ``runuser`` as ``postgres`` (or ``nobody``), as ``tests/conftest.py``
does. HAProxy runs ``deploy/haproxy.cfg`` unchanged; its addresses come from environment
variables the file names (``SC_HAPROXY_BIND``, ``SC_NODE1``, ``SC_NODE2``).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from socialcredit.domain.identity import ric_check_char

ROOT = Path(__file__).resolve().parents[2]
HAPROXY_CFG = ROOT / "deploy" / "haproxy.cfg"
CLI = shutil.which("socialcredit", path=str(Path(sys.executable).parent)) or "socialcredit"
OPERATOR_TOKEN = "cluster-operator-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def person_id(n: int) -> str:
    """A valid resident ID, distinct for each ``n`` below 1,000,000."""
    first = f"1101011980{n // 1000 % 12 + 1:02d}{n // 12000 % 28 + 1:02d}{n % 1000:03d}"
    return first + ric_check_char(first)


def missing_binaries() -> str | None:
    for exe in ("haproxy", "redis-server"):
        if shutil.which(exe) is None:
            return f"{exe} is not installed (run `make services`)"
    if not glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"):
        return "PostgreSQL server binaries are not installed (run `make services`)"
    return None


def _user() -> str | None:
    """Who runs PostgreSQL: ourselves, or (as root) the suite's server user."""
    from tests.conftest import _server_user

    return None if os.geteuid() != 0 else _server_user()


def _as_user(*args: str) -> list[str]:
    user = _user()
    return list(args) if user is None else ["runuser", "-u", user, "--", *args]


@dataclass
class Postgres:
    """One PostgreSQL server (primary or standby) in ``root``."""

    root: Path
    port: int
    bindir: Path
    fsync: bool = True

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, db: str = "socialcredit") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{db}"

    def _run(self, *args: str) -> None:
        r = subprocess.run(_as_user(*args), capture_output=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {r.stderr.decode(errors='replace')[-2000:]}")

    def start(self) -> None:
        opts = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c wal_level=replica -c max_wal_senders=8 -c hot_standby=on "
            "-c shared_buffers=64MB -c max_connections=200"
        )
        if not self.fsync:
            opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        ctl = str(self.bindir / "pg_ctl")
        self._run(
            ctl, "-D", str(self.data), "-o", opts, "-l", str(self.root / "log"), "-w", "start"
        )
        self.wait()

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def wait(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(
                    host="127.0.0.1", port=self.port, user="postgres", dbname="postgres"
                ):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


def _pg_bindir() -> Path:
    return Path(sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))[-1]).parent


def _owned_dir(path: Path) -> Path:
    path.mkdir(parents=True)
    user = _user()
    if user is not None:
        shutil.chown(path, user)
    path.chmod(0o755)
    return path


def start_primary(base: Path) -> Postgres:
    bindir = _pg_bindir()
    pg = Postgres(_owned_dir(base / "primary"), free_port(), bindir)
    init = str(bindir / "initdb")
    pg._run(init, "-D", str(pg.data), "-A", "trust", "-U", "postgres", "--no-sync")
    pg.start()
    with psycopg.connect(host="127.0.0.1", port=pg.port, user="postgres", dbname="postgres") as c:
        c.autocommit = True
        c.execute("CREATE DATABASE socialcredit")
    return pg


def start_replica(primary: Postgres, base: Path) -> Postgres:
    """A streaming standby of ``primary``: ``pg_basebackup -R`` writes its recovery config."""
    pg = Postgres(_owned_dir(base / "replica"), free_port(), primary.bindir)
    pg._run(
        str(pg.bindir / "pg_basebackup"),
        *("-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"),
        *("-D", str(pg.data), "-R", "-X", "stream", "-c", "fast", "--no-sync"),
    )
    pg.start()
    return pg


@dataclass
class Service:
    """A server process on 127.0.0.1 (Redis, HAProxy) and how to reach it."""

    port: int
    proc: subprocess.Popen[bytes]
    scheme: str = "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def start_redis(base: Path) -> Service:
    port = free_port()
    args = ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", ""]
    args += ["--appendonly", "no", "--dir", str(base), "--daemonize", "no"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return Service(port, proc, "redis")
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("redis did not start")
        time.sleep(0.05)


@dataclass
class Node:
    """One ``socialcredit serve`` process (its own session, so a kill reaches only it)."""

    name: str
    port: int
    env: dict[str, str]
    workers: int = 1
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait: bool = True) -> None:
        assert self.log is not None
        args = [CLI, "serve", "--port", str(self.port), "--workers", str(self.workers)]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                args, env=self.env, stdout=out, stderr=out, start_new_session=True
            )
        if wait:
            self.wait_ready()

    def ready(self) -> tuple[int, dict[str, Any]]:
        try:
            r = httpx.get(f"{self.base}/health/ready", timeout=2)
            return r.status_code, r.json()
        except (httpx.TransportError, ValueError):
            return 0, {}

    def wait_ready(self, timeout: float = 90.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            code, body = self.ready()
            if code == 200:
                return body
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"node {self.name} exited: see {self.log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"node {self.name} not ready: {code} {body}")
            time.sleep(0.1)

    def kill9(self) -> None:
        """``kill -9`` the serve process(es); the log writer child sees its pipe close."""
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.kill9()


def start_haproxy(nodes: list[Node], log: Path) -> Service:
    port = free_port()
    env = dict(os.environ, SC_HAPROXY_BIND=f"127.0.0.1:{port}")
    for i, n in enumerate(nodes, start=1):
        env[f"SC_NODE{i}"] = f"127.0.0.1:{n.port}"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            ["haproxy", "-db", "-f", str(HAPROXY_CFG)], env=env, stdout=out, stderr=out
        )
    wait_ready(f"http://127.0.0.1:{port}", proc, f"haproxy (see {log})")
    return Service(port, proc)


def wait_ready(base: str, proc: subprocess.Popen[bytes], what: str, timeout: float = 60) -> None:
    """Until ``base/health/ready`` answers 200; raises if ``proc`` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"{what} did not become ready")
        time.sleep(0.1)


@dataclass
class Cluster:
    base: Path
    primary: Postgres
    replica: Postgres | None
    redis: Service
    nodes: list[Node] = field(default_factory=list)
    haproxy: Service | None = None
    keys: dict[str, str] = field(default_factory=dict)
    _n: int = 0
    _reg: Any = None

    def settings(self, **over: Any) -> Any:
        from socialcredit.settings import Settings

        return Settings(database_url=self.primary.url(), operator_token=OPERATOR_TOKEN, **over)

    def registry(self) -> Any:
        from socialcredit.runtime.registry import open_registry

        return open_registry(self.settings())

    def node_env(self, name: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            SOCIALCREDIT_DATABASE_URL=self.primary.url(),
            SOCIALCREDIT_RATE_LIMIT_URL=self.redis.url,
            SOCIALCREDIT_RATELIMIT_STORAGE_URL=self.redis.url,  # sign-in lockouts
            # The tests poll a new subject's answer until its listing arrives: each miss is a
            # failed name check, which the per-party budget (5 a day by default) would end.
            SOCIALCREDIT_NAME_CHECK_FAILURES="1000000/24 hours",
            SOCIALCREDIT_SNAPSHOT_DIR=str(self.base / f"{name}.snapshot"),
            SOCIALCREDIT_OPERATOR_TOKEN=OPERATOR_TOKEN,
        )
        if self.replica is not None:
            env["SOCIALCREDIT_READ_URL"] = self.replica.url()
        return env

    def add_node(self, name: str, workers: int = 1, wait: bool = True) -> Node:
        node = Node(name, free_port(), self.node_env(name), workers, log=self.base / f"{name}.log")
        node.start(wait=wait)
        self.nodes.append(node)
        return node

    def ingest(self, rows: list[dict[str, Any]]) -> Any:
        """Ingest ``rows`` on the primary as one batch (returns once committed)."""
        from socialcredit.registry import ingest_file

        if self._reg is None:
            self._reg = self.registry()
        reg = self._reg
        self._n += 1
        path = self.base / f"batch-{self._n}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
        return ingest_file(reg.uow(), path, pack=reg.pack, today=reg.today())

    def screening_rows(self) -> int:
        with psycopg.connect(
            host="127.0.0.1", port=self.primary.port, user="postgres", dbname="socialcredit"
        ) as c:
            row = c.execute("SELECT count(*) FROM screening_log").fetchone()
            return 0 if row is None else int(row[0])

    def close(self) -> None:
        if self._reg is not None:
            self._reg.engine.dispose()
        for stop in (
            *(n.stop for n in self.nodes),
            *((self.haproxy.stop,) if self.haproxy else ()),
            self.redis.stop,
            *((self.replica.stop,) if self.replica else ()),
            self.primary.stop,
        ):
            try:
                stop()
            except Exception as e:  # keep stopping the rest
                print(f"cluster teardown: {e}", file=sys.stderr)  # noqa: T201
        shutil.rmtree(self.base, ignore_errors=True)


def defaulter(sid: str, name: str, case: str) -> dict[str, Any]:
    """A court's defaulter record: listed at once, denied in ``flight`` until paid."""
    return {
        "authority": "SPC-BJ-HD",
        "case_number": case,
        "category": "court.defaulter.refuses",
        "subject_id": sid,
        "subject_name": name,
        "decision_date": "2026-03-02",
        "legal_basis": "SPC Provisions on the List of Dishonest Judgment Defaulters, Art. 1(1)",
        "amount_owed": "1000.00",
    }


def paid(rec: dict[str, Any]) -> dict[str, Any]:
    return {**rec, "event": "fulfilled", "event_date": "2026-06-01"}


def open_cluster(
    nodes: int = 2, workers: int = 1, replica: bool = True, base: Path | None = None
) -> Cluster:
    """Primary (+ replica), Redis, the registry initialised with a few records and a party,
    ``nodes`` serve processes and HAProxy in front of them (when there are two)."""
    from socialcredit.registry import seed_reference_authorities
    from socialcredit.runtime.registry import open_registry
    from socialcredit.screening.parties import add_party

    base = base or Path(tempfile.mkdtemp(prefix="socialcredit-cluster-"))
    base.chmod(0o755)  # the PostgreSQL user must reach its directories inside
    t0 = time.monotonic()

    def step(what: str) -> None:
        if os.environ.get("SC_CLUSTER_VERBOSE"):
            print(f"cluster: {what} at {time.monotonic() - t0:.1f} s", file=sys.stderr)  # noqa: T201

    _owned_dir(base / "pg")
    primary = start_primary(base / "pg")
    cluster = Cluster(base, primary, None, start_redis(base))
    step("primary and redis")
    try:
        reg = open_registry(cluster.settings(), migrate_schema=True)
        with reg.uow() as uow:
            seed_reference_authorities(uow, reg.pack)
            uow.commit()
        cluster.keys["air"] = add_party(reg, "AIR", "Air", ["flight"], 60_000_000).key
        reg.engine.dispose()
        step("schema")
        cluster.ingest(
            [defaulter(person_id(i), "王建国", f"(2026)京0108执{i}号") for i in range(20)]
        )
        step("ingest")
        if replica:
            cluster.replica = start_replica(primary, base / "pg")
            step("replica")
        for i in range(nodes):
            cluster.add_node(f"node{i + 1}", workers=workers, wait=False)
        for n in cluster.nodes:
            n.wait_ready()
        step("nodes")
        if nodes == 2:
            cluster.haproxy = start_haproxy(cluster.nodes, base / "haproxy.log")
    except BaseException:
        cluster.close()
        raise
    return cluster


def screen(client: httpx.Client, base: str, key: str, sid: str, name: str) -> httpx.Response:
    body = {"subject_id": sid, "name": name, "sector": "flight", "purpose": "ticket sale"}
    return client.post(f"{base}/v1/screenings", json=body, headers={"X-API-Key": key})


class Load:
    """A bounded loopback load: ``threads`` clients, each screening in a loop with a pause of
    ``pause`` seconds (at most ``limit`` requests a thread), recording every status (0 for a
    transport error) until :meth:`stop`."""

    def __init__(
        self,
        base: str,
        key: str,
        subjects: list[tuple[str, str]],
        threads: int = 4,
        pause: float = 0.01,
        limit: int = 20_000,
        reference: str = "load",
    ) -> None:
        import threading

        self.base, self.key, self.subjects = base, key, subjects
        self.pause, self.limit, self.reference = pause, limit, reference
        self.codes: list[int] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(threads)]

    def _run(self, i: int) -> None:
        with httpx.Client(timeout=10) as client:
            for n in range(self.limit):
                if self._stop.is_set():
                    return
                sid, name = self.subjects[(n + i) % len(self.subjects)]
                body = {
                    "subject_id": sid,
                    "name": name,
                    "sector": "flight",
                    "purpose": "load",
                    "reference": self.reference,
                }
                try:
                    r = client.post(
                        f"{self.base}/v1/screenings", json=body, headers={"X-API-Key": self.key}
                    )
                    self.codes.append(r.status_code)
                    if r.status_code != 200:
                        self.errors.append(f"{r.status_code} {r.text[:200]}")
                except httpx.TransportError as e:
                    self.codes.append(0)
                    self.errors.append(repr(e))
                time.sleep(self.pause)

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=30)

    def wait_for(self, n: int, timeout: float = 30.0) -> None:
        """Until ``n`` more answers have come (or ``timeout``)."""
        goal, deadline = len(self.codes) + n, time.monotonic() + timeout
        while len(self.codes) < goal and time.monotonic() < deadline:
            time.sleep(0.05)


def eventually(check: Any, timeout: float = 30.0, every: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every)
    return bool(check())
