"""The server's screening log, written by a child process (SQLite and PostgreSQL).

- what is flushed is committed, counted, and stored as the in-process writer stores it;
- a clean close writes everything queued and the child exits;
- a killed child is replaced: rows queued afterwards are written, the restart is counted;
- a failing commit is reported to ``flush`` with the database's reason, not swallowed;
- the server lifespan runs the log this way and a screening reaches the table.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from socialcredit.screening.logproc import LogWriterFailed, ProcessLogWriter
from socialcredit.store.tables_screening import screening_log, screening_refusals

AT = dt.datetime(2026, 5, 1, 8, 30, 0, 123456)


def _row(n: int) -> tuple[Any, ...]:
    return (f"id-{n:06d}", AT, "AIR", "110108198005121230", "flight", "ticket sale", None,
            "allow", None, "2026.1")  # fmt: skip


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(screening_log)).scalar_one())


def test_flush_commits_in_the_child_and_close_writes_the_rest(engine: Engine) -> None:
    w = ProcessLogWriter(engine, interval=0.05)
    w.start()
    try:
        for n in range(500):
            w.screening(_row(n))
        w.refusal((AT, "AIR", "abc123", "rail", "ticket sale", "T-1", "sector_not_served", None))
        assert w.flush() == 501
        assert _count(engine) == 500 and w.written == 501
        for n in range(500, 800):
            w.screening(_row(n))
    finally:
        w.close()
    proc = w._proc
    assert proc is not None and proc.returncode == 0
    assert _count(engine) == 800
    with engine.connect() as conn:
        first = conn.execute(select(screening_log).order_by(screening_log.c.screening_id)).first()
        refused = conn.execute(select(screening_refusals)).one()
    assert first is not None and first.at == AT and first.reference is None
    assert (refused.reason, refused.at) == ("sector_not_served", AT)


def test_a_killed_child_is_replaced(engine: Engine) -> None:
    w = ProcessLogWriter(engine, interval=0.05)
    w.start()
    try:
        w.screening(_row(1))
        assert w.flush() == 1
        first = w._proc
        assert first is not None
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        w.screening(_row(2))
        w.screening(_row(3))
        assert w.flush() == 2
        assert w.restarts == 1 and w._proc is not first
    finally:
        w.close()
    assert _count(engine) == 3


def test_a_failing_commit_reaches_flush(engine: Engine) -> None:
    w = ProcessLogWriter(engine, interval=60)
    w.start()
    try:
        w.screening(_row(7))
        w.screening(_row(7))  # the same screening id twice: the unique index refuses
        with pytest.raises(LogWriterFailed, match="(?i)unique|duplicate"):
            w.flush()
        assert _count(engine) == 0
    finally:
        proc = w._proc
        assert proc is not None
        proc.kill()  # it would retry the poisoned rows; nothing else to test here
        proc.wait(timeout=10)
        with contextlib.suppress(OSError):
            proc.stdin.close()  # type: ignore[union-attr]
        w._stop.set()


def test_rows_shipped_before_the_server_dies_are_committed(engine: Engine) -> None:
    """The server killed: its end of the pipe closes; the child commits what it got, exits."""
    w = ProcessLogWriter(engine, interval=60)
    w.start()
    for n in range(300):
        w.screening(_row(n))
    assert w.ship() == 300
    proc = w._proc
    assert proc is not None and proc.stdin is not None
    proc.stdin.close()  # what the kernel does to a killed server's pipe
    assert proc.wait(timeout=30) == 0
    w._stop.set()
    assert _count(engine) == 300


@pytest.mark.parametrize("in_child", [True, False])
def test_a_block_of_columns_is_stored_as_its_rows(engine: Engine, in_child: bool) -> None:
    """A batch manifest's block (columns, some one value for all) is written like the same
    rows one by one: by the child from Arrow buffers, or by the in-process writer."""
    import pyarrow as pa

    from socialcredit.screening.runtime import LogBlock, LogWriter

    n = 1000
    block = LogBlock(
        n,
        {
            "screening_id": pa.array([f"blk-{i:06d}" for i in range(n)]),
            "at": AT.replace(tzinfo=dt.UTC).timestamp(),
            "relying_party": "AIR",
            "subject_id": pa.array(["110108198005121230"] * n),
            "sector": "flight",
            "purpose": "ticket sale",
            "reference": pa.array([f"R{i}" if i % 2 else None for i in range(n)]),
            "decision": pa.array(["deny" if i % 10 == 0 else "allow" for i in range(n)]),
            "reason_code": pa.array(["air.ban" if i % 10 == 0 else None for i in range(n)]),
            "rulepack_version": "2026.1",
        },
    )
    w: Any = ProcessLogWriter(engine, interval=0.05) if in_child else LogWriter(engine)
    w.start()
    try:
        w.screening(_row(1))
        w.screening_block(block)
        assert w.flush() == n + 1
        assert w.written == n + 1
    finally:
        w.close()
    with engine.connect() as conn:
        got = conn.execute(
            select(screening_log).where(screening_log.c.screening_id.like("blk-%"))
            .order_by(screening_log.c.screening_id)
        ).all()  # fmt: skip
    assert len(got) == n
    assert {r.at for r in got} == {AT}
    assert [r.reference for r in got[:3]] == [None, "R1", None]
    assert [(r.decision, r.reason_code) for r in got[9:11]] == [
        ("allow", None),
        ("deny", "air.ban"),
    ]
    assert {(r.relying_party, r.sector, r.purpose, r.rulepack_version) for r in got} == {
        ("AIR", "flight", "ticket sale", "2026.1")
    }


def test_the_writer_process_spills_a_backlog_to_disk_and_writes_it_all(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The input waits in a file, the child takes in a bounded number of rows at a time; a
    sync is answered once all before it is committed; the end of the input leaves nothing."""
    import io
    import pickle

    import pyarrow as pa

    from socialcredit.screening import logchild
    from socialcredit.screening.logproc import LEN
    from socialcredit.screening.runtime import LogWriter

    monkeypatch.setattr(logchild, "MEMORY_ROWS", 1500)
    sent = io.BytesIO()  # the input, read from a file (a pipe would fill before the child runs)

    def send(*msg: Any) -> None:
        data = pickle.dumps(msg)
        sent.write(LEN.pack(len(data)) + data)

    cols = {"at": AT.replace(tzinfo=dt.UTC).timestamp(), "relying_party": "AIR",
            "subject_id": "110108198005121230", "sector": "flight", "purpose": "p",
            "reference": None, "decision": "allow", "reason_code": None,
            "rulepack_version": "2026.1"}  # fmt: skip
    for b in range(6):
        ids = pa.array([f"spill-{b}-{i:05d}" for i in range(1000)])
        send("block", 1000, cols | {"screening_id": ids})
    send("rows", [_row(1)], [])
    send("sync", 7)
    path = tmp_path / "input"
    path.write_bytes(sent.getvalue())
    out = io.BytesIO()
    with path.open("rb") as f:
        child = logchild.Child(logchild.Frames(f.fileno()), LogWriter(engine), out)
        assert child.run() == 0
    assert child.most <= 1500 + 1000  # the bound, and a block that went past it
    assert _count(engine) == 6001
    replies = out.getvalue().decode().split()
    assert replies[-2:] == ["s", "7"]
    assert sum(int(n) for k, n in zip(replies, replies[1:], strict=False) if k == "w") == 6001
