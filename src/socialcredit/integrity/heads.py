"""Signed tree heads: the log's key, signing a checkpoint of the current tree, reading heads.

A head is signed at most once per :data:`HEAD_INTERVAL` while there are writes
(:func:`maybe_sign_head`, for the server or a worker to call on a timer); a head is never
signed for a size already signed. Signing runs under the log's lock, so the size and root it
signs are those of a committed prefix of the log.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.engine import make_url

from socialcredit.integrity import store
from socialcredit.integrity.note import Checkpoint, SigningKey, load_or_create_key, sign_note
from socialcredit.settings import Settings
from socialcredit.store.tables_integrity import log_heads

log = logging.getLogger(__name__)

ORIGIN = "socialcredit.registry.invalid/log"
HEAD_INTERVAL = dt.timedelta(minutes=1)


def key_path(settings: Settings) -> Path:
    """Where the log's private key lives: the setting, else beside the SQLite database."""
    if settings.log_key_file is not None:
        return settings.log_key_file
    u = make_url(settings.database_url)
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:":
        return Path(u.database).with_name("log-key.pem")
    return Path("var/log-key.pem")


def log_key(settings: Settings, origin: str = ORIGIN) -> SigningKey:
    """The log's signing key, generated (mode 0600) on first use."""
    return load_or_create_key(key_path(settings), origin)


@dataclass(frozen=True)
class Head:
    id: int
    size: int
    root: bytes
    signed_at: dt.datetime
    checkpoint: str  # the signed note, exactly as signed

    def to_dict(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "root": Checkpoint("-", self.size, self.root).body().split("\n")[2],
            "signed_at": self.signed_at.isoformat() + "Z",
            "checkpoint": self.checkpoint,
        }


def _head(row: Any) -> Head:
    return Head(int(row.id), int(row.size), bytes(row.root), row.signed_at, str(row.checkpoint))


def latest_head(conn: Connection) -> Head | None:
    c = log_heads.c
    row = conn.execute(select(log_heads).order_by(c.size.desc(), c.id.desc()).limit(1)).first()
    return None if row is None else _head(row)


def head_before(conn: Connection, until: dt.datetime) -> Head | None:
    """The largest head signed before ``until`` (naive UTC): a year's or a month's last."""
    c = log_heads.c
    q = select(log_heads).where(c.signed_at < until).order_by(c.size.desc(), c.id.desc())
    row = conn.execute(q.limit(1)).first()
    return None if row is None else _head(row)


def head_before_day(conn: Connection, day: dt.date, zone: dt.tzinfo) -> Head | None:
    """The largest head signed before ``day`` began in ``zone`` (the registry's: a month's
    heads are cut at midnight there, as its days are, not at midnight UTC)."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=zone)
    return head_before(conn, start.astimezone(dt.UTC).replace(tzinfo=None))


def all_heads(conn: Connection) -> list[Head]:
    return [_head(r) for r in conn.execute(select(log_heads).order_by(log_heads.c.id))]


def sign_head(conn: Connection, key: SigningKey, now: dt.datetime) -> Head:
    """Sign and store a checkpoint of the whole tree as it stands in this transaction."""
    store.lock(conn)
    size = store.tree_size(conn)
    root = store.root_at(conn, size)
    note = sign_note(Checkpoint(key.name, size, root).body(), key)
    at = now.astimezone(dt.UTC).replace(tzinfo=None)
    res = conn.execute(
        insert(log_heads).values(size=size, root=root, signed_at=at, checkpoint=note)
    )
    pk = res.inserted_primary_key
    assert pk is not None
    return Head(int(pk[0]), size, root, at, note)


def maybe_sign_head(
    engine: Engine, now: dt.datetime, key: SigningKey, *, interval: dt.timedelta = HEAD_INTERVAL
) -> Head | None:
    """Sign a new head if the log grew since the last one and that one is ``interval`` old
    (or there is none yet); return it, or None when nothing was due."""
    at = now.astimezone(dt.UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        store.lock(conn)
        last = latest_head(conn)
        if last is not None:
            if at - last.signed_at < interval or store.tree_size(conn) == last.size:
                return None
        return sign_head(conn, key, now)


class HeadTimer:
    """Calls :func:`maybe_sign_head` every ``every`` seconds on a thread of its own (the
    server's): a head at most once per :data:`HEAD_INTERVAL` while the log grows. The first
    call comes after ``every`` seconds, not at start, so a server started for a moment
    signs nothing (and ``key``, a loader, is not even asked for the key file)."""

    def __init__(
        self,
        engine: Engine,
        key: Callable[[], SigningKey],
        clock: Callable[[], dt.datetime],
        every: float = 60.0,
    ) -> None:
        self._engine, self._key, self._clock, self._every = engine, key, clock, every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.signed = 0

    def tick(self) -> Head | None:
        head = maybe_sign_head(self._engine, self._clock(), self._key())
        self.signed += head is not None
        return head

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            try:
                self.tick()
            except Exception:  # the next round retries; a head late is not a head lost
                log.exception("transparency log: signing a head failed")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="log-heads", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
