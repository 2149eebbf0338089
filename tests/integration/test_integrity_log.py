"""The transparency log in the database, on SQLite and PostgreSQL: appends inside the
caller's transaction, the stored tree against an in-memory one, signed heads, and tampering
caught by ``verify_log`` or by a witness."""

from __future__ import annotations

import datetime as dt
import random
import stat
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Connection, Engine, delete, select, text, update

from socialcredit.integrity import (
    TableRows,
    Witness,
    WitnessAlarm,
    append_leaves,
    audit,
    consistency_proof,
    head_before,
    head_before_day,
    inclusion_proof,
    leaf_payload,
    maybe_sign_head,
    root_at,
    sign_head,
    tree_size,
    verify_consistency,
    verify_inclusion,
    verify_log,
)
from socialcredit.integrity.merkle import MemoryTree, leaf_hash
from socialcredit.integrity.note import load_or_create_key
from socialcredit.store.tables_dueprocess import audit_log
from socialcredit.store.tables_integrity import log_heads, log_leaves, log_nodes, log_tiles

NOW = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _empty_log(engine: Engine) -> None:
    """The engine fixture registers the reference authorities, and each is a leaf now; these
    tests are about the log's own mechanics, from an empty tree."""
    with engine.begin() as conn:
        for table in (log_heads, log_nodes, log_tiles, log_leaves):
            conn.execute(delete(table))


def _payloads(lo: int, n: int) -> list[bytes]:
    return [f"row {i}".encode() for i in range(lo, lo + n)]


