"""The transparency report for a year (DOMAIN.md section 7), from the raw events.

Every figure is recomputed from the append-only sources - records and their events, the
screening log, due-process cases and notices, residences - never read from a counter that
could drift. Aggregate only: no identifier, name or case number leaves this module.

Definitions (the report's ``definitions`` repeats them for readers):

* *Blocked purchases*: screenings answered ``deny``, by sector; "rail (all)" is every
  ``rail.*`` sector. Months are in the registry's time zone.
* *Records collected*: records by decision date, by category and by authority.
* *Listings* follow the restriction engine's timeline of each blacklist record: it starts on
  its decision date, or after publication and the publicity period; it ends at the end of its
  term (*expired*), or the day before a fulfilment that ends it (*fulfilled*), a withdrawal
  (*objection upheld* when that is the withdrawal's reason, else *withdrawn*) or a repair
  (*repaired*). A subject is *newly listed* when a listing starts while none of theirs is in
  force, and *removed* the day after the last one in force ends; the reason is that of the
  listing that ended last. Pending listings (still in publicity) are not counted.
* *Debts and fines paid after listing*: blacklist records fulfilled in the month, on or after
  their decision, with the amount owed (as last corrected before payment).
* *Cases*: filed by filing date; decided (upheld or rejected) by decision date; days to
  decide are calendar days from filing to decision; the median is numpy's, the 95th
  percentile the nearest rank; "within the deadline" means decided on or before the due day.
* *Notices*: created by creation time, sent by sending time, delivered by delivery time.
* *Scores*: each programme in force, recomputed in bulk at each month end from the records.
  Counts of 1 to ``report_min_count`` - 1 residents (default 10) and means over fewer are
  published as null, so no one's grade can be read off a small county.

Removal dates follow the rail repeat rule (sales resume 90 days after paying for a third fare
record within a year; ``report_repeat``); corrections change amounts, not listing dates.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, inspect, text

from socialcredit.domain.restrictions import _add_months, _add_years
from socialcredit.domain.rules import Category, ListKind, Start, TermKind
from socialcredit.errors import InvalidInput
from socialcredit.reports.repeat import NEVER, load_repeat_rows, repeat_extra_days
from socialcredit.runtime.registry import Registry

I64 = npt.NDArray[np.int64]
EPOCH = dt.date(1970, 1, 1)
CHUNK = 500_000
REASONS = ("fulfilled", "expired", "objection_upheld", "withdrawn", "repaired")
CASE_KINDS = ("objection", "reconsideration", "repair")
FIRST_YEAR = 2000


def _d(x: Any) -> int:
    """A date, or ISO text as SQLite's driver returns it, as days since 1970."""
    if isinstance(x, str):
        x = dt.date.fromisoformat(x[:10])
    if isinstance(x, dt.datetime):
        x = x.date()
    return int((x - EPOCH).days)


def _dates(values: Sequence[Any]) -> I64:
    if not values:
        return np.zeros(0, np.int64)
    if isinstance(values[0], str):
        arr = np.array([v[:10] for v in values], dtype="datetime64[D]")
    else:
        arr = np.array(values, dtype="datetime64[D]")
    out: I64 = arr.astype(np.int64)
    return out


