"""Synthetic inputs for the scoring pilots: where people live, and a year of scoring-only
records for the residents of programme regions (demo and benchmarks; deterministic per seed).

Residence: most people live where their ID was issued, since birth or since a move back;
a seeded share moves into each programme region so that a small population still has a few
thousand residents under each programme (Rongcheng, 371082, has about 0.05% of China's
people, so at its true share a 100,000-person demo would score fifty). Of those who moved in,
about 8% arrived less than a year ago and are not eligible yet.

Records: per adult resident of a programme region and year, illustrative rates (no national
figure exists for these categories): blood donors 6% and volunteers 4% (one to four or five
certificates a year each), late utility
fees 3% (70% paid within two months), card arrears 1.5% (half paid), contract default 1%,
utility arrears confirmed by a court 0.3%, commercial fraud, counterfeit goods and utility
theft 0.1% each, pyramid selling and illegal fund-raising 0.05% each, damaging utility
equipment 0.02%. Every record comes from an authority of a kind the category allows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from socialcredit.domain.records import Authority
from socialcredit.runtime.registry import Registry
from socialcredit.scoring import (
    Residence,
    config,
    enabled,
    recompute_months,
    write_residences,
)

I64 = npt.NDArray[np.int64]
EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class Region:
    prefix: str  # the programme's region prefix
    counties: tuple[str, ...]  # where movers settle
    share: float  # of the population moved in
    court: str  # the authority code of the local court
    abbr: str  # province abbreviation in case numbers
    code: str  # short code for local authorities
    name: str


REGIONS = (
    Region("371082", ("371082",), 0.015, "SPC-SD-LX", "鲁", "RC", "荣成市"),
    Region(
        "3213", ("321302", "321311", "321322", "321323", "321324"), 0.025, "SPC-JS-XW", "苏",
        "SQ", "宿迁市",
    ),
)  # fmt: skip

# category -> (rate per adult resident a year, authority kind, share fulfilled, mean days to pay)
RATES: dict[str, tuple[float, str, float, int]] = {
    "civic.blood_donation": (0.06, "health", 0.0, 0),
    "civic.volunteer": (0.04, "civil_affairs", 0.0, 0),
    "utility.late_fees": (0.03, "utility_regulator", 0.7, 25),
    "finance.card_arrears": (0.015, "court", 0.5, 90),
    "credit.contract_default": (0.01, "court", 0.3, 60),
    "utility.arrears_court": (0.003, "court", 0.4, 45),
    "market.commercial_fraud": (0.001, "market", 0.0, 0),
    "market.counterfeit_goods": (0.001, "market", 0.0, 0),
    "utility.theft": (0.001, "utility_regulator", 0.0, 0),
    "market.pyramid_selling": (0.0005, "market", 0.0, 0),
    "finance.illegal_fundraising": (0.0005, "court", 0.0, 0),
    "utility.equipment_damage": (0.0002, "police", 0.0, 0),
}
REPEAT = {"civic.blood_donation": 4, "civic.volunteer": 5}  # at most this many a year each
LOCAL_KINDS = {
    "health": "卫生健康委员会",
    "civil_affairs": "民政局",
    "utility_regulator": "城市管理局",
    "police": "公安局",
}


def local_authorities(categories: Mapping[str, frozenset[str]]) -> list[Authority]:
    """The local authorities of each programme region (``categories``: kind -> categories)."""
    return [
        Authority(f"{r.code}-{kind.upper().replace('_', '')}", r.name + name, kind,
                  categories.get(kind, frozenset()))
        for r in REGIONS
        for kind, name in LOCAL_KINDS.items()
    ]  # fmt: skip


def residences(
    subject_ids: Sequence[str], birth_days: I64, on: dt.date, seed: int
) -> tuple[list[str], I64]:
    """(region code, resident-since day) per person; -1 day means unknown."""
    rng = np.random.default_rng([seed, 4004])
    n = len(subject_ids)
    region = [s[:6] for s in subject_ids]
    on_d = (on - EPOCH).days
    adult = birth_days + 18 * 365
    # Since birth (60%), or since a move back as an adult (35%), or unknown (5%).
    u = rng.random(n)
    back = np.minimum(on_d, adult + (rng.random(n) * np.maximum(on_d - adult, 0)).astype(np.int64))
    since = np.where(u < 0.6, birth_days, np.where(u < 0.95, back, -1)).astype(np.int64)
    taken = np.zeros(n, dtype=bool)
    for r in REGIONS:
        k = int(round(n * r.share))
        free = np.flatnonzero(~taken & (adult <= on_d))
        pick = rng.choice(free, size=min(k, len(free)), replace=False)
        taken[pick] = True
        counties = rng.integers(0, len(r.counties), len(pick))
        for i, c in zip(pick.tolist(), counties.tolist(), strict=True):
            region[i] = r.counties[c]
        # 8% arrived in the last year; the rest up to twenty years ago.
        years = np.where(
            rng.random(len(pick)) < 0.08, rng.random(len(pick)), rng.random(len(pick)) * 20
        )
        since[pick] = np.maximum(on_d - (years * 365.25).astype(np.int64), adult[pick])
    return region, since


def scoring_records(
    subject_ids: Sequence[str],
    names: Sequence[str],
    region: Sequence[str],
    birth_days: I64,
    authorities: Sequence[Authority],
    year: int,
    on: dt.date,
    seed: int,
    schema: pa.Schema,
    legal_basis: Mapping[str, str],
) -> pa.Table:
    """A year of scoring-only records (and their payments) in the ingest format."""
    rng = np.random.default_rng([seed, year, 4005])
    start = dt.date(year, 1, 1)
    end = min(dt.date(year, 12, 31), on)
    span = np.arange(np.datetime64(start), np.datetime64(end) + 1)
    workdays = (span[np.is_busday(span)] - np.datetime64(EPOCH)).astype(np.int64)
    if len(workdays) == 0:
        return schema.empty_table()
    jan1 = (start - EPOCH).days
    by_kind: dict[tuple[str, str], str] = {}
    for a in authorities:
        by_kind.setdefault((a.code.split("-")[0], a.kind), a.code)
    rows: dict[str, list[object]] = {f.name: [] for f in schema}
    seq = 0
    for r in REGIONS:
        live = [i for i, c in enumerate(region) if c.startswith(r.prefix)]
        adults = np.array([i for i in live if birth_days[i] + 18 * 365.25 + 1 <= jan1], np.int64)
        if len(adults) == 0:
            continue
        for cat, (rate, kind, paid, mean) in RATES.items():
            k = int(rng.binomial(len(adults), rate))
            if k == 0:
                continue
            who = adults[rng.integers(0, len(adults), k)]
            if cat in REPEAT:  # regular donors and volunteers: several certificates a year
                who = np.repeat(who, rng.integers(1, REPEAT[cat] + 1, k))
                k = len(who)
            days = np.sort(workdays[rng.integers(0, len(workdays), k)])
            auth = r.court if kind == "court" else by_kind.get((r.code, kind), "SAMR")
            pays = rng.random(k) < paid
            delay = 3 + rng.exponential(mean or 1, k).astype(np.int64)
            for x, (i, d) in enumerate(zip(who.tolist(), days.tolist(), strict=True)):
                seq += 1
                case = (
                    f"({year}){r.abbr}{region[i][2:6]}民初{90000 + seq}号"
                    if kind == "court"
                    else f"{auth}〔{year}〕{seq:06d}号"
                )
                day = EPOCH + dt.timedelta(days=d)
                for f in schema.names:
                    rows[f].append(None)
                rows["event"][-1] = "listed"
                rows["authority"][-1] = auth
                rows["case_number"][-1] = case
                rows["event_date"][-1] = day
                rows["category"][-1] = cat
                rows["subject_id"][-1] = subject_ids[i]
                rows["subject_name"][-1] = names[i]
                rows["decision_date"][-1] = day
                rows["legal_basis"][-1] = legal_basis[cat]
                rows["extension_years"][-1] = 0
                if pays[x] and d + int(delay[x]) <= (end - EPOCH).days:
                    for f in schema.names:
                        rows[f].append(None)
                    rows["event"][-1] = "fulfilled"
                    rows["authority"][-1] = auth
                    rows["case_number"][-1] = case
                    rows["event_date"][-1] = day + dt.timedelta(days=int(delay[x]))
    table = pa.table(rows, schema=schema)
    order = np.argsort(table.column("event_date").cast(pa.int32()).to_numpy(), kind="stable")
    return table.take(pa.array(order))


def populate_scoring(
    reg: Registry,
    subjects: Any,
    *,
    year: int,
    seed: int,
    today: dt.date,
) -> dict[str, Any]:
    """For ``socialcredit generate``: residences of the generated persons, a year of
    scoring-only records for residents of programme regions (ingested like any batch, from
    local authorities registered here), and month-end score history for the year.

    ``subjects`` is the generated population's Arrow table (``subject_id``, ``kind``,
    ``name``, ``birth_date``). Does nothing but residences when no programme is in force.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from socialcredit.registry import add_authority, ingest_table
    from socialcredit.synthetic.lines import SCHEMA

    on = min(today, dt.date(year, 12, 31))
    persons = subjects.filter(pc.equal(subjects.column("kind"), "person"))
    ids: list[str] = persons.column("subject_id").to_pylist()
    born = persons.column("birth_date").cast(pa.int32()).to_numpy().astype(np.int64)
    region, since = residences(ids, born, on, seed)
    rows = [
        Residence(s, r, None if d < 0 else EPOCH + dt.timedelta(days=int(d)))
        for s, r, d in zip(ids, region, since.tolist(), strict=True)
    ]
    with reg.engine.begin() as conn:
        write_residences(conn, rows)
        cfg = config(reg, conn)
    out: dict[str, Any] = {"residences": len(rows)}
    if not enabled(cfg):
        return out
    kinds: dict[str, frozenset[str]] = {}
    for c in reg.pack.categories.values():
        for k in c.authority_kinds:
            kinds[k] = kinds.get(k, frozenset()) | {c.id}
    local = local_authorities(kinds)
    with reg.uow() as uow:
        for a in local:
            if uow.authorities.get(a.code) is None:
                add_authority(uow, a)
        uow.commit()
    basis = {c.id: c.legal_basis for c in reg.pack.categories.values()}
    names: list[str] = persons.column("name").to_pylist()
    table = scoring_records(ids, names, region, born, local, year, on, seed, SCHEMA, basis)
    report = ingest_table(
        reg.uow(),
        table,
        source=f"synthetic scoring records seed={seed} year={year}",
        pack=reg.pack,
        today=today,
    )
    history = recompute_months(reg, year, on)
    out |= {
        "scoring_records_accepted": report.accepted,
        "scoring_records_rejected": len(report.rejected),
        "programmes": sorted({h["programme"] for h in history}),
        "history_rows": sum(h["history_rows_written"] for h in history),
    }
    return out