def _cut(conn: Connection, size: int) -> None:
    """What an operator hiding the newest leaves does: cut leaves, hashes and subtrees back
    to ``size`` (runs shortened, the last tile trimmed, subtrees and heads beyond dropped)."""
    conn.execute(delete(log_leaves).where(log_leaves.c.idx >= size))
    last = conn.execute(select(log_leaves).order_by(log_leaves.c.idx.desc()).limit(1)).first()
    if last is not None and last.idx + last.length > size:
        conn.execute(
            update(log_leaves).where(log_leaves.c.idx == last.idx).values(length=size - last.idx)
        )
    conn.execute(delete(log_tiles).where(log_tiles.c.idx > (size - 1) // 256))
    tile = conn.execute(select(log_tiles).where(log_tiles.c.idx == (size - 1) // 256)).one()
    keep = (size - tile.idx * 256) * 32
    conn.execute(
        update(log_tiles)
        .where(log_tiles.c.idx == tile.idx)
        .values(hashes=bytes(tile.hashes)[:keep])
    )


def test_a_rolled_back_transaction_leaves_no_leaf(engine: Engine) -> None:
    with pytest.raises(RuntimeError), engine.begin() as conn:
        append_leaves(conn, "test", list(range(300)), _payloads(0, 300), at=NOW)
        assert tree_size(conn) == 300
        raise RuntimeError("the change failed")
    with engine.connect() as conn:
        assert tree_size(conn) == 0
        assert conn.execute(select(log_nodes)).first() is None


def test_the_stored_tree_gives_the_roots_and_proofs_of_the_whole_tree(engine: Engine) -> None:
    mem = MemoryTree()
    n = 0
    # batches that end inside, on and across the 256-leaf subtrees that are stored
    for k in (1, 254, 1, 300, 212, 256, 1, 1000, 7):
        with engine.begin() as conn:
            got = append_leaves(conn, "test", list(range(n, n + k)), _payloads(n, k), at=NOW)
        assert got == range(n, n + k)
        mem.extend(leaf_hash(p) for p in _payloads(n, k))
        n += k
    rng = random.Random(13)
    with engine.connect() as conn:
        assert tree_size(conn) == n
        for size in (1, 2, 255, 256, 257, 512, 1024, 1025, n):
            assert root_at(conn, size) == mem.root(size)
        for _ in range(40):
            size = rng.randint(1, n)
            i = rng.randrange(size)
            proof = inclusion_proof(conn, i, size)
            assert proof == mem.inclusion_proof(i, size)
            assert verify_inclusion(i, size, mem.node(0, i), proof, mem.root(size))
            a = rng.randint(1, size)
            cproof = consistency_proof(conn, a, size)
            assert cproof == mem.consistency_proof(a, size)
            assert verify_consistency(a, size, mem.root(a), mem.root(size), cproof)


def test_heads_are_signed_at_most_once_a_minute_while_there_are_writes(
    engine: Engine, tmp_path: Path
) -> None:
    key = load_or_create_key(tmp_path / "log.pem", "test.invalid/log")
    assert stat.S_IMODE((tmp_path / "log.pem").stat().st_mode) == 0o600
    first = maybe_sign_head(engine, NOW, key)
    assert first is not None and first.size == 0
    with engine.begin() as conn:
        append_leaves(conn, "test", [1, 2, 3], _payloads(0, 3), at=NOW)
    assert maybe_sign_head(engine, NOW + dt.timedelta(seconds=59), key) is None
    second = maybe_sign_head(engine, NOW + dt.timedelta(seconds=61), key)
    assert second is not None and second.size == 3
    assert maybe_sign_head(engine, NOW + dt.timedelta(minutes=5), key) is None  # no writes
    lines = second.checkpoint.split("\n")
    assert lines[0] == "test.invalid/log" and lines[1] == "3" and lines[3] == ""
    assert lines[4].startswith("\u2014 test.invalid/log ")
    v = verify_log(engine, vkey=key.vkey())
    assert v.ok, v.problems


def _audited_log(engine: Engine, n: int) -> None:
    """``n`` audit entries: ``audit.append`` logs each as a leaf in its own transaction."""
    for i in range(n):
        with engine.begin() as conn:
            seq = audit.append(conn, NOW, "operator", "subject.read", subject_id=f"S{i}")
            assert seq == i + 1  # audit.append logs the entry as a leaf itself


def test_verify_names_each_leaf_whose_row_was_edited_or_deleted(
    engine: Engine, tmp_path: Path
) -> None:
    key = load_or_create_key(tmp_path / "log.pem", "test.invalid/log")
    _audited_log(engine, 6)
    with engine.begin() as conn:
        sign_head(conn, key, NOW)
    with engine.connect() as conn:
        clean = verify_log(engine, TableRows(conn), vkey=key.vkey())
    assert clean.ok and clean.rows_checked == 6, clean.to_dict()
    with engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 2).values(actor="someone else"))
        conn.execute(delete(audit_log).where(audit_log.c.seq == 5))
    with engine.connect() as conn:
        v = verify_log(engine, TableRows(conn), vkey=key.vkey())
    assert not v.ok
    assert [(b.index, b.kind, b.ref, b.problem) for b in v.bad_leaves] == [
        (1, "audit", "2", "edited"),
        (4, "audit", "5", "deleted"),
    ]
    assert "leaf 1: audit 2 was edited" in str(v.bad_leaves[0])


def test_a_row_logged_again_is_checked_against_its_newest_leaf(engine: Engine) -> None:
    _audited_log(engine, 2)
    with engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 1).values(target="corrected"))
        row = conn.execute(select(audit_log).where(audit_log.c.seq == 1)).one()
        append_leaves(conn, "audit", [1], [leaf_payload("audit", row._mapping)], at=NOW)
    with engine.connect() as conn:
        v = verify_log(engine, TableRows(conn))
    assert v.bad_leaf_count == 0, v.to_dict()


