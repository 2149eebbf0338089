"""Subjects removed from the lists on one day, by reason, as the transparency report counts
them (``reports/listings.py``): fulfilled, expired, objection upheld, withdrawn, repaired.

The report follows every subject's records over a year; a live figure cannot read the whole
registry every second. A removal on ``day`` needs a listing that ends the day before, so
only a few subjects can have one: those with a fulfilment, withdrawal or repair dated
``day`` (or, under the rail repeat rule, a payment ``after_payment_days`` before), and those
with a blacklist record decided in a window where its term would run out on ``day`` (each
category's term back from ``day``, widened by the longest publicity period). Those subjects'
records and events, all of them, go through the report's own :func:`listings` for a period
of that one day: the same spells, the same reasons, the same rule for a subject listed twice
(removed only when the last listing ends). Expiries are counted as the report counts them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, text

from socialcredit.domain.restrictions import _add_months, _add_years
from socialcredit.domain.rules import ListKind, RulePack, TermKind
from socialcredit.reports.listings import REASONS, listings
from socialcredit.reports.parts import Part
from socialcredit.reports.period import I64, Period, _d, _dates, _param
from socialcredit.reports.records import KINDS, Events, load_records
from socialcredit.reports.repeat import NEVER, load_repeat_rows, repeat_extra_days
from socialcredit.runtime.registry import Registry

# Days a listing's start may follow its decision: publicity of a few working days, from the
# next monthly publication, across the longest holidays.
START_LAG = 130
SLACK = 3  # month ends and 29 February
CHUNK = 500  # subjects read at a time


@dataclass(frozen=True)
class Subjects(Part):
    """A :class:`Part` of named subjects (``subject_id IN (...)``), for the report's loaders."""

    ids: tuple[str, ...] = ()

    def sql(self, column: str, mark: str | None = None) -> str:
        if mark is not None:
            return f" AND {column} IN ({', '.join([mark] * len(self.ids))})"
        return f" AND {column} IN ({', '.join(':' + k for k in self.params)})"


def _name(i: int) -> str:
    """A parameter name of letters only (the report's loader names parameters ``[a-z_]+``)."""
    out = ""
    while True:
        i, r = divmod(i, 26)
        out += chr(ord("a") + r)
        if not i:
            return "subj_" + out


def subjects_part(ids: list[str]) -> Subjects:
    return Subjects(None, None, {_name(i): s for i, s in enumerate(ids)}, tuple(ids))


