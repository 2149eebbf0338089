"""A batch manifest's block of log rows and its transparency-log leaf (SQLite, PostgreSQL).

- the rows are stored as given, by COPY's text built from the columns on PostgreSQL (or
  row by row when a value needs COPY's escaping);
- the leaf's payload, built from the block's columns, is byte for byte the one ``log
  verify`` recomputes from the rows read back, awkward text included (quotes, backslashes,
  control characters, non-ASCII, nulls, dictionary and chunked arrays);
- ``log verify`` passes after a block write (and single rows: their leaf is built from
  them in memory the same way) and names the batch whose row was edited.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
from sqlalchemy import Engine, func, select, update

from socialcredit.integrity import TableRows, columns_range_payload, verify_log
from socialcredit.integrity.leaves import range_payload
from socialcredit.screening.runtime import LogBlock, LogWriter
from socialcredit.store.tables_screening import screening_log

AT = dt.datetime(2026, 5, 1, 8, 30, 0, 123456, tzinfo=dt.UTC)
ODD = ['say "hi"', "back\\slash", "tab\there", "nl\nx", "\x01\x1f", "北京市", "é ü", "", None]


def _block(n: int, tag: str, odd: list[str | None] = ODD) -> LogBlock:
    return LogBlock(
        n,
        {
            "screening_id": pa.array([f"{tag}-{i:06d}" for i in range(n)]),
            "at": AT.timestamp(),
            "relying_party": "AIR",
            "subject_id": pa.chunked_array([["110108198005121230"] * (n // 2),
                                            ["11010819800512123X"] * (n - n // 2)]),
            "sector": "flight",
            "purpose": pa.array([odd[i % (len(odd) - 1)] for i in range(n)]).dictionary_encode(),
            "reference": pa.array([odd[i % len(odd)] for i in range(n)]),
            "decision": pa.array(["deny" if i % 10 == 0 else "allow" for i in range(n)]),
            "reason_code": None,
            "rulepack_version": 'pack "2026.1"',
        },
    )  # fmt: skip


def _write(engine: Engine, *blocks: LogBlock) -> None:
    w = LogWriter(engine)
    for b in blocks:
        w.screening_block(b)
    for i, ref in enumerate(ODD):  # single rows: ``at`` Unix time or a datetime
        at = AT.timestamp() + i if i % 2 else AT.replace(tzinfo=None, microsecond=0)
        w.screening((f"one-{i}", at, "AIR", "110108198005121230", "flight", ODD[i - 1] or "p",
                     ref, "deny" if i % 3 else "allow", ref, "2026.1"))  # fmt: skip
    w.close()


def test_the_payload_from_columns_is_the_one_read_back_byte_for_byte(engine: Engine) -> None:
    n = 3000
    block = _block(n, "a")
    plain = _block(50, "p", ["ticket", "北京市", 'say "hi"', "", None])
    _write(engine, plain, _block(7, "first"), block)
    with engine.connect() as conn:
        hi = int(conn.execute(select(func.max(screening_log.c.id))).scalar_one()) - len(ODD)
        lo = hi - n + 1
        read_back = range_payload(conn, "screening_batch", lo, hi)
    cols: dict[str, Any] = {**block.columns, "at": AT.replace(tzinfo=None)}
    assert columns_range_payload("screening_batch", lo, n, cols) == read_back
    aware = {**cols, "at": AT}  # an aware time is brought to naive UTC, as a row's is
    assert columns_range_payload("screening_batch", lo, n, aware) == read_back
    with engine.connect() as conn:
        got = conn.execute(
            select(screening_log.c.screening_id, screening_log.c.at, screening_log.c.purpose,
                   screening_log.c.reference, screening_log.c.reason_code)
            .where(screening_log.c.screening_id.like("p-%")).order_by(screening_log.c.id)
        ).all()  # fmt: skip
    assert got[:6] == [
        ("p-000000", AT.replace(tzinfo=None), "ticket", "ticket", None),
        ("p-000001", AT.replace(tzinfo=None), "北京市", "北京市", None),
        ("p-000002", AT.replace(tzinfo=None), 'say "hi"', 'say "hi"', None),
        ("p-000003", AT.replace(tzinfo=None), "", "", None),
        ("p-000004", AT.replace(tzinfo=None), "ticket", None, None),
        ("p-000005", AT.replace(tzinfo=None), "北京市", "ticket", None),
    ]


def test_log_verify_passes_after_a_block_and_names_an_edited_row(engine: Engine) -> None:
    plain = ["ticket", "北京市", 'say "hi"', "", None]  # (no COPY escapes: its fast path)
    _write(engine, _block(400, "p", plain), _block(500, "a"), _block(300, "b"))
    with engine.connect() as conn:
        clean = verify_log(engine, TableRows(conn))
    assert clean.bad_leaf_count == 0 and clean.rows_checked >= 2, clean.to_dict()
    with engine.begin() as conn:
        conn.execute(
            update(screening_log).where(screening_log.c.screening_id == "b-000040")
            .values(decision="allow")
        )  # fmt: skip
        hi = int(conn.execute(select(func.max(screening_log.c.id))).scalar_one())
        hi -= len(ODD)  # (the single rows come after the blocks)
        conn.execute(update(screening_log).where(screening_log.c.id == hi + 2).values(sector="x"))
    with engine.connect() as conn:
        v = verify_log(engine, TableRows(conn))
    assert [(b.kind, b.ref, b.problem) for b in v.bad_leaves] == [
        ("screening_batch", f"{hi - 299}-{hi}", "edited"),
        ("screening_batch", f"{hi + 1}-{hi + len(ODD)}", "edited"),
    ]