def test_runs_of_consecutive_keys_are_one_row_and_each_leaf_is_found(engine: Engine) -> None:
    from socialcredit.integrity.store import entries, leaf_index

    with engine.begin() as conn:
        append_leaves(conn, "record", list(range(100, 400)), _payloads(0, 300), at=NOW)
        append_leaves(conn, "record", [7, 9, "10", "x"], _payloads(300, 4), at=NOW)
        append_leaves(conn, "record", [150], _payloads(304, 1), at=NOW)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM log_leaves")).scalar_one() == 5
        assert entries(conn, 298, 305) == [
            (298, "record", "398"),
            (299, "record", "399"),
            (300, "record", "7"),
            (301, "record", "9"),
            (302, "record", "10"),
            (303, "record", "x"),
            (304, "record", "150"),
        ]
        assert leaf_index(conn, "record", 100) == 0
        assert leaf_index(conn, "record", "399") == 299
        assert leaf_index(conn, "record", 150) == 304  # the newest leaf of the row
        assert leaf_index(conn, "record", "x") == 303
        assert leaf_index(conn, "record", 400) is None
        assert leaf_index(conn, "event", 100) is None


def test_cut_off_leaves_are_reported_while_a_head_remembers_them(
    engine: Engine, tmp_path: Path
) -> None:
    key = load_or_create_key(tmp_path / "log.pem", "test.invalid/log")
    with engine.begin() as conn:
        append_leaves(conn, "test", list(range(10)), _payloads(0, 10), at=NOW)
        sign_head(conn, key, NOW)
        _cut(conn, 7)
    v = verify_log(engine, vkey=key.vkey())
    assert v.truncated and not v.ok, v.problems
    assert any("leaves 7..9 were cut off" in p for p in v.problems)


def test_an_edited_leaf_hash_or_a_hole_in_the_leaves_is_reported(engine: Engine) -> None:
    with engine.begin() as conn:
        refs = [f"r{i}" for i in range(300)]  # text keys: a run of one leaf each
        append_leaves(conn, "test", refs, _payloads(0, 300), at=NOW)
        tile = bytes(conn.execute(select(log_tiles.c.hashes).where(log_tiles.c.idx == 0)).one()[0])
        forged = tile[:96] + leaf_hash(b"forged") + tile[128:]
        conn.execute(update(log_tiles).where(log_tiles.c.idx == 0).values(hashes=forged))
    v = verify_log(engine)
    assert any("stored subtree hashes do not match" in p for p in v.problems), v.problems
    with engine.begin() as conn:
        conn.execute(delete(log_leaves).where(log_leaves.c.idx == 100))
    v = verify_log(engine)
    assert any("leaf 100 and maybe more are missing" in p for p in v.problems), v.problems


def _witness_round(engine: Engine, w: Witness, vkey: str) -> str:
    with engine.connect() as conn:
        head = conn.execute(
            select(log_heads).order_by(log_heads.c.size.desc(), log_heads.c.id.desc())
        ).first()
        assert head is not None
        st = w.state()
        proof = []
        if st is not None and 0 < st.size <= tree_size(conn) and st.size <= head.size:
            proof = consistency_proof(conn, st.size, head.size)
    return w.observe(head.checkpoint, proof, log_vkey=vkey)


def test_a_witness_catches_truncation_that_the_database_does_not_show(
    engine: Engine, tmp_path: Path
) -> None:
    key = load_or_create_key(tmp_path / "log.pem", "test.invalid/log")
    w = Witness.open(tmp_path / "witness.json")
    with engine.begin() as conn:
        append_leaves(conn, "test", list(range(20)), _payloads(0, 20), at=NOW)
        sign_head(conn, key, NOW)
    cosigned = _witness_round(engine, w, key.vkey())
    assert cosigned.count("\u2014 ") == 2
    with engine.begin() as conn:
        append_leaves(conn, "test", list(range(20, 30)), _payloads(20, 10), at=NOW)
        sign_head(conn, key, NOW)
    _witness_round(engine, w, key.vkey())
    # cut the newest five leaves, their subtrees and every head that saw them; re-sign
    with engine.begin() as conn:
        _cut(conn, 25)
        conn.execute(delete(log_nodes))
        conn.execute(delete(log_heads))
    with engine.begin() as conn:
        from socialcredit.integrity.store import store_subtrees

        store_subtrees(conn, 0, 25)
        sign_head(conn, key, NOW)
    assert verify_log(engine, vkey=key.vkey()).ok  # the database alone looks intact
    with pytest.raises(WitnessAlarm, match="shrank from 30 to 25"):
        _witness_round(engine, w, key.vkey())
    st = w.state()
    assert st is not None and st.size == 30  # the witness keeps what it saw


