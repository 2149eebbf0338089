"""A real server for the accounts tests (HTTP and browser): ``socialcredit serve`` on a free
loopback port over a fresh registry, with staff users added by the real ``user add`` command.

The registry's clock is a file (``SOCIALCREDIT_CLOCK=file:...``) so a test can move the
server's time forward (idle sessions, account expiry) without waiting; TOTP and rate limits
run on the real clock. The per-address limit is raised so the tests, all from 127.0.0.1,
only meet the per-account one.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.e2e.conftest import CLI

OPERATOR_TOKEN = "test-operator-token"
PASSWORD = "correct horse battery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    base: str
    env: dict[str, str]
    clock_file: Path

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CLI, *args], env=self.env, input=stdin, capture_output=True, text=True, timeout=120
        )

    def add_user(self, username: str, role: str, *scope: str, password: str = PASSWORD) -> None:
        r = self.cli(
            "user",
            "add",
            username,
            "--role",
            role,
            *scope,
            "--password-stdin",
            stdin=password + "\n",
        )
        assert r.returncode == 0, r.stderr

    def now(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.clock_file.read_text("utf-8"))

    def set_now(self, t: dt.datetime) -> None:
        self.clock_file.write_text(t.isoformat(), "utf-8")


@contextmanager
def running_server(db_url: str, tmp: Path) -> Iterator[Server]:
    clock = tmp / "clock"
    clock.write_text(dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(), "utf-8")
    env = dict(os.environ)
    env.update(
        SOCIALCREDIT_DATABASE_URL=db_url,
        SOCIALCREDIT_OPERATOR_TOKEN=OPERATOR_TOKEN,
        SOCIALCREDIT_CLOCK=f"file:{clock}",
        SOCIALCREDIT_LOGIN_LIMIT_IP="10000 per 15 minutes",
        COLUMNS="200",
    )
    subprocess.run([CLI, "init"], env=env, check=True, capture_output=True, text=True)
    port = free_port()
    with (tmp / "server.log").open("wb") as log:
        proc = subprocess.Popen(
            [CLI, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=log
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("server did not start: " + (tmp / "server.log").read_text())
            time.sleep(0.1)
        yield Server(base, env, clock)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def sign_in(client: httpx.Client, username: str, password: str = PASSWORD) -> httpx.Response:
    page = client.get("/login")
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
    )
