"""The ingest-format lines (``docs/ingest-format.md``) as Arrow: the schema, the ``listed``
line of each record with its case number and evidence reference, and the final order of a
batch's lines.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from socialcredit.domain.records import Authority
from socialcredit.domain.rules import RulePack
from socialcredit.registry import PROVINCES, court_county, load_regions
from socialcredit.synthetic.columns import I64, B, _court_province, _Listed
from socialcredit.synthetic.population import Population

# National authorities and the reference courts. Court codes are SPC-<province>-<district>.
# Decision-number styles: {p} is the subject's province abbreviation, {y} the year.
CASE_STYLES = {
    "STA": "{p}税稽罚〔{y}〕", "CAAC": "民航公安罚〔{y}〕", "CR": "铁路失信〔{y}〕",
    "MPS-RAIL": "铁公(治)罚〔{y}〕", "MOHRSS": "人社监罚〔{y}〕", "CSRC": "证监罚字〔{y}〕",
    "SAMR": "{p}市监罚〔{y}〕", "MOF": "财监〔{y}〕",
}  # fmt: skip


SCHEMA = pa.schema(
    [
        ("event", pa.string()),
        ("authority", pa.string()),
        ("case_number", pa.string()),
        ("event_date", pa.date32()),
        ("category", pa.string()),
        ("subject_id", pa.string()),
        ("subject_name", pa.string()),
        ("decision_date", pa.date32()),
        ("legal_basis", pa.string()),
        ("amount_owed", pa.decimal128(18, 2)),
        ("extension_years", pa.int32()),
        ("evidence_ref", pa.string()),
        ("legal_representative_id", pa.string()),
        ("legal_representative_name", pa.string()),
        ("reason", pa.string()),
    ]
)


EVENT_RANK = {"listed": 0, "corrected": 1, "fulfilled": 2, "withdrawn": 2, "repaired": 2}


def _dates(days: I64) -> pa.Array:
    return pa.array(days.astype(np.int32), pa.int32()).cast(pa.date32())


def _decimal_cents(cents: I64, valid: B) -> pa.Array:
    """int64 cents -> decimal128(18, 2) built from its 128-bit little-endian buffer."""
    n = len(cents)
    words = np.zeros((n, 2), dtype=np.int64)
    words[:, 0] = np.where(valid, cents, 0)
    validity = None if valid.all() else pa.array(valid).buffers()[1]
    return pa.Array.from_buffers(pa.decimal128(18, 2), n, [validity, pa.py_buffer(words.tobytes())])


def _case_heads(auths: Sequence[Authority], year: int) -> tuple[list[str], list[bool], list[str]]:
    """Per authority: text before the subject's province abbreviation, whether it is used,
    and text after it; the sequence number and 号 follow."""
    regions = load_regions()
    before, uses_p, after = [], [], []
    for a in auths:
        if a.kind == "court":
            county = court_county(a.code)
            prov = f"{_court_province(a.code) or 0:02d}"
            abbr = PROVINCES.get(prov, (0.0, "", ""))[1]
            digits = county[2:] if county and county in regions.names else "01"
            before.append(f"({year}){abbr}{digits}执")
            uses_p.append(False)
            after.append("")
            continue
        style = CASE_STYLES.get(a.code, f"{a.code}〔{{y}}〕")
        head, _, tail = style.partition("{p}")
        if not _:
            head, tail = "", style
        before.append(head.format(y=year))
        uses_p.append(bool(_))
        after.append(tail.format(y=year))
    return before, uses_p, after


def _listed_table(
    population: Population,
    pack: RulePack,
    auths: Sequence[Authority],
    cat_ids: Sequence[str],
    r: _Listed,
    province: I64,
    year: int,
) -> pa.Table:
    n = len(r.cat)
    subjects = population.subjects
    subj = pa.array(r.subj)
    codes = pa.array([a.code for a in auths])
    auth = pa.array(r.auth)
    before, uses_p, after = _case_heads(auths, year)
    abbr_lut = [""] * 100
    for code, (_, abbr, _) in PROVINCES.items():
        abbr_lut[int(code)] = abbr
    prov_abbr = pa.array(abbr_lut).take(pa.array(np.clip(province, 0, 99)))
    p_part = pc.if_else(pa.array(uses_p).take(auth), prov_abbr, "")
    seq = pc.cast(pa.array(r.seq), pa.string())
    case = pc.binary_join_element_wise(
        pa.array(before).take(auth), p_part, pa.array(after).take(auth), seq, "号", ""
    )
    evidence = pc.binary_join_element_wise(codes.take(auth), str(year), seq, "/")
    rep_rows = np.full(n, -1, dtype=np.int64)
    rep_rows[r.ent] = population.legal_rep_rows[r.subj[r.ent] - population.individuals]
    rep_idx = pa.array(rep_rows, mask=~r.ent)
    day = _dates(r.day)
    return pa.table(
        {
            "event": pa.nulls(n, pa.string()).fill_null("listed"),
            "authority": codes.take(auth),
            "case_number": case,
            "event_date": day,
            "category": pa.array(list(cat_ids)).take(pa.array(r.cat)),
            "subject_id": subjects.column("subject_id").take(subj),
            "subject_name": subjects.column("name").take(subj),
            "decision_date": day,
            "legal_basis": pa.array([pack.category(c).legal_basis for c in cat_ids]).take(
                pa.array(r.cat)
            ),
            "amount_owed": _decimal_cents(r.cents, r.has_amount),
            "extension_years": pa.array(r.ext.astype(np.int32)),
            "evidence_ref": evidence,
            "legal_representative_id": subjects.column("subject_id").take(rep_idx),
            "legal_representative_name": subjects.column("name").take(rep_idx),
            "reason": pa.nulls(n, pa.string()),
        },
        schema=SCHEMA,
    )


def _sorted_lines(tables: list[pa.Table], rec: I64) -> pa.Table:
    """Lines by event date, then listed before corrected before removals, then record."""
    out = pa.concat_tables(tables).combine_chunks()
    ev_day = out.column("event_date").cast(pa.int32()).to_numpy().astype(np.int64)
    ranks = np.array(list(EVENT_RANK.values()), dtype=np.int64)
    rank = ranks[pc.index_in(out.column("event"), pa.array(list(EVENT_RANK))).to_numpy()]
    # One int64 sort key: event date, then listed before corrected before removals, then
    # the record (days < 2**23, records < 2**36).
    key = ((ev_day - ev_day.min()) << 40) | (rank << 36) | rec
    return out.take(pa.array(np.argsort(key)))