def test_a_witness_catches_a_history_rewritten_and_signed_with_another_key(
    engine: Engine, tmp_path: Path
) -> None:
    key = load_or_create_key(tmp_path / "log.pem", "test.invalid/log")
    w = Witness.open(tmp_path / "witness.json")
    with engine.begin() as conn:
        append_leaves(conn, "test", list(range(8)), _payloads(0, 8), at=NOW)
        sign_head(conn, key, NOW)
    _witness_round(engine, w, key.vkey())
    # rewrite everything consistently, with a new key of the same name
    with engine.begin() as conn:
        for t in (log_heads, log_nodes, log_leaves, log_tiles):
            conn.execute(delete(t))
        append_leaves(conn, "test", list(range(12)), [b"forged"] * 12, at=NOW)
    other = load_or_create_key(tmp_path / "other.pem", "test.invalid/log")
    with engine.begin() as conn:
        sign_head(conn, other, NOW)
    assert verify_log(engine, vkey=other.vkey()).ok
    with pytest.raises(WitnessAlarm, match="signed by someone else"):
        _witness_round(engine, w, other.vkey())
    with pytest.raises(WitnessAlarm, match="not signed by the pinned log key"):
        _witness_round(engine, w, key.vkey())
    # and re-signed with the right key, the rewrite is inconsistent with what was seen
    with engine.begin() as conn:
        sign_head(conn, key, NOW)
    with pytest.raises(WitnessAlarm, match="history was rewritten"):
        _witness_round(engine, w, key.vkey())


def test_dialect_specific_sql_left_no_lock_held(engine: Engine) -> None:
    with engine.begin() as conn:
        append_leaves(conn, "test", [1], [b"x"], at=NOW)
    with engine.begin() as conn:  # a second writer gets in: the lock was the transaction's
        append_leaves(conn, "test", [2], [b"y"], at=NOW)
        assert conn.execute(text("SELECT count(*) FROM log_leaves")).scalar_one() == 2
        assert tree_size(conn) == 2


def test_a_months_last_head_is_cut_at_midnight_in_the_registrys_zone(
    engine: Engine, tmp_path: Path
) -> None:
    key = load_or_create_key(tmp_path / "log.pem", "test.invalid/log")
    shanghai = ZoneInfo("Asia/Shanghai")
    september = dt.datetime(2026, 9, 30, 23, 59, tzinfo=shanghai)  # 15:59 UTC
    october = dt.datetime(2026, 10, 1, 0, 1, tzinfo=shanghai)  # 16:01 UTC on 30 September
    for n, at in enumerate((september, october)):
        with engine.begin() as conn:
            append_leaves(conn, "test", [n], _payloads(n, 1), at=at)
            sign_head(conn, key, at)
    with engine.connect() as conn:
        last_of_september = head_before_day(conn, dt.date(2026, 10, 1), shanghai)
        at_utc_midnight = head_before(conn, dt.datetime(2026, 10, 1))
    assert last_of_september is not None and last_of_september.size == 1
    assert at_utc_midnight is not None and at_utc_midnight.size == 2  # what the cut was
    # The report's monthly heads use the same cut (reports/figures.py).
    from socialcredit.reports.figures import log_heads as report_heads
    from socialcredit.reports.period import EPOCH, Period

    def day(d: dt.date) -> int:
        return (d - EPOCH).days

    period = Period(2026, day(dt.date(2026, 9, 1)), day(dt.date(2026, 10, 31)), dt.timedelta(0))
    with engine.connect() as conn:
        heads = report_heads(conn, period, shanghai)
    sizes = {m["month"]: m["head"]["size"] for m in heads["monthly_heads"]}
    assert sizes == {"2026-09": 1, "2026-10": 2}
    assert heads["last_head"]["size"] == 2
