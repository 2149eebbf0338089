"""Listings and removals: each blacklist record's listing as the restriction engine times it
(from its decision or after publicity, to the end of its term or a fulfilment, withdrawal or
repair that cuts it short), joined per subject into spells that are newly listed and removed;
and the debts, taxes, fares and fines paid after listing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np

from socialcredit.domain.restrictions import _add_months, _add_years
from socialcredit.domain.rules import Category, ListKind, Start, TermKind
from socialcredit.reports.period import (
    EPOCH,
    I64,
    Period,
    Table,
    _d,
    _monthly,
    distinct,
    distinct_by_month,
)
from socialcredit.reports.records import Events, Records
from socialcredit.reports.repeat import NEVER
from socialcredit.runtime.registry import Registry

REASONS = ("fulfilled", "expired", "objection_upheld", "withdrawn", "repaired")


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
    newly = distinct_by_month(p, s_month[started], seg_subj[started])
    gone = distinct_by_month(p, r_month[removed], seg_subj[removed])
    by_reason = [_monthly(p, r_month[removed & (seg_why == k)]) for k in range(len(REASONS))]
    table.rows = [
        [m, rec_month[i], newly[i], gone[i], *[by_reason[k][i] for k in range(len(REASONS))]]
        for i, m in enumerate(p.months)
    ]
    in_force = (seg_start <= p.last) & (seg_end >= p.last)
    totals |= {
        "subjects_newly_listed": distinct(seg_subj[started]),
        "subjects_removed": distinct(seg_subj[removed]),
        "removals_by_reason": {
            r: int((removed & (seg_why == k)).sum()) for k, r in enumerate(REASONS)
        },
        "subjects_listed_at_end": distinct(seg_subj[in_force]),
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
    subjects = distinct_by_month(p, month, recs.subject[rows])
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
        "subjects_who_paid": distinct(recs.subject[rows]),
        "amount_paid_yuan": f"{Decimal(sum(cents)) / 100:.2f}",
    }
    return table, totals
