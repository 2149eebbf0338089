"""Resolution against the store: new records, duplicates, conflicts, events and their order."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from socialcredit.domain.records import Record
from socialcredit.registry.ingest.fields import (
    IntArray,
    as_np,
)
from socialcredit.registry.ingest.identifiers import Ids
from socialcredit.registry.ingest.validate import Validated
from socialcredit.store.codec import event_fingerprint, record_to_json
from socialcredit.store.ports import UnitOfWork


def _row_record(t: pa.Table, ids: Ids, ext: IntArray, i: int) -> Record:
    def get(f: str) -> Any:
        return t.column(f)[i].as_py()

    amount = get("amount_owed")
    return Record(
        authority=get("authority"),
        case_number=get("case_number"),
        category=get("category"),
        subject_id=get("subject_id"),
        subject_name=get("subject_name"),
        decision_date=dt.date.fromisoformat(get("decision_date")),
        legal_basis=get("legal_basis"),
        amount_owed=None if amount in (None, "") else Decimal(amount),
        extension_years=int(ext[i]),
        evidence_ref=get("evidence_ref") or None,
        legal_representative_id=get("legal_representative_id") or None,
        legal_representative_name=get("legal_representative_name") or None,
    )


@dataclass
class Plan:
    """What a batch will write: ids come from one sequence, in line order."""

    new_rows: IntArray  # rows that list a new record, ascending
    new_ids: IntArray  # their record ids (= sequence numbers of the listings)
    event_rows: IntArray  # accepted rows with other events, ascending
    event_ids: IntArray  # their sequence numbers
    record_id_of_row: IntArray
    payload: dict[int, str]
    fingerprint: dict[int, str]
    duplicates: int

    @property
    def accepted(self) -> int:
        return len(self.new_rows) + len(self.event_rows)


def _comparable(names: pa.Array) -> pa.Array:
    """Names as compared: NFKC (full-width forms fold), no whitespace at all."""
    nfkc = pc.utf8_normalize(pc.fill_null(names, ""), "NFKC")
    return pc.replace_substring_regex(nfkc, r"\s+", "")


def check_names(uow: UnitOfWork, v: Validated, *, strict: bool = False) -> int:
    """Lines whose name differs from the registry's name for their ID; how many.

    The registry's name is the stored subject's, or for an ID new to the registry the name on
    the batch's first line about it (the one ``columns.subjects`` stores). A differing line is
    accepted with a warning on its line (the record keeps the name as the authority sent it,
    the subject's file flags it, notices use the registry's name), or with ``strict`` refused.
    Set-wise: one look-up of the batch's distinct IDs, the comparison in Arrow.
    """
    t, chk = v.table, v.chk
    rows = np.flatnonzero(~chk.bad)
    if len(rows) == 0:
        return 0
    sel = pa.array(rows)
    ids = v.ids.value.take(sel)
    given = t.column("subject_name").combine_chunks().take(sel)
    norm = _comparable(given)
    named = as_np(pc.not_equal(norm, "")).astype(bool)
    uniq = pc.unique(ids)
    group = as_np(pc.index_in(ids, value_set=uniq)).astype(np.int64)
    stored_ids, stored_names = uow.subjects.names(uniq.to_pylist())
    # The first named line of each ID (np.unique keeps first positions, rows in line order).
    first = np.full(len(uniq), -1, dtype=np.int64)
    g_named = group[named]
    ug, pos = np.unique(g_named, return_index=True)
    first[ug] = np.flatnonzero(named)[pos]
    # The registry's name per distinct ID: the stored one, else the first named line's,
    # else none (""), as whole columns.
    at = pc.index_in(uniq, value_set=pa.array(stored_ids, pa.string()))
    held = pa.array(stored_names, pa.string()).take(at)
    firsts = pa.array(first, mask=first < 0).cast(pa.int64())
    reg_raw = pc.fill_null(pc.if_else(pc.is_valid(at), held, given.take(firsts)), "")
    reg_norm = _comparable(reg_raw)
    expected = reg_norm.take(pa.array(group))
    differs = named & as_np(pc.not_equal(norm, expected)).astype(bool)
    differs &= as_np(pc.not_equal(expected, "")).astype(bool)
    for j in np.flatnonzero(differs).tolist():
        i, name, theirs = int(rows[j]), given[j].as_py(), reg_raw[int(group[j])].as_py()
        if strict:
            chk.add(
                i,
                "subject_name",
                f"differs from the registry's name for this ID ({theirs}); refused "
                "(strict names): check the ID, or correct the name",
                name,
            )
        else:
            chk.warn(
                i,
                "subject_name",
                f"differs from the registry's name for this ID ({theirs}); accepted and "
                "flagged; notices use the registry's name",
                name,
            )
    return int(differs.sum())


def plan(uow: UnitOfWork, v: Validated, *, strict_names: bool = False) -> Plan:
    check_names(uow, v, strict=strict_names)
    t, chk = v.table, v.chk
    n = t.num_rows
    rows = np.arange(n, dtype=np.int64)
    good = ~chk.bad
    is_listed = v.event == "listed"
    key = pc.binary_join_element_wise(t.column("authority"), t.column("case_number"), "\x1f")
    enc = pc.dictionary_encode(key)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    idx = as_np(pc.fill_null(enc.indices, -1)).astype(np.int64)
    nkeys = len(enc.dictionary)

    grows = rows[good]
    uniq, first_pos = np.unique(idx[grows], return_index=True)
    first_rows = grows[first_pos]
    existing = uow.ingest.existing_records(
        t.column("authority").take(pa.array(first_rows)).to_pylist(),
        t.column("case_number").take(pa.array(first_rows)).to_pylist(),
    )
    store_rid = np.zeros(nkeys, dtype=np.int64)
    store_rec: dict[int, Record] = {}
    if existing:
        refs = list(existing)
        at = as_np(
            pc.index_in(
                pa.array([f"{r.authority}\x1f{r.case_number}" for r in refs]),
                value_set=enc.dictionary,
            )
        )
        for k, ref in zip(at, refs, strict=True):
            store_rid[int(k)] = existing[ref].id
            store_rec[int(k)] = existing[ref].record

    first_listed = np.full(nkeys, -1, dtype=np.int64)
    lrows = rows[good & is_listed]
    lu, lpos = np.unique(idx[lrows], return_index=True)
    first_listed[lu] = lrows[lpos]
    new = good & is_listed & (store_rid[np.maximum(idx, 0)] == 0)
    new &= first_listed[np.maximum(idx, 0)] == rows
    duplicates = 0
    batch_rec: dict[int, Record] = {}

    def record_of_key(k: int) -> Record:
        if k in store_rec:
            return store_rec[k]
        if k not in batch_rec:
            batch_rec[k] = _row_record(t, v.ids, v.ext, int(first_listed[k]))
        return batch_rec[k]

    for i in np.flatnonzero(good & is_listed & ~new):
        k = int(idx[i])
        if _row_record(t, v.ids, v.ext, int(i)) == record_of_key(k):
            duplicates += 1
        else:
            where = (
                "in the registry" if k in store_rec else f"on line {v.chk.lines[first_listed[k]]}"
            )
            chk.add(
                int(i),
                "case_number",
                f"conflicts with the record listed {where} under this "
                "case number; send a corrected event to change it",
                t.column("case_number")[int(i)].as_py(),
            )

    ev_rows = np.flatnonzero(good & ~is_listed)
    # Records new in this file have no id yet: events are matched to records by key index.
    key_of_rid = {int(store_rid[k]): k for k in {int(idx[i]) for i in ev_rows} if store_rid[k]}
    seen = {
        (key_of_rid[rid], fp) for rid, fp in uow.ingest.existing_fingerprints(sorted(key_of_rid))
    }
    accepted_events: list[int] = []
    payload: dict[int, str] = {}
    fingerprint: dict[int, str] = {}
    col = {f: t.column(f) for f in ("event_date", "reason", "case_number")}
    for r in ev_rows.tolist():
        k = int(idx[r])
        if store_rid[k] == 0 and not (0 <= first_listed[k] < r and new[first_listed[k]]):
            chk.add(
                r,
                "case_number",
                "no record is listed under this case number by this "
                "authority, in the registry or earlier in this file",
                col["case_number"][r].as_py(),
            )
            continue
        current = record_of_key(k)
        day = col["event_date"][r].as_py()
        if dt.date.fromisoformat(day) < current.decision_date:
            chk.add(
                r,
                "event_date",
                f"is before the decision date {current.decision_date.isoformat()} of the record",
                day,
            )
            continue
        body = None
        if v.event[r] == "corrected":
            rec = _row_record(t, v.ids, v.ext, r)
            if (rec.subject_id, rec.legal_representative_id) != (
                current.subject_id,
                current.legal_representative_id,
            ):
                chk.add(
                    r,
                    "subject_id",
                    "a correction cannot change whom the record is about; "
                    "withdraw it (listed_in_error) and list a new record",
                    rec.subject_id,
                )
                continue
            body = record_to_json(rec)
        fp = event_fingerprint(str(v.event[r]), day, col["reason"][r].as_py(), body)
        if (k, fp) in seen:
            duplicates += 1
            continue
        seen.add((k, fp))
        accepted_events.append(r)
        fingerprint[r] = fp
        if body is not None:
            payload[r] = body
    # One sequence for listings and events, in line order: a record's id is the sequence
    # number of its listing, so replaying by (date, seq) follows acceptance order.
    new_rows = np.flatnonzero(new).astype(np.int64)
    event_rows = np.array(accepted_events, dtype=np.int64)
    accepted = np.zeros(n, dtype=np.bool_)
    accepted[new_rows] = True
    accepted[event_rows] = True
    seq = uow.ingest.next_seq() - 1 + np.cumsum(accepted, dtype=np.int64)
    rid_of_key = store_rid.copy()
    rid_of_key[idx[new_rows]] = seq[new_rows]
    record_id_of_row = np.where(idx >= 0, rid_of_key[np.maximum(idx, 0)], 0)
    return Plan(
        new_rows,
        seq[new_rows],
        event_rows,
        seq[event_rows],
        record_id_of_row,
        payload,
        fingerprint,
        duplicates,
    )
