"""The rail repeat rule for the transparency report, set-wise.

A fare record of a kind with a ``repeat`` term (rail types 4-6: misused discount IDs, invalid
tickets, fare evasion) is the n-th within the window when the subject's record n-1 places
before it (all such records of the subject, by decision date then reference) was paid and
this one was decided within ``window_days`` of that payment. Such a record, once paid, keeps
the listing for ``after_payment_days`` more (``domain.restrictions._repeat_offence`` decides
the same thing for one subject; ``tests/integration/test_report_repeat.py`` holds the two
equal).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection

from socialcredit.domain.rules import RulePack
from socialcredit.reports.parts import ALL, Part

NEVER = 2**31 - 1  # a day that never comes (fits the day arithmetic below)
I64 = npt.NDArray[np.int64]


def repeat_extra_days(
    rows: list[tuple[int, str, str, str]],
    record_ids: I64,
    subject: I64,
    decision: I64,
    fulfilled: I64,
    pack: RulePack,
) -> I64:
    """Days a paid record's listing outlasts its payment, per record row (0 for most).

    ``rows`` are (record id, authority, case number, category) of the records whose category
    has a repeat term; the arrays are the report's per-row columns, ``record_ids`` sorted.
    """
    extra = np.zeros(len(record_ids), np.int64)
    if not rows:
        return extra
    ids = np.array([r[0] for r in rows], np.int64)
    pos = np.searchsorted(record_ids, ids)
    keep = (pos < len(record_ids)) & (record_ids[np.minimum(pos, len(record_ids) - 1)] == ids)
    pos = pos[keep]
    kept = [r for r, k in zip(rows, keep.tolist(), strict=True) if k]
    if not kept:
        return extra
    auth = np.array([r[1] for r in kept], dtype=str)
    case = np.array([r[2] for r in kept], dtype=str)
    terms = [pack.categories[r[3]].term.repeat for r in kept]
    # All repeat-kind records of a subject, by (decision date, authority, case number).
    order = np.lexsort((case, auth, decision[pos], subject[pos]))
    p = pos[order]
    subj = subject[p]
    starts = np.r_[True, subj[1:] != subj[:-1]]
    rank = np.arange(len(p)) - np.maximum.accumulate(np.where(starts, np.arange(len(p)), 0))
    which = np.array([terms[i] for i in order.tolist()], dtype=object)
    for rep in {t for t in terms if t is not None}:
        j = np.flatnonzero((which == rep) & (rank >= rep.count - 1))
        paid = fulfilled[p[j - (rep.count - 1)]]
        due = np.where(paid == NEVER, NEVER, paid + rep.window_days)
        ok = (paid != NEVER) & (decision[p[j]] <= due)
        extra[p[j[ok]]] = rep.after_payment_days
    return extra


def load_repeat_rows(
    conn: Connection, pack: RulePack, last: Any, part: Part = ALL
) -> list[tuple[int, str, str, str]]:
    """(id, authority, case number, category) of every repeat-kind record decided by ``last``
    (the period's last day as the driver's parameter) about a subject in ``part``."""
    cats = sorted(c.id for c in pack.categories.values() if c.term.repeat is not None)
    if not cats:
        return []
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(
            "SELECT id, authority, case_number, category FROM records "
            f"WHERE category IN ({', '.join([mark] * len(cats))}) AND decision_date <= {mark}"
            + part.sql("subject_id", mark),
            (*cats, last, *part.params.values()),
        )
        return [(int(a), str(b), str(c), str(d)) for a, b, c, d in cur.fetchall()]
    finally:
        cur.close()