def expiry_windows(pack: RulePack, day: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    """(category, first, last decision date) of blacklist records whose term may end so that
    they are removed on ``day``."""
    out = []
    for cat in pack.categories.values():
        if cat.list_id.startswith("scoring."):
            continue
        if pack.lists[cat.list_id].kind is not ListKind.BLACKLIST:
            continue
        term = cat.term
        if term.kind is TermKind.FIXED:
            if not term.years:
                starts = [day - dt.timedelta(days=term.days)]
            else:
                ext = term.extension_max_years
                if term.max_total_years:
                    ext = min(ext, term.max_total_years - term.years)
                starts = [_add_years(day, -(term.years + e)) for e in range(max(ext, 0) + 1)]
            for s in starts:
                out.append((cat.id, s - dt.timedelta(days=START_LAG), s + dt.timedelta(days=SLACK)))
        elif term.kind is TermKind.PUBLICATION:
            d = _add_months(day, -term.max_publication_months)
            out.append((cat.id, d - dt.timedelta(days=SLACK), d + dt.timedelta(days=SLACK)))
    return out


def candidates(
    conn: Connection, pack: RulePack, day: dt.date, after_record: int = 0, after_event: int = 0
) -> set[str]:
    """Every subject who could be removed on ``day`` (a superset; see the module docstring),
    from records and events with ids above ``after_record`` / ``after_event`` (the ids are
    one sequence, in acceptance order: a later call adds what arrived since). One scan of
    each table, or a range of its primary key."""
    days = {day} | {
        day - dt.timedelta(days=c.term.repeat.after_payment_days)
        for c in pack.categories.values()
        if c.term.repeat is not None
    }
    params: dict[str, Any] = {"after_event": after_event, "after_record": after_record}
    marks = []
    for i, d in enumerate(sorted(days)):
        params[f"d{i}"] = _param(conn, d)
        marks.append(f":d{i}")
    found = set(
        conn.execute(
            text(
                "SELECT DISTINCT r.subject_id FROM record_events e "
                "JOIN records r ON r.id = e.record_id WHERE e.id > :after_event "
                f"AND e.event_date IN ({', '.join(marks)}) "
                "AND e.type IN ('fulfilled', 'withdrawn', 'repaired')"
            ),
            params,
        ).scalars()
    )
    windows = []
    for i, (cat, lo, hi) in enumerate(expiry_windows(pack, day)):
        params |= {f"c{i}": cat, f"lo{i}": _param(conn, lo), f"hi{i}": _param(conn, hi)}
        windows.append(
            f"(category = :c{i} AND decision_date >= :lo{i} AND decision_date <= :hi{i})"
        )
    if windows:
        found.update(
            conn.execute(
                text(
                    "SELECT DISTINCT subject_id FROM records WHERE id > :after_record "
                    f"AND ({' OR '.join(windows)})"
                ),
                params,
            ).scalars()
        )
    return found


def _events(conn: Connection, last: dt.date, part: Subjects, record_ids: I64) -> Events:
    """The first fulfilment, withdrawal and repair of each record (no amounts: not needed)."""
    n = len(record_ids)
    first = {k: np.full(n, NEVER, np.int64) for k in KINDS}
    upheld = np.zeros(n, dtype=bool)
    rows = conn.execute(
        text(
            "SELECT e.record_id, e.type, e.event_date, e.reason FROM record_events e "
            "JOIN records r ON r.id = e.record_id WHERE e.event_date <= :last "
            "AND e.type IN ('fulfilled', 'withdrawn', 'repaired')"
            + part.sql("r.subject_id")
            + " ORDER BY e.event_date, e.id"
        ),
        {"last": _param(conn, last), **part.params},
    ).all()
    if rows:
        rid, kind, day, why = zip(*rows, strict=True)
        at = np.searchsorted(record_ids, np.array(rid, np.int64))
        days = _dates(day)
        for k in KINDS:
            m = np.array([x == k for x in kind], dtype=bool)
            rows_k, pick = np.unique(at[m], return_index=True)  # in date order: the first
            first[k][rows_k] = days[m][pick]
            if k == "withdrawn":
                upheld[rows_k] = np.array([x == "objection_upheld" for x in why])[m][pick]
    return Events(first["fulfilled"], first["withdrawn"], upheld, first["repaired"], {})


def removals_on(reg: Registry, day: dt.date, subjects: set[str] | None = None) -> dict[str, int]:
    """Subjects removed on ``day``, by reason (:data:`REASONS`), as the report counts them;
    ``subjects``: the candidates when the caller has them (:func:`candidates`)."""
    out = dict.fromkeys(REASONS, 0)
    mid = dt.datetime(day.year, 7, 1, tzinfo=reg.tz)
    p = Period(day.year, _d(day), _d(day), mid.utcoffset() or dt.timedelta())
    with reg.read_engine.connect() as conn:
        found = sorted(candidates(conn, reg.pack, day) if subjects is None else subjects)
        for i in range(0, len(found), CHUNK):
            part = subjects_part(found[i : i + CHUNK])
            recs = load_records(conn, p, part)
            if not len(recs.id):
                continue
            ev = _events(conn, day, part, recs.id)
            last: Any = _param(conn, day)
            extra = repeat_extra_days(
                load_repeat_rows(conn, reg.pack, last, part),
                recs.id,
                recs.subject,
                recs.decision,
                ev.fulfilled,
                reg.pack,
            )
            _, totals = listings(recs, ev, p, reg, extra)
            for r, n in totals["removals_by_reason"].items():
                out[r] += int(n)
    return out