@dataclass
class Table:
    """One table of the report: its CSV file and its place in the JSON."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "columns": self.columns, "rows": self.rows}


@dataclass(frozen=True)
class Period:
    year: int
    first: int  # day numbers, inclusive
    last: int
    utc_offset: dt.timedelta

    @property
    def months(self) -> list[str]:
        last = EPOCH + dt.timedelta(days=self.last)
        return [f"{self.year}-{m:02d}" for m in range(1, last.month + 1)]

    def month_index(self, days: I64) -> I64:
        d = days.astype("datetime64[D]")
        out: I64 = (d.astype("datetime64[M]").astype(np.int64) - (self.year - 1970) * 12).astype(
            np.int64
        )
        return out

    def within(self, days: I64) -> npt.NDArray[np.bool_]:
        r: npt.NDArray[np.bool_] = (days >= self.first) & (days <= self.last)
        return r


def period(reg: Registry, year: int) -> Period:
    """The year asked about, checked: it must have begun; a year in progress ends today."""
    today = reg.today()
    if not isinstance(year, int) or year < FIRST_YEAR or year > today.year:
        raise InvalidInput.one(
            "year", f"must be a year from {FIRST_YEAR} to {today.year} (this year)", str(year)
        )
    last = min(dt.date(year, 12, 31), today)
    mid = dt.datetime(year, 7, 1, tzinfo=reg.tz)
    return Period(year, _d(dt.date(year, 1, 1)), _d(last), mid.utcoffset() or dt.timedelta())


def _monthly(p: Period, idx: I64, weights: I64 | None = None) -> list[int]:
    n = len(p.months)
    ok = (idx >= 0) & (idx < n)
    counts = np.bincount(idx[ok], weights=None if weights is None else weights[ok], minlength=n)
    return [int(x) for x in counts[:n]]


# --------------------------------------------------------------------------- screening


def _month_sql(conn: Connection, col: str, p: Period) -> str:
    hours = int(p.utc_offset.total_seconds() // 3600)
    if conn.dialect.name == "sqlite":
        return f"strftime('%Y-%m', {col}, '{hours:+d} hours')"
    return f"to_char({col} + interval '{hours} hours', 'YYYY-MM')"


def _utc_bounds(p: Period) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(EPOCH + dt.timedelta(days=p.first), dt.time()) - p.utc_offset
    end = dt.datetime.combine(EPOCH + dt.timedelta(days=p.last + 1), dt.time()) - p.utc_offset
    return start, end


def _param(conn: Connection, value: dt.date | dt.datetime) -> Any:
    """Dates as SQLite stores them (ISO text), native elsewhere."""
    if conn.dialect.name != "sqlite":
        return value
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value.isoformat()


def _month_bounds(p: Period) -> list[tuple[dt.datetime, dt.datetime]]:
    """[start, end) of each month of the period, local midnights expressed in UTC."""
    out = []
    last = EPOCH + dt.timedelta(days=p.last + 1)
    for i in range(len(p.months)):
        a = dt.date(p.year, i + 1, 1)
        b = dt.date(p.year + (i == 11), (i + 1) % 12 + 1, 1)
        out.append((a, min(b, last)))
    return [
        (
            dt.datetime.combine(a, dt.time()) - p.utc_offset,
            dt.datetime.combine(b, dt.time()) - p.utc_offset,
        )
        for a, b in out
    ]


def _has(conn: Connection, table: str) -> bool:
    return bool(inspect(conn).has_table(table))


def blocked(conn: Connection, p: Period, notes: list[str]) -> tuple[Table, Table]:
    head = Table(
        "blocked_purchases",
        "Purchases blocked at the point of sale (screenings answered deny), by month",
        ["month", "flight", "rail.high_class", "rail (all)", "all sectors", "screenings"],
    )
    by_sector = Table(
        "blocked_by_sector", "Screenings answered deny, by sector", ["sector", *p.months, "total"]
    )
    if not _has(conn, "screening_log"):
        notes.append("no screening log in this registry: blocked purchases are zero")
        head.rows = [[m, 0, 0, 0, 0, 0] for m in p.months]
        return head, by_sector
    # One range scan of the ``at`` index per month (bounds in UTC) instead of formatting
    # every row's timestamp: the log is the largest table the report reads.
    rows = []
    for m, (a, b) in zip(p.months, _month_bounds(p), strict=True):
        got = conn.execute(
            text(
                "SELECT sector, decision, count(*) FROM screening_log "
                "WHERE at >= :a AND at < :b GROUP BY 1, 2"
            ),
            {"a": _param(conn, a), "b": _param(conn, b)},
        ).all()
        rows += [(m, sector, decision, count) for sector, decision, count in got]
    col = {m: i for i, m in enumerate(p.months)}
    n = len(p.months)
    flight, high, rail, deny, total = ([0] * n for _ in range(5))
    sectors: dict[str, list[int]] = {}
    for m, sector, decision, count in rows:
        i = col.get(m)
        if i is None:
            continue
        total[i] += count
        if decision != "deny":
            continue
        deny[i] += count
        sectors.setdefault(sector, [0] * n)[i] += count
        flight[i] += count if sector == "flight" else 0
        high[i] += count if sector == "rail.high_class" else 0
        rail[i] += count if sector.startswith("rail") else 0
    head.rows = [
        [m, flight[i], high[i], rail[i], deny[i], total[i]] for i, m in enumerate(p.months)
    ]
    by_sector.rows = [[s, *v, sum(v)] for s, v in sorted(sectors.items())]
    return head, by_sector


# --------------------------------------------------------------------------- records


def _fetch(conn: Connection, sql: str, params: dict[str, Any]) -> Iterator[list[tuple[Any, ...]]]:
    """Rows in chunks straight from the driver's cursor (plain tuples, no Row objects: at
    national volume that is most of the time spent), in the connection's transaction."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    names: list[str] = []

    def sub(m: Any) -> str:
        names.append(m.group(1))
        return mark

    import re

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
    raw = np.frombuffer(b"".join(x.ljust(18)[:18] for x in ids), np.uint8).reshape(-1, 18)
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


