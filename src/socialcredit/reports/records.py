"""Records collected, by category and by authority, and the raw sources the listing figures
are computed from: every record decided by the end of the period, and its first fulfilment,
withdrawal and repair (with the amount owed as corrected before payment), read in chunks
straight from the driver's cursor.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, text

from socialcredit.reports.parts import ALL, Part
from socialcredit.reports.period import EPOCH, I64, Period, Table, _d, _dates, _param, day_sql
from socialcredit.reports.repeat import NEVER
from socialcredit.runtime.registry import Registry

CHUNK = 100_000  # rows a fetch: the tuples of a chunk are the transient memory
AMOUNTS_SLICE = 500  # record ids a query (well under any driver's parameter limit)


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """The cyclic garbage collector off while rows are read: every fetched row is a tuple,
    and the collections their allocations trigger cost a third of the reading (1.6 s of
    5 s CPU for a tenth of a national year's records). Rows hold no cycles; whatever
    cyclic garbage the rest makes meanwhile is collected at the next collection after."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _fetch(conn: Connection, sql: str, params: dict[str, Any]) -> Iterator[list[tuple[Any, ...]]]:
    """Rows in chunks straight from the driver's cursor (plain tuples, no Row objects: at
    national volume that is most of the time spent), in the connection's transaction."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    names: list[str] = []

    def sub(m: Any) -> str:
        names.append(m.group(1))
        return mark

    raw_sql = re.sub(r":([a-z_]+)", sub, sql)
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(raw_sql, tuple(params[n] for n in names))
        while True:
            chunk = cur.fetchmany(CHUNK)
            if not chunk:
                return
            yield list(chunk)
    finally:
        cur.close()


@dataclass
class Records:
    """Every record decided by the end of the period, as columns (blacklists and others)."""

    id: I64
    subject: I64  # a dense subject number (the same subject, the same number)
    category: I64  # index into categories
    authority: I64  # index into authorities
    decision: I64
    extension: I64
    categories: list[str]
    authorities: list[str]


def _subject_numbers(ids: list[bytes]) -> I64:
    return subject_numbers(np.array([x.ljust(18)[:18] for x in ids], dtype="S18"))


def subject_numbers(ids: npt.NDArray[np.bytes_]) -> I64:
    """A dense number for each subject (18 bytes each, padded with spaces): the same
    subject, the same number, numbered in the order of the identifiers."""
    raw = np.ascontiguousarray(ids).view(np.uint8).reshape(-1, 18)
    hi = raw[:, :8].copy().view(">u8").ravel()
    mid = raw[:, 8:16].copy().view(">u8").ravel()
    lo = raw[:, 16:18].copy().view(">u2").ravel()
    order = np.lexsort((lo, mid, hi))
    h, m_, lw = hi[order], mid[order], lo[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (h[1:] != h[:-1]) | (m_[1:] != m_[:-1]) | (lw[1:] != lw[:-1])
    out = np.empty(len(order), np.int64)
    out[order] = np.cumsum(new) - 1
    return out


def load_records(conn: Connection, p: Period, part: Part = ALL) -> Records:
    """Every record decided by the end of the period whose subject is in ``part``."""
    ids: list[I64] = []
    subj: list[bytes] = []
    cat: list[I64] = []
    auth: list[I64] = []
    dec: list[I64] = []
    ext: list[I64] = []
    cats: dict[str, int] = {}
    auths: dict[str, int] = {}
    last = (EPOCH + dt.timedelta(days=p.last)).isoformat()
    sql = (
        "SELECT id, subject_id, category, authority, decision_date, extension_years "
        f"FROM records WHERE decision_date <= :last{part.sql('subject_id')} ORDER BY id"
    )
    params = {"last": _param(conn, dt.date.fromisoformat(last)), **part.params}
    for chunk in _fetch(conn, sql, params):
        i, s, c, a, d, e = zip(*chunk, strict=True)
        ids.append(np.array(i, np.int64))
        subj.extend(x.encode("ascii") for x in s)
        cat.append(np.array([cats.setdefault(x, len(cats)) for x in c], np.int64))
        auth.append(np.array([auths.setdefault(x, len(auths)) for x in a], np.int64))
        dec.append(_dates(d))
        ext.append(np.array(e, np.int64))

    def cat_(xs: list[I64]) -> I64:
        return np.concatenate(xs) if xs else np.zeros(0, np.int64)

    return Records(
        cat_(ids),
        _subject_numbers(subj) if subj else np.zeros(0, np.int64),
        cat_(cat),
        cat_(auth),
        cat_(dec),
        cat_(ext),
        list(cats),
        list(auths),
    )


@dataclass
class Events:
    fulfilled: I64  # per record: day of the first fulfilment, NEVER if none
    withdrawn: I64
    withdrawn_upheld: npt.NDArray[np.bool_]  # the first withdrawal's reason
    repaired: I64
    amounts: dict[int, Decimal | None]  # record row -> amount as corrected, for fulfilled ones


KINDS = ("fulfilled", "withdrawn", "repaired")


@dataclass
class EventRows:
    """Every fulfilment, withdrawal and repair by the end of the period, in (date, id) order,
    as compact columns (15 bytes an event): read once, then taken a part at a time."""

    record_id: I64
    kind: npt.NDArray[np.int8]  # index into KINDS
    day: I64
    upheld: npt.NDArray[np.bool_]  # a withdrawal whose reason is objection_upheld

    def of(self, record_ids: I64) -> EventRows:
        """The events of these records (``record_ids`` sorted)."""
        if not len(record_ids):
            return EventRows(self.record_id[:0], self.kind[:0], self.day[:0], self.upheld[:0])
        at = np.clip(np.searchsorted(record_ids, self.record_id), 0, len(record_ids) - 1)
        m = record_ids[at] == self.record_id
        return EventRows(self.record_id[m], self.kind[m], self.day[m], self.upheld[m])


def load_event_rows(conn: Connection, p: Period) -> EventRows:
    last = EPOCH + dt.timedelta(days=p.last)
    kind = " ".join(f"WHEN '{k}' THEN {i}" for i, k in enumerate(KINDS))
    sql = (
        f"SELECT record_id, CASE type {kind} END, {day_sql(conn, 'event_date')}, "
        "CASE WHEN reason = 'objection_upheld' THEN 1 ELSE 0 END FROM record_events "
        "WHERE event_date <= :last AND type IN ('fulfilled', 'withdrawn', 'repaired') "
        "ORDER BY event_date, id"
    )
    cols: list[npt.NDArray[np.int64]] = []
    for chunk in _fetch(conn, sql, {"last": _param(conn, last)}):
        cols.append(np.array(chunk, np.int64).reshape(-1, 4))
    got = np.concatenate(cols) if cols else np.zeros((0, 4), np.int64)
    return EventRows(got[:, 0].copy(), got[:, 1].astype(np.int8), got[:, 2].copy(),
                     got[:, 3].astype(bool))  # fmt: skip


Correction = tuple[int, int, Any]  # (record id, day, payload), in (date, id) order


def load_corrections(conn: Connection, p: Period) -> list[Correction]:
    """Every correction by the end of the period (a few in a hundred records)."""
    corr = conn.execute(
        text(
            "SELECT record_id, event_date, payload FROM record_events "
            "WHERE type = 'corrected' AND event_date <= :last ORDER BY event_date, id"
        ),
        {"last": _param(conn, EPOCH + dt.timedelta(days=p.last))},
    )
    return [(int(rid), _d(day), payload) for rid, day, payload in corr]


def _amounts(conn: Connection, ids: list[int]) -> dict[int, Decimal | None]:
    """The amount owed of each of these records, as recorded (by primary key, in slices)."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    out: dict[int, Decimal | None] = {}
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        for lo in range(0, len(ids), AMOUNTS_SLICE):
            got = ids[lo : lo + AMOUNTS_SLICE]
            cur.execute(
                f"SELECT id, amount_owed FROM records WHERE id IN ({', '.join([mark] * len(got))})",
                tuple(got),
            )
            for rid, v in cur.fetchall():
                out[int(rid)] = None if v is None else Decimal(str(v))
    finally:
        cur.close()
    return out


def load_events(
    conn: Connection,
    p: Period,
    recs: Records,
    rows: EventRows | None = None,
    corrections: list[Correction] | None = None,
) -> Events:
    """The first fulfilment, withdrawal and repair of each of ``recs`` (from ``rows``, all the
    period's events or those of ``recs``' part, when given; else read here), and the amounts
    paid (their amounts read by record id; corrections from ``corrections``, the period's,
    when given)."""
    n = len(recs.id)
    first = {k: np.full(n, NEVER, np.int64) for k in KINDS}
    upheld = np.zeros(n, dtype=bool)
    ev = (load_event_rows(conn, p) if rows is None else rows).of(recs.id)
    if n and len(ev.record_id):
        row = np.searchsorted(recs.id, ev.record_id)
        for ki, k in enumerate(KINDS):
            m = ev.kind == ki
            # Events come in date order: the first one per record wins.
            rows_k, pick = np.unique(row[m], return_index=True)
            first[k][rows_k] = ev.day[m][pick]
            if k == "withdrawn":
                upheld[rows_k] = ev.upheld[m][pick]
    amounts: dict[int, Decimal | None] = {}
    paid = np.flatnonzero(first["fulfilled"] != NEVER)
    if len(paid):
        want = recs.id[paid].tolist()
        amounts = _amounts(conn, want)
        pay_day = dict(zip(want, first["fulfilled"][paid].tolist(), strict=True))
        for rid, day, payload in load_corrections(conn, p) if corrections is None else corrections:
            if rid in pay_day and day <= pay_day[rid] and payload is not None:
                d = json.loads(payload) if isinstance(payload, str) else payload
                v = d.get("amount_owed")
                amounts[rid] = None if v is None else Decimal(str(v))
    return Events(first["fulfilled"], first["withdrawn"], upheld, first["repaired"], amounts)


def _wide(keys: I64, month: I64, k: int, nm: int) -> npt.NDArray[np.int64]:
    counts = np.bincount(keys * nm + month, minlength=k * nm)
    out: npt.NDArray[np.int64] = counts[: k * nm].reshape(k, nm)
    return out


def records_tables(recs: Records, p: Period, reg: Registry) -> tuple[Table, Table]:
    inyear = p.within(recs.decision)
    month = p.month_index(recs.decision[inyear])
    nm = len(p.months)
    by_cat = Table(
        "records_by_category",
        "Records collected (by decision date), by category",
        ["category", "list", *p.months, "total"],
    )
    wide = _wide(recs.category[inyear], month, len(recs.categories), nm)
    for ci, cid in sorted(enumerate(recs.categories), key=lambda x: x[1]):
        series = [int(x) for x in wide[ci]]
        if sum(series):
            c = reg.pack.categories.get(cid)
            by_cat.rows.append([cid, c.list_id if c else "", *series, sum(series)])
    by_auth = Table(
        "records_by_authority",
        "Records collected (by decision date), by authority",
        ["authority", *p.months, "total"],
    )
    wide = _wide(recs.authority[inyear], month, len(recs.authorities), nm)
    for ai, code in sorted(enumerate(recs.authorities), key=lambda x: x[1]):
        series = [int(x) for x in wide[ai]]
        if sum(series):
            by_auth.rows.append([code, *series, sum(series)])
    return by_cat, by_auth
