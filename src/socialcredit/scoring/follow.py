"""Incremental rescoring: follow the store's change feeds, rescore the residents they name.

The same three feeds the screening index follows (``socialcredit.registry.Feed``): new records,
new record events (fulfilled, withdrawn, corrected, repaired, ...) and ``subject_changes``
(due-process decisions, residence moves). Marks per feed are kept in ``scoring_cursor`` and
advanced in the same transaction as nothing else, after the rescoring: a crash in between
rescores those subjects again, which is harmless (a score that did not move writes no
history). Only subjects with a residence can be scored, so the rest are dropped set-wise
before any per-subject work. ``follow_changes(..., feed=...)`` keeps one :class:`Feed`
across calls so a long-running follower (``socialcredit scores follow --watch``) also
re-asks for ids below the marks whose transactions had not committed yet.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from socialcredit.errors import InvalidInput
from socialcredit.registry import Feed
from socialcredit.runtime.registry import Registry
from socialcredit.scoring.programmes import _read, _write
from socialcredit.scoring.subject import rescore_subject
from socialcredit.store.tables_scoring import residences, scoring_cursor

CHUNK = 500


def load_feed(conn: Connection) -> Feed:
    """The follower's marks as stored (0 for a feed never read)."""
    feed = Feed()
    rows = conn.execute(select(scoring_cursor.c.name, scoring_cursor.c.last_change_id)).all()
    for name, mark in rows:
        if name in feed.marks:
            feed.marks[name] = int(mark)
    return feed


def _save(conn: Connection, feed: Feed) -> None:
    names = list(feed.marks)
    conn.execute(delete(scoring_cursor).where(scoring_cursor.c.name.in_(names)))
    conn.execute(
        insert(scoring_cursor),
        [{"name": k, "last_change_id": v} for k, v in feed.marks.items()],
    )


def catch_up(conn: Connection) -> None:
    """Move the stored marks to the end of what ``conn`` sees (after a bulk recompute of
    today's scores in the same transaction); marks already further on stay."""
    now = Feed.current(conn)
    feed = load_feed(conn)
    for k, v in now.marks.items():
        feed.marks[k] = max(feed.marks[k], v)
    _save(conn, feed)


def _residents(conn: Connection, ids: set[str]) -> list[str]:
    wanted = sorted(ids)
    out: list[str] = []
    for i in range(0, len(wanted), CHUNK):
        q = select(residences.c.subject_id).where(
            residences.c.subject_id.in_(wanted[i : i + CHUNK])
        )
        out.extend(r.subject_id for r in conn.execute(q))
    return sorted(out)


def follow_changes(reg: Registry, on: dt.date, feed: Feed | None = None) -> dict[str, Any]:
    """Rescore the residents named by changes since the last call; returns counts.

    ``changes`` counts the subjects the feeds named, ``rescored`` the eligible residents
    among them, ``changed`` those whose score or grade moved.
    """
    with _read(reg) as conn:
        if feed is None:
            feed = load_feed(conn)
        named = feed.changed_subjects(conn)
        people = _residents(conn, named) if named else []
    rescored = changed = 0
    for s in people:
        try:
            out = rescore_subject(reg, s, on)
        except InvalidInput:
            continue  # not a valid identifier for scoring (an enterprise, a malformed id)
        if out is not None:
            rescored += 1
            changed += bool(out["changed"])
    with _write(reg) as conn:
        _save(conn, feed)
    return {"changes": len(named), "rescored": rescored, "changed": changed}


def watch(
    reg: Registry,
    on: Callable[[], dt.date],
    *,
    interval: float = 2.0,
    rounds: int | None = None,
    report: Callable[[dict[str, Any]], None] | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Follow until ``stop`` is set (or for ``rounds``); returns the subjects rescored.

    ``stop`` is checked between rounds, never inside one: the CLI sets it on Ctrl-C or
    SIGTERM, so an interrupt cannot land inside a transaction or the connection pool."""
    stop = stop or threading.Event()
    with _read(reg) as conn:
        feed = load_feed(conn)
    total = 0
    n = 0
    while (rounds is None or n < rounds) and not stop.is_set():
        n += 1
        got = follow_changes(reg, on(), feed)
        total += got["rescored"]
        if report is not None and got["changes"]:
            report(got)
        if not got["changes"]:
            stop.wait(interval)
    return total
