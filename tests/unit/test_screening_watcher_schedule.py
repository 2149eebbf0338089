"""When the screening watcher runs a refresh round, from its looks at the database.

Times are given, not measured: the schedule has no clock of its own. Then the watcher's
thread on a stub database that fails and comes back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import cast

from sqlalchemy import Engine

from socialcredit.screening.changes import Position
from socialcredit.screening.watcher import FORCE_S, SAFETY_S, Schedule, Watcher

IDS = (10, 20, 30)


def started(poll: float = 0.1, idle: float = 0.25) -> Schedule:
    """A schedule that ran its first rounds (which found nothing), all by time 0."""
    s = Schedule(poll, idle)
    assert s.due(-FORCE_S, ("v1", IDS))  # the first look always runs a round
    s.done(-FORCE_S, 0)
    assert not s.due(-FORCE_S / 2, ("v1", IDS))
    assert s.due(0.0, ("v1", IDS))  # and one FORCE_S later (a position seen moving)
    s.done(0.0, 0)
    return s


def test_nothing_committed_no_round_and_the_poll_backs_off_to_the_idle_poll() -> None:
    s = started()
    waits = []
    for i in range(1, 8):
        assert not s.due(i * 0.1, ("v1", IDS))
        waits.append(s.interval)
    assert waits[0] > 0.1 and waits == sorted(waits) and waits[-1] == 0.25


def test_a_commit_seen_on_sqlite_runs_a_round_at_once_and_snaps_the_poll_back() -> None:
    s = started()
    for i in range(1, 6):
        assert not s.due(i / 10, ("v1", None))
    assert s.interval == 0.25
    assert s.due(0.6, ("v2", None))
    assert s.interval == 0.1


def test_new_feed_rows_run_a_round_at_once() -> None:
    s = started()
    assert s.due(0.5, ("v2", (11, 20, 30)))


def test_a_commit_to_no_feed_runs_a_round_within_force_s_not_at_once() -> None:
    """A key revoked, a subject created without records: the position moves, the ids not."""
    s = started()
    assert not s.due(0.5, ("v2", IDS))  # e.g. only screening log rows
    assert not s.due(0.5 + FORCE_S / 2, ("v2", IDS))
    assert s.wait(0.5 + FORCE_S / 2, 10.0) <= FORCE_S / 2  # it wakes for the owed round
    assert s.due(0.5 + FORCE_S, ("v2", IDS))
    s.done(0.5 + FORCE_S, 0)
    assert not s.due(1.0 + FORCE_S, ("v2", IDS))  # owed once, not for ever


def test_a_commit_just_before_an_owed_round_is_owed_one_of_its_own() -> None:
    """The screener reloads its key table at most once a second: a key revoked just before
    the owed round may not be read by it."""
    s = started()
    assert not s.due(0.5, ("v2", IDS))
    assert not s.due(0.4 + FORCE_S, ("v3", IDS))  # revoked now
    assert s.due(0.5 + FORCE_S, ("v3", IDS))
    s.done(0.5 + FORCE_S, 0)
    assert not s.due(0.3 + 2 * FORCE_S, ("v3", IDS))
    assert s.due(0.4 + 2 * FORCE_S, ("v3", IDS))
    s.done(0.4 + 2 * FORCE_S, 0)
    assert not s.due(0.5 + 3 * FORCE_S, ("v3", IDS))


def test_steady_writes_to_no_feed_a_round_every_force_s() -> None:
    """A node under load: its own log rows move the position at every look."""
    s = started()
    rounds = []
    for i in range(1, 101):
        t = i * 0.05
        if s.due(t, (f"v{i}", IDS)):
            s.done(t, 0)
            rounds.append(t)
    gaps = [b - a for a, b in zip(rounds, rounds[1:], strict=False)]
    assert len(rounds) >= 4 and max(gaps) <= FORCE_S + 0.05 + 1e-9


def test_a_round_that_read_something_is_followed_by_another() -> None:
    """A feed query reads 100,000 rows at most: the rest comes in the next round."""
    s = started()
    assert s.due(1.0, ("v2", (100_010, 20, 30)))
    s.done(1.0, 100_000)
    assert s.wait(1.0, 1.0) == 0.1  # at the poll, not the idle poll or a LISTEN wait
    assert s.due(1.1, ("v2", (100_010, 20, 30)))
    s.done(1.1, 10)
    assert s.due(1.2, ("v2", (100_010, 20, 30)))
    s.done(1.2, 0)
    assert not s.due(1.3, ("v2", (100_010, 20, 30)))


def test_a_failed_round_is_tried_again_at_the_next_look() -> None:
    s = started()
    assert s.due(1.0, ("v2", (11, 20, 30)))
    s.failed()
    assert s.due(2.0, ("v2", (11, 20, 30)))


def test_notified_runs_a_round_whatever_the_position() -> None:
    s = started()
    s.notified()
    assert s.due(0.3, ("v1", IDS))


def test_a_round_at_least_every_safety_s() -> None:
    s = started()
    assert not s.due(SAFETY_S - 0.1, ("v1", IDS))
    assert s.wait(SAFETY_S - 0.1, 5.0) <= 0.1 + 1e-9
    assert s.due(SAFETY_S, ("v1", IDS))


def test_without_a_cheap_look_every_look_runs_a_round() -> None:
    s = Schedule(0.1, 0.25)
    for i in range(5):
        assert s.due(i * 0.1, (None, None))
        s.done(i * 0.1, 0)
        assert s.interval == 0.1


class StubLook:
    """A database whose position the test sets, or that fails."""

    listening = False

    def __init__(self) -> None:
        self.mark = 1
        self.down = False

    def position(self) -> Position:
        if self.down:
            raise ConnectionError("the replica is down")
        return self.mark, None

    def wait(self, timeout: float) -> bool:
        return False

    def close(self) -> None:
        return None


def _eventually(check: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return check()


def test_the_watcher_says_why_it_cannot_look_and_recovers() -> None:
    look = StubLook()
    rounds: list[int] = []
    w = Watcher(cast(Engine, None), lambda: rounds.append(1), poll=0.01, look=look)
    w.start()
    try:
        assert _eventually(lambda: len(rounds) >= 2)
        look.down = True
        assert _eventually(lambda: w.error is not None)
        assert w.error == "ConnectionError: the replica is down"
        before = w.caught_up
        done = len(rounds)
        look.down = False
        assert _eventually(lambda: w.error is None and len(rounds) > done)  # read again
        assert before is not None and w.caught_up is not None and w.caught_up > before
    finally:
        w.close()