def load_records(conn: Connection, p: Period) -> Records:
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
        "FROM records WHERE decision_date <= :last ORDER BY id"
    )
    for chunk in _fetch(conn, sql, {"last": _param(conn, dt.date.fromisoformat(last))}):
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


def load_events(conn: Connection, p: Period, recs: Records) -> Events:
    n = len(recs.id)
    first = {k: np.full(n, NEVER, np.int64) for k in ("fulfilled", "withdrawn", "repaired")}
    upheld = np.zeros(n, dtype=bool)
    last = EPOCH + dt.timedelta(days=p.last)
    sql = (
        "SELECT record_id, type, event_date, reason FROM record_events "
        "WHERE event_date <= :last AND type IN ('fulfilled', 'withdrawn', 'repaired') "
        "ORDER BY event_date, id"
    )
    for chunk in _fetch(conn, sql, {"last": _param(conn, last)}):
        rid, kind, day, reason = zip(*chunk, strict=True)
        row = np.searchsorted(recs.id, np.array(rid, np.int64))
        row = np.clip(row, 0, max(n - 1, 0))
        ok = recs.id[row] == np.array(rid, np.int64) if n else np.zeros(len(rid), bool)
        days = _dates(day)
        kinds = np.array(kind)
        for k, arr in first.items():
            m = ok & (kinds == k)
            # Events come in date order: the first one per record wins.
            rows, pick = np.unique(row[m], return_index=True)
            vals = days[m][pick]
            arr[rows] = np.minimum(arr[rows], vals)
            if k == "withdrawn":
                reasons = np.array(reason, dtype=object)[m][pick]
                first_now = arr[rows] == vals
                upheld[rows[first_now]] = reasons[first_now] == "objection_upheld"
    amounts: dict[int, Decimal | None] = {}
    paid = np.flatnonzero(first["fulfilled"] != NEVER)
    if len(paid):
        want = recs.id[paid]
        found = conn.execute(
            text("SELECT id, amount_owed FROM records WHERE id >= :lo AND id <= :hi"),
            {"lo": int(want.min()), "hi": int(want.max())},
        )
        wanted = set(want.tolist())
        amounts = {
            int(r[0]): None if r[1] is None else Decimal(str(r[1]))
            for r in found
            if int(r[0]) in wanted
        }
        corr = conn.execute(
            text(
                "SELECT record_id, event_date, payload FROM record_events "
                "WHERE type = 'corrected' AND event_date <= :last ORDER BY event_date, id"
            ),
            {"last": _param(conn, last)},
        )
        pay_day = dict(zip(want.tolist(), first["fulfilled"][paid].tolist(), strict=True))
        import json

        for rid, day, payload in corr:
            if rid in pay_day and _d(day) <= pay_day[rid] and payload is not None:
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


