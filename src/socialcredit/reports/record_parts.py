"""The record figures' sources read once and cut into the parts of the subjects, on disk.

The listing figures are computed a part of the subjects at a time (``parts.py``), so memory
stays that of a part. Each part used to read its records with a scan of ``records`` of its
own (``substr(subject_id, 15, 2)`` can use no index), and the rail repeat records and the
amounts paid with two more: the parts grow with the registry, so the scans grew with its
square (12 parts and 36 scans of the table for a national year). Here ``records`` is scanned
once, in id order: each row's columns go, compact (:data:`ROW`, 42 bytes), to its part's
file in a scratch directory, and a part's records are read back from there when its turn
comes. The same scan takes the repeat-kind records' authority and case number, and cuts the
period's events by the parts of their records. The files take 42 bytes a record (0.7 GB for
a national year) in the system's temporary directory, removed when the report is done.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection

from socialcredit.domain.rules import RulePack
from socialcredit.reports.parts import Part
from socialcredit.reports.period import EPOCH, Period, _param, day_sql
from socialcredit.reports.records import EventRows, Records, _fetch, subject_numbers

ROW = np.dtype(
    [
        ("id", "<i8"),
        ("subject", "S18"),
        ("category", "<i4"),
        ("authority", "<i4"),
        ("decision", "<i4"),  # days since 1970
        ("extension", "<i4"),
    ]
)
RepeatRow = tuple[int, str, str, str]  # (id, authority, case number, category)


@dataclass
class RecordParts:
    """Every record decided by the end of the period, cut into ``parts``: the records of
    part ``i`` in ``files[i]`` (:data:`ROW`, in id order), its repeat-kind records in
    ``repeat[i]``, and the part of each of ``events`` (-1: no record of the period)."""

    parts: list[Part]
    files: list[Path]
    categories: list[str]
    authorities: list[str]
    repeat: list[list[RepeatRow]]
    events: EventRows
    event_part: npt.NDArray[np.int16]

    def records(self, i: int) -> Records:
        raw = np.fromfile(self.files[i], ROW)
        return Records(
            raw["id"].astype(np.int64),
            subject_numbers(raw["subject"]) if len(raw) else np.zeros(0, np.int64),
            raw["category"].astype(np.int64),
            raw["authority"].astype(np.int64),
            raw["decision"].astype(np.int64),
            raw["extension"].astype(np.int64),
            self.categories,
            self.authorities,
        )

    def events_of(self, i: int) -> EventRows:
        """Part ``i``'s events, in the period's (date, id) order."""
        m = self.event_part == i
        ev = self.events
        return EventRows(ev.record_id[m], ev.kind[m], ev.day[m], ev.upheld[m])


def subject_bytes(ids: Sequence[str]) -> npt.NDArray[np.bytes_]:
    """Identifiers as 18 ASCII bytes each (else UnicodeEncodeError), cut at 18 and padded
    with spaces, as ``load_records`` takes them (``ljust(18)[:18]``)."""
    out = np.array(ids, dtype="S18")
    raw = out.view(np.uint8)
    raw[raw == 0] = ord(" ")
    return out


def _part_of(subjects: npt.NDArray[np.bytes_], parts: list[Part]) -> npt.NDArray[np.intp]:
    """Each subject's part: where ``substr(subject_id, 15, 2)`` falls among the parts' bounds
    (a shorter identifier's missing characters compare below any digit, as in SQL)."""
    raw = subjects.view(np.uint8).reshape(-1, 18)
    key = raw[:, 14].astype(np.int64) * 256 + raw[:, 15]
    bounds = np.array([ord(q.lo[0]) * 256 + ord(q.lo[1]) for q in parts[1:] if q.lo], np.int64)
    if len(bounds) != len(parts) - 1:
        raise ValueError("parts must follow each other, bounded by two characters")
    out: npt.NDArray[np.intp] = np.searchsorted(bounds, key, side="right")
    return out


def _names(prefix: str, n: int) -> list[str]:
    """Parameter names of letters only (``_fetch`` names parameters ``[a-z_]+``)."""
    out = []
    for i in range(n):
        name = ""
        while True:
            i, r = divmod(i, 26)
            name += chr(ord("a") + r)
            if not i:
                break
        out.append(prefix + name)
    return out


def read_parts(
    conn: Connection,
    p: Period,
    parts: list[Part],
    events: EventRows,
    pack: RulePack,
    scratch: Path,
) -> RecordParts:
    """Scan ``records`` once (decided by the end of ``p``) into ``parts``' files in
    ``scratch``, taking the repeat-kind records' keys and cutting ``events`` on the way."""
    cats: dict[str, int] = {}
    auths: dict[str, int] = {}
    rep_cats = sorted(c.id for c in pack.categories.values() if c.term.repeat is not None)
    names = _names("rep_", len(rep_cats))
    case = (
        f"CASE WHEN category IN ({', '.join(':' + n for n in names)}) THEN case_number END"
        if rep_cats
        else "NULL"
    )
    sql = (
        f"SELECT id, subject_id, category, authority, {day_sql(conn, 'decision_date')}, "
        f"extension_years, {case} "
        "FROM records WHERE decision_date <= :last ORDER BY id"
    )
    last = _param(conn, EPOCH + dt.timedelta(days=p.last))
    params: dict[str, Any] = {"last": last, **dict(zip(names, rep_cats, strict=True))}
    files = [scratch / f"part{i:03d}.bin" for i in range(len(parts))]
    repeat: list[list[RepeatRow]] = [[] for _ in parts]
    # The events by record id, to give each the part of its record as the records pass.
    by_rid = np.argsort(events.record_id, kind="stable")
    rid_sorted = events.record_id[by_rid]
    event_part = np.full(len(events.record_id), -1, np.int16)
    with contextlib.ExitStack() as stack:
        out = [stack.enter_context(f.open("wb")) for f in files]
        for chunk in _fetch(conn, sql, params):
            i, s, c, a, d, e, k = zip(*chunk, strict=True)
            rows = np.empty(len(chunk), ROW)
            rows["id"] = i
            subj = subject_bytes(s)
            rows["subject"] = subj
            rows["category"] = [cats.setdefault(x, len(cats)) for x in c]
            rows["authority"] = [auths.setdefault(x, len(auths)) for x in a]
            rows["decision"] = d
            rows["extension"] = e
            part = _part_of(subj, parts)
            for j in np.flatnonzero(np.array([x is not None for x in k])).tolist():
                repeat[part[j]].append((int(i[j]), str(a[j]), str(k[j]), str(c[j])))
            order = np.argsort(part, kind="stable")
            cuts = np.searchsorted(part[order], np.arange(len(parts) + 1))
            by_part = rows[order]
            for q in range(len(parts)):
                if cuts[q] < cuts[q + 1]:
                    by_part[cuts[q] : cuts[q + 1]].tofile(out[q])
            # This chunk's records are the ids from its first to its last: their events
            # are one slice of the events by record id.
            ids = rows["id"]
            lo, hi = (
                np.searchsorted(rid_sorted, ids[0]),
                np.searchsorted(rid_sorted, ids[-1], "right"),
            )
            at = np.minimum(np.searchsorted(ids, rid_sorted[lo:hi]), len(ids) - 1)
            hit = ids[at] == rid_sorted[lo:hi]
            event_part[by_rid[lo:hi][hit]] = part[at[hit]]
    return RecordParts(parts, files, list(cats), list(auths), repeat, events, event_part)
