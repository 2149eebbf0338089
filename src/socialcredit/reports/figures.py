"""The transparency report for a year (DOMAIN.md section 7), from the raw events.

Every figure is recomputed from the append-only sources - records and their events, the
screening log, due-process cases and notices, residences - never read from a counter that
could drift. Aggregate only: no identifier, name or case number leaves the report.

This module assembles the report; each figure is computed in one place, on the ``period``
and ``Table`` they share: blocked purchases in ``screenings``, records collected (and the
records and events the listings start from) in ``records`` and ``record_parts``, listings,
removals and payments after listing in ``listings``, cases and notices in ``due_process``,
scores in ``scores``.

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
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from socialcredit.integrity import Head, head_before_day
from socialcredit.reports.due_process import cases, notices
from socialcredit.reports.listings import listings, paid
from socialcredit.reports.parts import add_tables, add_totals, parts
from socialcredit.reports.period import EPOCH, Period, Table, _d, period
from socialcredit.reports.record_parts import RecordParts, read_parts
from socialcredit.reports.records import (
    Correction,
    load_corrections,
    load_event_rows,
    load_events,
    no_gc,
    records_tables,
)
from socialcredit.reports.repeat import repeat_extra_days
from socialcredit.reports.scores import scores
from socialcredit.reports.screenings import blocked
from socialcredit.runtime.registry import Registry


def _head(h: Head | None) -> dict[str, Any] | None:
    return None if h is None else h.to_dict()


def log_heads(conn: Connection, p: Period, zone: dt.tzinfo) -> dict[str, Any]:
    """The transparency log's last signed head of the period (of the year, when complete)
    and of each month: what anyone can hold the registry to (``log monitor``, proofs).
    Months end at midnight in the registry's zone, as its days do (a head signed at 00:01
    in Beijing on 1 October is the new month's, though it is still 30 September in UTC)."""
    first = EPOCH + dt.timedelta(days=p.first)
    last = EPOCH + dt.timedelta(days=p.last)
    end = last + dt.timedelta(days=1)
    months = []
    m = dt.date(first.year, first.month, 1)
    while m <= last:
        nxt = dt.date(m.year + (m.month == 12), m.month % 12 + 1, 1)
        cut = min(nxt, end)
        months.append({"month": f"{m:%Y-%m}", "head": _head(head_before_day(conn, cut, zone))})
        m = nxt
    return {
        "last_head": _head(head_before_day(conn, end, zone)),
        "monthly_heads": months,
        "key": "/v1/log/key",
    }


def _records_figures(
    conn: Connection, p: Period, reg: Registry, cut: RecordParts, i: int, corr: list[Correction]
) -> tuple[int, Table, Table, Table, dict[str, Any], Table, dict[str, Any]]:
    """The figures drawn from records and their events, for the subjects of part ``i``."""
    recs = cut.records(i)
    ev = load_events(conn, p, recs, cut.events_of(i), corrections=corr)
    by_cat, by_auth = records_tables(recs, p, reg)
    extra = repeat_extra_days(
        cut.repeat[i], recs.id, recs.subject, recs.decision, ev.fulfilled, reg.pack
    )
    lst, lst_totals = listings(recs, ev, p, reg, extra)
    pay, pay_totals = paid(recs, ev, p, reg)
    collected = int(p.within(recs.decision).sum())
    return collected, by_cat, by_auth, lst, lst_totals, pay, pay_totals


def build_report(reg: Registry, year: int) -> dict[str, Any]:
    """The transparency report for ``year`` as a JSON-ready dict (see the module docstring)."""
    p = period(reg, year)
    notes: list[str] = []
    # The cyclic collector is off while millions of rows are read (``no_gc``; the report is
    # computed by the CLI, off the server, so no request waits on its garbage meanwhile).
    with no_gc(), reg.engine.connect() as conn:
        conn.execution_options(socialcredit_readonly=True)
        with conn.begin():
            head, by_sector = blocked(conn, p, notes)
            corr = load_corrections(conn, p)
            with tempfile.TemporaryDirectory(prefix="socialcredit-report-") as scratch:
                cut = read_parts(
                    conn, p, parts(conn), load_event_rows(conn, p), reg.pack, Path(scratch)
                )
                got = [_records_figures(conn, p, reg, cut, i, corr) for i in range(len(cut.parts))]
                del cut
            collected = sum(g[0] for g in got)
            by_cat = add_tables([g[1] for g in got], 2)
            by_auth = add_tables([g[2] for g in got], 1)
            lst = add_tables([g[3] for g in got], 1)
            lst_totals = add_totals([g[4] for g in got])
            pay = add_tables([g[5] for g in got], 1)
            pay_totals = add_totals([g[6] for g in got])
            cas, cas_totals = cases(conn, p, notes)
            notc, notc_totals = notices(conn, p, notes)
            sc_month, sc_region, sc_totals = scores(conn, p, reg, notes)
            log = log_heads(conn, p, reg.tz)
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
            "records_collected": collected,
            "listings": lst_totals,
            "paid_after_listing": pay_totals,
            "cases": cas_totals,
            "notices": notc_totals,
            "scores": sc_totals,
        },
        "tables": {t.name: t.to_dict() for t in tables},
        "transparency_log": log,
        "notes": notes,
        "definitions": (__doc__ or "").split("Definitions", 1)[-1].strip(),
    }