# --------------------------------------------------------------------------- listings


def _start_days(cat: Category, decision: I64, reg: Registry) -> I64:
    if cat.start is not Start.AFTER_PUBLICITY or cat.publicity is None:
        return decision
    pub = cat.publicity
    uniq, inv = np.unique(decision, return_inverse=True)
    vals = np.empty(len(uniq), np.int64)
    for k, day in enumerate(uniq.tolist()):
        d = EPOCH + dt.timedelta(days=day)
        first = (
            reg.calendar.next_monthly_publication(d)
            if pub.monthly_publication
            else reg.calendar.first_workday_on_or_after(d)
        )
        vals[k] = _d(reg.calendar.add_working_days(first.day, pub.working_days).day) + 1
    out: I64 = vals[inv.ravel()]
    return out


def _natural_end(cat: Category, start: I64, decision: I64, ext: I64) -> I64:
    term = cat.term
    if term.kind is TermKind.FIXED:
        if not term.years:
            return start + term.days - 1
        e = np.clip(ext, 0, term.extension_max_years)
        if term.max_total_years:
            e = np.minimum(e, term.max_total_years - term.years)
        years = term.years + e
        key = start * 64 + years
        uniq, inv = np.unique(key, return_inverse=True)
        vals = np.array(
            [
                _d(_add_years(EPOCH + dt.timedelta(days=int(k // 64)), int(k % 64))) - 1
                for k in uniq
            ],
            np.int64,
        )
        out: I64 = vals[inv.ravel()]
        return out
    if term.kind is TermKind.PUBLICATION:
        uniq, inv = np.unique(decision, return_inverse=True)
        months = term.max_publication_months
        vals = np.array(
            [_d(_add_months(EPOCH + dt.timedelta(days=int(k)), months)) - 1 for k in uniq],
            np.int64,
        )
        pub: I64 = vals[inv.ravel()]
        return pub
    return np.full(len(start), NEVER, np.int64)


def listings(
    recs: Records, ev: Events, p: Period, reg: Registry, extra: I64 | None = None
) -> tuple[Table, dict[str, Any]]:
    """Subjects newly listed and removed per month, removals by reason (see the docstring).

    ``extra``: days a paid record stays listed after its payment (the rail repeat rule)."""
    blacklist = np.zeros(len(recs.categories), dtype=bool)
    n = len(recs.id)
    start = np.full(n, NEVER, np.int64)
    end = np.full(n, NEVER, np.int64)
    reason = np.full(n, REASONS.index("expired"), np.int64)
    for ci, cid in enumerate(recs.categories):
        cat = reg.pack.categories.get(cid)
        if cat is None or reg.pack.lists[cat.list_id].kind is not ListKind.BLACKLIST:
            continue
        if cat.list_id.startswith("scoring."):
            continue
        blacklist[ci] = True
        rows = np.flatnonzero(recs.category == ci)
        s = _start_days(cat, recs.decision[rows], reg)
        e = _natural_end(cat, s, recs.decision[rows], recs.extension[rows])
        why = np.full(len(rows), REASONS.index("expired"), np.int64)
        paid = ev.fulfilled[rows]
        if extra is not None:
            paid = np.where(paid == NEVER, NEVER, paid + extra[rows])
        cuts = [
            (paid if cat.ends_on_fulfilment else np.full(len(rows), NEVER),
             np.full(len(rows), REASONS.index("fulfilled"))),
            (ev.withdrawn[rows], np.where(ev.withdrawn_upheld[rows],
                                          REASONS.index("objection_upheld"),
                                          REASONS.index("withdrawn"))),
            (ev.repaired[rows], np.full(len(rows), REASONS.index("repaired"))),
        ]  # fmt: skip
        for day, r in cuts:
            cut = (day != NEVER) & (day - 1 < e)
            e = np.where(cut, day - 1, e)
            why = np.where(cut, r, why)
        start[rows], end[rows], reason[rows] = s, e, why
    live = (start != NEVER) & (end >= start) & (start <= p.last)
    subj, s, e, why = recs.subject[live], start[live], end[live], reason[live]
    new_records = p.within(recs.decision) & blacklist[recs.category] if n else np.zeros(0, bool)
    table = Table(
        "listings",
        "Blacklist records and subjects newly listed and removed, by month",
        ["month", "new blacklist records", "subjects newly listed", "subjects removed",
         *[f"removed: {r.replace('_', ' ')}" for r in REASONS]],
    )  # fmt: skip
    totals: dict[str, Any] = {
        "new_blacklist_records": int(new_records.sum()),
        "subjects_newly_listed": 0,
        "subjects_removed": 0,
        "removals_by_reason": dict.fromkeys(REASONS, 0),
        "subjects_listed_at_end": 0,
    }
    rec_month = _monthly(p, p.month_index(recs.decision[new_records]))
    if len(subj) == 0:
        table.rows = [
            [m, rec_month[i], 0, 0, *([0] * len(REASONS))] for i, m in enumerate(p.months)
        ]
        return table, totals
    order = np.lexsort((s, subj))
    g, s, e, why = subj[order], s[order], e[order], why[order]
    big = np.int64(2**32)
    run = np.maximum.accumulate(g * big + e) - g * big
    seg = np.ones(len(g), dtype=bool)
    seg[1:] = (g[1:] != g[:-1]) | (s[1:] > run[:-1] + 1)
    seg_id = np.cumsum(seg) - 1
    seg_start = s[seg]
    seg_subj = g[seg]
    # The listing that ends last closes the segment and gives the removal its reason.
    close = np.lexsort((e, seg_id))
    last_of = np.flatnonzero(np.r_[seg_id[close][1:] != seg_id[close][:-1], True])
    seg_end = e[close][last_of]
    seg_why = why[close][last_of]
    removal = np.where(seg_end == NEVER, NEVER, seg_end + 1)
    started = p.within(seg_start)
    removed = (removal != NEVER) & p.within(removal)
    s_month = p.month_index(seg_start)
    r_month = p.month_index(np.where(removed, removal, 0))
    nm = len(p.months)
    newly = [len(np.unique(seg_subj[started & (s_month == i)])) for i in range(nm)]
    gone = [len(np.unique(seg_subj[removed & (r_month == i)])) for i in range(nm)]
    by_reason = [_monthly(p, r_month[removed & (seg_why == k)]) for k in range(len(REASONS))]
    table.rows = [
        [m, rec_month[i], newly[i], gone[i], *[by_reason[k][i] for k in range(len(REASONS))]]
        for i, m in enumerate(p.months)
    ]
    in_force = (seg_start <= p.last) & (seg_end >= p.last)
    totals |= {
        "subjects_newly_listed": len(np.unique(seg_subj[started])),
        "subjects_removed": len(np.unique(seg_subj[removed])),
        "removals_by_reason": {
            r: int((removed & (seg_why == k)).sum()) for k, r in enumerate(REASONS)
        },
        "subjects_listed_at_end": len(np.unique(seg_subj[in_force])),
    }
    return table, totals


def paid(recs: Records, ev: Events, p: Period, reg: Registry) -> tuple[Table, dict[str, Any]]:
    black = np.array(
        [
            (c := reg.pack.categories.get(cid)) is not None
            and not c.list_id.startswith("scoring.")
            and reg.pack.lists[c.list_id].kind is ListKind.BLACKLIST
            for cid in recs.categories
        ],
        dtype=bool,
    )
    n = len(recs.id)
    m = (
        black[recs.category] & p.within(ev.fulfilled) & (ev.fulfilled >= recs.decision)
        if n
        else np.zeros(0, bool)
    )
    rows = np.flatnonzero(m)
    month = p.month_index(ev.fulfilled[rows])
    nm = len(p.months)
    cents = [0] * nm
    with_amount = [0] * nm
    for r, mi in zip(rows.tolist(), month.tolist(), strict=True):
        a = ev.amounts.get(int(recs.id[r]))
        if a is not None:
            cents[mi] += int(a * 100)
            with_amount[mi] += 1
    count = _monthly(p, month)
    subjects = [len(np.unique(recs.subject[rows][month == i])) for i in range(nm)]
    table = Table(
        "paid_after_listing",
        "Debts, taxes, fares and fines paid after listing (blacklist records fulfilled)",
        ["month", "records fulfilled", "subjects", "with an amount", "amount paid (yuan)"],
    )
    table.rows = [
        [mo, count[i], subjects[i], with_amount[i], f"{Decimal(cents[i]) / 100:.2f}"]
        for i, mo in enumerate(p.months)
    ]
    totals = {
        "records_fulfilled": int(len(rows)),
        "subjects_who_paid": len(np.unique(recs.subject[rows])),
        "amount_paid_yuan": f"{Decimal(sum(cents)) / 100:.2f}",
    }
    return table, totals


# --------------------------------------------------------------------------- due process


def _nearest_rank(xs: list[int], q: float) -> int | None:
    if not xs:
        return None
    s = sorted(xs)
    k = max(1, int(np.ceil(q / 100 * len(s))))
    return s[k - 1]


def cases(conn: Connection, p: Period, notes: list[str]) -> tuple[Table, dict[str, Any]]:
    cols = ["month"]
    for k in CASE_KINDS:
        cols += [f"{k}s filed", f"{k}s upheld", f"{k}s rejected"]
    cols += ["median days to decide", "95th percentile days", "share within deadline"]
    table = Table("cases", "Objections, reconsiderations and repair applications", cols)
    nm = len(p.months)
    filed = {k: [0] * nm for k in CASE_KINDS}
    up = {k: [0] * nm for k in CASE_KINDS}
    rej = {k: [0] * nm for k in CASE_KINDS}
    days: list[list[int]] = [[] for _ in range(nm)]
    ontime: list[list[bool]] = [[] for _ in range(nm)]
    per_kind_days: dict[str, list[int]] = {k: [] for k in CASE_KINDS}
    per_kind_ontime: dict[str, list[bool]] = {k: [] for k in CASE_KINDS}
    if not _has(conn, "cases"):
        notes.append("no due-process cases table in this registry: case figures are zero")
        rows: Sequence[Any] = []
    else:
        first, last = EPOCH + dt.timedelta(days=p.first), EPOCH + dt.timedelta(days=p.last)
        rows = conn.execute(
            text(
                "SELECT kind, filed_on, due_on, decided_on, outcome FROM cases "
                "WHERE (filed_on >= :a AND filed_on <= :b) "
                "OR (decided_on >= :a AND decided_on <= :b)"
            ),
            {"a": _param(conn, first), "b": _param(conn, last)},
        ).all()
    for kind, filed_on, due_on, decided_on, outcome in rows:
        if kind not in filed:
            continue
        f = _d(filed_on)
        if p.first <= f <= p.last:
            filed[kind][p.month_index(np.array([f]))[0]] += 1
        if decided_on is None:
            continue
        d = _d(decided_on)
        if not p.first <= d <= p.last:
            continue
        mi = int(p.month_index(np.array([d]))[0])
        (up if outcome == "upheld" else rej)[kind][mi] += 1
        days[mi].append(d - f)
        ontime[mi].append(d <= _d(due_on))
        per_kind_days[kind].append(d - f)
        per_kind_ontime[kind].append(d <= _d(due_on))
    for i, m in enumerate(p.months):
        row: list[Any] = [m]
        for k in CASE_KINDS:
            row += [filed[k][i], up[k][i], rej[k][i]]
        row += [
            statistics.median(days[i]) if days[i] else None,
            _nearest_rank(days[i], 95),
            round(sum(ontime[i]) / len(ontime[i]), 4) if ontime[i] else None,
        ]
        table.rows.append(row)
    totals = {
        k: {
            "filed": sum(filed[k]),
            "upheld": sum(up[k]),
            "rejected": sum(rej[k]),
            "median_days_to_decide": statistics.median(per_kind_days[k])
            if per_kind_days[k]
            else None,
            "p95_days_to_decide": _nearest_rank(per_kind_days[k], 95),
            "share_within_deadline": round(sum(per_kind_ontime[k]) / len(per_kind_ontime[k]), 4)
            if per_kind_ontime[k]
            else None,
        }
        for k in CASE_KINDS
    }
    return table, totals


def notices(conn: Connection, p: Period, notes: list[str]) -> tuple[Table, dict[str, Any]]:
    table = Table(
        "notices",
        "Notices to subjects: created, sent, delivered and failed",
        ["month", "created", "sent", "delivered", "failed"],
    )
    nm = len(p.months)
    series = {k: [0] * nm for k in ("created", "sent", "delivered", "failed")}
    if not _has(conn, "notices"):
        notes.append("no notices table in this registry: notice figures are zero")
    else:
        start, end = _utc_bounds(p)
        col = {m: i for i, m in enumerate(p.months)}
        for name, column, extra in (
            ("created", "created_at", ""),
            ("sent", "sent_at", "AND status IN ('sent', 'delivered')"),
            ("delivered", "delivered_at", "AND status = 'delivered'"),
            ("failed", "created_at", "AND status = 'failed'"),
        ):
            month = _month_sql(conn, column, p)
            q = (
                f"SELECT {month}, count(*) FROM notices WHERE {column} >= :a AND {column} < :b "
                f"{extra} GROUP BY 1"
            )
            bounds = {"a": _param(conn, start), "b": _param(conn, end)}
            for m, c in conn.execute(text(q), bounds):
                if m in col:
                    series[name][col[m]] += int(c)
    table.rows = [[m, *(series[k][i] for k in series)] for i, m in enumerate(p.months)]
    return table, {k: sum(v) for k, v in series.items()}


# --------------------------------------------------------------------------- scores


def _small(count: int, k: int) -> int | None:
    """``count`` as published: counts from 1 to k-1 are withheld (null), 0 and k+ shown."""
    return None if 0 < count < k else count


def scores(
    conn: Connection, p: Period, reg: Registry, notes: list[str]
) -> tuple[Table, Table, dict[str, Any]]:
    from socialcredit.scoring import service as scoring

    k = reg.settings.report_min_count
    withheld = False
    cfg = scoring.config(reg, conn)
    monthly = Table(
        "score_distribution",
        "Scores of eligible residents at each month end, by programme and grade",
        ["month", "programme", "eligible", "mean score", "grade", "residents"],
    )
    regional = Table(
        "score_distribution_by_region",
        "Scores at the end of the period, by county of residence and grade",
        ["programme", "region_code", "grade", "residents"],
    )
    totals: dict[str, Any] = {}
    last = EPOCH + dt.timedelta(days=p.last)
    for prog in scoring.enabled(cfg):
        got = None
        data = scoring.region_data(conn, prog, last)
        for day in scoring.month_ends(p.year, last):
            got = data.scores(day)
            if got is None:
                continue
            s = got.scores
            n = int(s.eligible.sum())
            mean = round(float(s.score[s.eligible].mean()), 1) if n >= k else None
            for grade, c in s.distribution().items():
                shown = _small(c, k)
                withheld |= shown != c or (0 < n < k)
                monthly.rows.append([day.strftime("%Y-%m"), prog.id, n, mean, grade, shown])
        if got is None:
            continue
        s = got.scores
        codes = np.array(got.region_codes)
        for code in sorted(set(got.region_codes)):
            m = s.eligible & (codes == code)
            counts = np.bincount(s.grade[m].astype(np.int64), minlength=len(s.grade_names))
            for gi, gname in enumerate(s.grade_names):
                shown = _small(int(counts[gi]), k)
                withheld |= shown != int(counts[gi])
                regional.rows.append([prog.id, code, gname, shown])
        dist = {g: _small(c, k) for g, c in s.distribution().items()}
        withheld |= dist != s.distribution()
        totals[prog.id] = {
            "region": prog.region_name,
            "eligible": int(s.eligible.sum()),
            "distribution": dist,
            "illustrative": prog.illustrative,
        }
    if withheld:
        notes.append(
            f"Score tables: counts of 1 to {k - 1} residents, and means over fewer than {k},"
            " are withheld (null) so that no one's grade can be read off a small group."
        )
    if not totals:
        totals["note"] = "no scoring programme in force"
    return monthly, regional, totals


# --------------------------------------------------------------------------- the report


def build_report(reg: Registry, year: int) -> dict[str, Any]:
    """The transparency report for ``year`` as a JSON-ready dict (see the module docstring)."""
    p = period(reg, year)
    notes: list[str] = []
    with reg.engine.connect() as conn:
        conn.execution_options(socialcredit_readonly=True)
        with conn.begin():
            head, by_sector = blocked(conn, p, notes)
            recs = load_records(conn, p)
            ev = load_events(conn, p, recs)
            by_cat, by_auth = records_tables(recs, p, reg)
            last = _param(conn, EPOCH + dt.timedelta(days=p.last))
            extra = repeat_extra_days(
                load_repeat_rows(conn, reg.pack, last),
                recs.id,
                recs.subject,
                recs.decision,
                ev.fulfilled,
                reg.pack,
            )
            lst, lst_totals = listings(recs, ev, p, reg, extra)
            pay, pay_totals = paid(recs, ev, p, reg)
            cas, cas_totals = cases(conn, p, notes)
            notc, notc_totals = notices(conn, p, notes)
            sc_month, sc_region, sc_totals = scores(conn, p, reg, notes)
    tables = [head, by_sector, by_cat, by_auth, lst, pay, cas, notc, sc_month, sc_region]
    blocked_totals = {
        "flight": sum(r[1] for r in head.rows),
        "rail.high_class": sum(r[2] for r in head.rows),
        "rail (all)": sum(r[3] for r in head.rows),
        "all sectors": sum(r[4] for r in head.rows),
        "screenings": sum(r[5] for r in head.rows),
    }
    return {
        "report": "transparency",
        "year": year,
        "period": {
            "from": (EPOCH + dt.timedelta(days=p.first)).isoformat(),
            "to": (EPOCH + dt.timedelta(days=p.last)).isoformat(),
            "complete": p.last == _d(dt.date(year, 12, 31)),
            "timezone": reg.settings.timezone,
        },
        "rulepack_version": reg.pack.version,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "totals": {
            "blocked_purchases": blocked_totals,
            "records_collected": int(p.within(recs.decision).sum()),
            "listings": lst_totals,
            "paid_after_listing": pay_totals,
            "cases": cas_totals,
            "notices": notc_totals,
            "scores": sc_totals,
        },
        "tables": {t.name: t.to_dict() for t in tables},
        "notes": notes,
        "definitions": (__doc__ or "").split("Definitions", 1)[-1].strip(),
    }
