"""Shared fixtures.

- ``pack``: the packaged reference rule pack (loaded once per session).
- ``today``: the fixed date ingestion tests validate against (2026-04-01).
- ``pg_server``: a throwaway PostgreSQL cluster on 127.0.0.1 for the whole session, run by
  pytest-postgresql's ``PostgreSQLExecutor`` (pg_ctl from /usr/lib/postgresql/*/bin;
  ``make services`` installs it). PostgreSQL refuses to run as root, so when the suite runs
  as root the executor is given a tiny wrapper that runs pg_ctl through ``runuser`` as the
  ``postgres`` (or ``nobody``) user, with the data directory in a fresh directory that user
  owns. Not using the ``postgresql_proc`` factory directly for that reason: it puts the data
  directory under pytest's root-only (0700) basetemp, which the server user cannot enter.
  When no pg_ctl is installed, PostgreSQL tests are skipped with the reason.
- ``db_url``: parametrised over ``sqlite`` (a file in tmp_path) and ``postgresql`` (a fresh
  database in ``pg_server``, marked ``postgres``), so a test taking it runs on both backends.
- ``engine``: an engine on ``db_url`` with the schema migrated and the reference authorities
  seeded; ``uow`` a unit of work on it (make more with ``SqlUnitOfWork(engine)``).
- ``fake_uow``: the in-memory unit of work with the reference authorities, for unit tests.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import pwd
import shutil
import stat
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine

from socialcredit.domain.rules import RulePack
from socialcredit.registry.authorities import seed_reference_authorities
from socialcredit.rulepacks import load_rulepack
from socialcredit.store import SqlUnitOfWork, make_engine, migrate
from socialcredit.store.fake import FakeUnitOfWork

TODAY = dt.date(2026, 4, 1)


@pytest.fixture(scope="session")
def pack() -> RulePack:
    return load_rulepack()


@pytest.fixture
def today() -> dt.date:
    return TODAY


def _pg_ctl() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return found[-1] if found else shutil.which("pg_ctl")


def _server_user() -> str:
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root and no postgres or nobody user to run PostgreSQL")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[tuple[str, int]]:
    from port_for import get_port
    from pytest_postgresql.executors import PostgreSQLExecutor

    pg_ctl = _pg_ctl()
    if pg_ctl is None:
        pytest.skip("PostgreSQL server binaries not installed (run `make services`)")
    base = Path(tempfile.mkdtemp(prefix="socialcredit-pg-"))
    executable = pg_ctl
    if os.geteuid() == 0:
        user = _server_user()
        pw = pwd.getpwnam(user)
        os.chown(base, pw.pw_uid, pw.pw_gid)
        base.chmod(0o755)
        wrapper = base / "pg_ctl"
        wrapper.write_text(f'#!/bin/sh\nexec runuser -u {user} -- "{pg_ctl}" "$@"\n')
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        executable = str(wrapper)
    port = get_port(None)
    assert port is not None
    executor = PostgreSQLExecutor(
        executable=executable,
        host="127.0.0.1",
        port=port,
        datadir=str(base / "data"),
        unixsocketdir=str(base),
        logfile=str(base / "postgresql.log"),
        startparams="-w",
        dbname="socialcredit",
        user="postgres",
        postgres_options="-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
    )
    executor.start()
    try:
        yield "127.0.0.1", port
    finally:
        executor.stop()
        shutil.rmtree(base, ignore_errors=True)


def _new_pg_database(host: str, port: int) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    # pg_ctl -w can return while the server still answers "the database system is starting
    # up" on a loaded machine: retry for a few seconds before failing the test.
    for attempt in range(50):
        try:
            with psycopg.connect(host=host, port=port, user="postgres", dbname="postgres") as c:
                c.autocommit = True
                c.execute(f'CREATE DATABASE "{name}"')
            break
        except psycopg.OperationalError:
            if attempt == 49:
                raise
            time.sleep(0.2)
    return f"postgresql+psycopg://postgres@{host}:{port}/{name}"


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    host, port = request.getfixturevalue("pg_server")
    return _new_pg_database(host, port)


@pytest.fixture
def engine(db_url: str, pack: RulePack) -> Iterator[Engine]:
    eng = make_engine(db_url)
    migrate(eng)
    with SqlUnitOfWork(eng) as uow:
        seed_reference_authorities(uow, pack)
        uow.commit()
    yield eng
    eng.dispose()


@pytest.fixture
def uow(engine: Engine) -> SqlUnitOfWork:
    return SqlUnitOfWork(engine)


@pytest.fixture
def fake_uow(pack: RulePack) -> FakeUnitOfWork:
    fake = FakeUnitOfWork()
    with fake:
        seed_reference_authorities(fake, pack)
        fake.commit()
    return fake


# --- the browser ----------------------------------------------------------------------------
# One Playwright (sync API) per test module, stopped at the module's end: while it is open it
# keeps an asyncio loop running in the main thread, so a second ``sync_playwright()`` (another
# module's) or any ``asyncio.run`` in a later test would fail if it outlived its module.
# Debian's Chromium through ``executable_path`` (Playwright's own download is unavailable);
# tests are skipped, with the reason, when it is not installed (``make services`` installs it).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not installed (run `make services`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()
