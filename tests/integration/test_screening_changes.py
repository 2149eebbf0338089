"""The watcher's look at the database (``screening/changes.py``) on both backends: it stays
put while nothing is committed and moves on any commit; the feeds' ids only on theirs. And
a running watcher does no refresh round while the database is idle, and one when it moves."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Engine

from socialcredit.registry.feed import note_change
from socialcredit.screening.changes import Look, Position, PostgresLook, SqliteLook, look_for
from socialcredit.screening.watcher import Watcher

SUBJECT = "110105198001011237"


def _eventually(check: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Polls ``check`` until true; generous, not a timing assertion."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def _moves(look: Look, since: object) -> Position:
    """The look's position once its mark differs from ``since`` (a PostgreSQL primary's
    flush position moves when the WAL writer flushes: soon, not at once, with
    ``synchronous_commit`` off as in the tests)."""
    assert _eventually(lambda: look.position()[0] != since)
    return look.position()


def test_the_look_moves_on_any_commit_and_its_ids_only_on_the_feeds(engine: Engine) -> None:
    pg = engine.dialect.name == "postgresql"
    look = look_for(engine, listen=False)
    assert isinstance(look, PostgresLook if pg else SqliteLook)
    try:
        first = look.position()
        if not pg:  # a PostgreSQL database may move by itself (autovacuum)
            assert look.position() == first
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE not_a_feed (x integer)")
        mark, ids = _moves(look, first[0])
        assert ids == first[1]  # no feed moved (None on SQLite: the round is the probe)
        with engine.begin() as conn:
            note_change(conn, SUBJECT, "test")
        moved = _moves(look, mark)
        if pg:
            assert first[1] is not None and moved[1] is not None
            assert moved[1][2] > first[1][2]  # subject_changes
        look.close()
        again = look.position()  # a fresh connection
        if pg:
            assert again[1] == moved[1]
    finally:
        look.close()


def test_a_primary_look_is_woken_by_the_feeds_notify(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        return  # NOTIFY is PostgreSQL's
    look = look_for(engine, listen=True)
    try:
        look.position()  # connects and LISTENs
        assert look.listening
        assert look.wait(0.0) is False
        with engine.begin() as conn:
            note_change(conn, SUBJECT, "test")
        assert look.wait(30.0) is True
    finally:
        look.close()


def test_a_watcher_runs_a_round_when_the_database_moves(engine: Engine) -> None:
    w = Watcher(engine, lambda: 0, poll=0.01)
    w.start()
    try:
        assert _eventually(lambda: w.rounds >= 2)  # the first round and its follow-up
        looks, done = w.looks, w.rounds
        assert _eventually(lambda: w.looks >= looks + 10)
        if engine.dialect.name == "sqlite":  # nothing else writes: nothing to read
            assert w.rounds == done and w.error is None
        done = w.rounds
        with engine.begin() as conn:
            note_change(conn, SUBJECT, "test")
        assert _eventually(lambda: w.rounds > done)
    finally:
        w.close()
