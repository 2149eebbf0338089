"""The later events of a year's listed records: which are fulfilled, withdrawn (with a reason),
repaired or corrected, and when, at each category's rates (:mod:`socialcredit.synthetic.rates`);
events after the end of the year or after the population's date are left out. And the lines
those events become.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from socialcredit.domain.rules import RulePack
from socialcredit.synthetic.columns import I64, B, _groups, _Listed
from socialcredit.synthetic.lines import SCHEMA, _dates, _decimal_cents
from socialcredit.synthetic.rates import PROFILES


def _event_table(listed: pa.Table, rows: I64, event: str, days: I64, reason: pa.Array) -> pa.Table:
    """Events other than corrections carry only authority, case number, date (and reason)."""
    k = len(rows)
    idx = pa.array(rows)
    cols: dict[str, pa.Array] = {f.name: pa.nulls(k, f.type) for f in SCHEMA}
    cols["event"] = pa.nulls(k, pa.string()).fill_null(event)
    cols["authority"] = listed.column("authority").take(idx)
    cols["case_number"] = listed.column("case_number").take(idx)
    cols["event_date"] = _dates(days)
    cols["reason"] = reason
    return pa.table(cols, schema=SCHEMA)


@dataclass
class _Event:
    """Later events of one type as arrays: the records' rows, the event dates and, for
    corrections, the corrected amounts, for withdrawals, the reasons."""

    event: str
    rows: I64
    days: I64
    cents: I64 | None = None
    has_amount: B | None = None
    reasons: npt.NDArray[np.object_] | None = None

    def subset(self, sel: B) -> _Event:
        def pick(a: Any) -> Any:
            return None if a is None else a[sel]

        return _Event(
            self.event,
            self.rows[sel],
            self.days[sel],
            pick(self.cents),
            pick(self.has_amount),
            pick(self.reasons),
        )


def _event_plan(
    rng: np.random.Generator,
    pack: RulePack,
    cat_ids: Sequence[str],
    r: _Listed,
    end_day: int,
) -> list[_Event]:
    n = len(r.cat)
    profs = [PROFILES[c] for c in cat_ids]
    pf = np.array([p.fulfil for p in profs])[r.cat]
    pw = np.array([p.withdraw for p in profs])[r.cat]
    pr = np.array([p.repair for p in profs])[r.cat]
    pcorr = np.array([p.correct for p in profs])[r.cat]
    dmin = np.array([p.fulfil_delay[0] for p in profs])[r.cat]
    dmean = np.array([p.fulfil_delay[1] for p in profs])[r.cat]
    min_pub = np.array([pack.category(c).term.min_publication_months for c in cat_ids])[r.cat]
    u = rng.random(n)
    fulfil = u < pf
    withdraw = (u >= pf) & (u < pf + pw)
    repair = (u >= pf + pw) & (u < pf + pw + pr)
    expo = rng.exponential(1.0, n)
    removal = np.where(
        fulfil,
        r.day + dmin + np.floor(dmean * expo).astype(np.int64),
        np.where(
            withdraw,
            r.day + 3 + np.floor(45 * expo).astype(np.int64),
            r.day + min_pub * 31 + 1 + np.floor(30 * expo).astype(np.int64),
        ),
    )
    corrected = rng.random(n) < pcorr
    corr_day = r.day + rng.integers(1, 21, n)
    removal = np.where(corrected, np.maximum(removal, corr_day + 1), removal)
    out: list[_Event] = []

    rows = np.flatnonzero(corrected & (corr_day <= end_day))
    if len(rows):
        cents = np.round(r.cents[rows] * rng.uniform(0.8, 1.0, len(rows))).astype(np.int64)
        out.append(_Event("corrected", rows, corr_day[rows], cents, r.has_amount[rows]))
    for event, mask in (("fulfilled", fulfil), ("repaired", repair)):
        rows = np.flatnonzero(mask & (removal <= end_day))
        if len(rows):
            out.append(_Event(event, rows, removal[rows]))
    rows = np.flatnonzero(withdraw & (removal <= end_day))
    if len(rows):
        reasons = np.empty(len(rows), dtype=object)
        for ci, sub in enumerate(_groups(r.cat[rows], len(cat_ids))):
            if len(sub) == 0:
                continue
            options = profs[ci].withdraw_reasons
            w = np.array([x for _, x in options])
            pick = rng.choice(len(options), size=len(sub), p=w / w.sum())
            reasons[sub] = np.array([name for name, _ in options], dtype=object)[pick]
        out.append(_Event("withdrawn", rows, removal[rows], reasons=reasons))
    return out


def _event_lines(listed: pa.Table, at: I64, ev: _Event) -> pa.Table:
    """The lines of ``ev``; ``at`` is the row in ``listed`` of each of its records."""
    k = len(at)
    if ev.event == "corrected":
        assert ev.cents is not None and ev.has_amount is not None
        t = listed.take(pa.array(at))
        t = t.set_column(0, "event", pa.nulls(k, pa.string()).fill_null("corrected"))
        t = t.set_column(3, "event_date", _dates(ev.days))
        t = t.set_column(9, "amount_owed", _decimal_cents(ev.cents, ev.has_amount))
        ref = pc.binary_join_element_wise(t.column("evidence_ref"), "更正", "-")
        return t.set_column(11, "evidence_ref", ref)
    reason = pa.nulls(k, pa.string()) if ev.reasons is None else pa.array(ev.reasons, pa.string())
    return _event_table(listed, at, ev.event, ev.days, reason)
