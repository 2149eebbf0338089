"""A synthetic year of records in the ingest format (``docs/ingest-format.md``).

Rates follow DOMAIN.md section 7 (NPCIC report, February 2019): 14.21 million records of
dishonest conduct a year for about 990 million individuals and 25.91 million enterprises. Our
split of those 14.21 million (national figures a year; the published report gives only the
total and the 2.614 million new judgment defaulters, the rest is a plausible assumption):

====================================  ==========  ===========  ================================
category                              per year    enterprises  later events within the year
====================================  ==========  ===========  ================================
court defaulters, 6 grounds           2,614,000   12%          ~60% removed: 62% ``fulfilled``
  (1) refuses 72%, (2) obstructs 3%,                           (+3 days to months), 7%
  (3) evades 6%, (4) asset reporting                           ``withdrawn`` with a reason,
  14%, (5) consumption order 3%,                               cut off at the year's end;
  (6) settlement 2%                                            12% of grounds 2-6 extended 1-3y
court exit restrictions                 120,000   persons      40% fulfilled, 5% withdrawn
air category A, 9 conduct types         30,000    persons      1% withdrawn (no fulfilment)
rail, 7 conduct types                   350,000   persons      fare types (4-6) 85% paid after
  fare evasion 35%, invalid ticket 15%,                        1-40 days; 5% of fare records
  discount-ID misuse 10%, EMU smoking                          are repeat offenders
  25%, disorder/scalping/other 5% each
category B: tax 120k, social            210,000   40-90%       30% paid, 2% withdrawn
  insurance 60k, securities 10k,
  government funds 20k
administrative penalties, tiered     10,886,000   55-65%       minor 15% and general 5%
  minor 60%, general 30%, serious 10%                          ``repaired`` after the minimum
                                                               publication period
**total of dishonest conduct**       14,210,000
A-grade taxpayer redlist (extra)        260,000   100%         none
====================================  ==========  ===========  ================================

Every listed record may also be ``corrected`` (0.5%: the amount or the decision reference
fixed, 1-20 days after the decision). Events that would fall after the end of the year or after
``on`` have not happened yet and are left out.

Scale: ``scale`` multiplies the national figures. By default it is the population's share of
the national one, and persons' and enterprises' records are scaled separately by their own
counts (individuals / 990M, enterprises / 25.91M), so a population with few enterprises gets
few enterprise records. Fractional expected counts are rounded stochastically (seeded).

Validity by construction: the authority is one allowed the category (the pack decides, through
``authority_kinds``); a court is the subject's provincial one when there is one; the subject's
kind is allowed by the category; persons are adults on 1 January of the year, so never minors on
the decision date; decisions fall on working days of the year and not after ``on``; events
come after the decision; case numbers are unique per authority and increase with the date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from socialcredit.domain.records import Authority
from socialcredit.domain.rules import RulePack, TermKind
from socialcredit.registry import PROVINCES, court_county, load_regions, reference_authorities
from socialcredit.rulepacks import load_rulepack
from socialcredit.synthetic.population import (
    EPOCH,
    Population,
    Progress,
    _steps,
    _years_before,
)

I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

NATIONAL_INDIVIDUALS = 990_000_000
NATIONAL_ENTERPRISES = 25_910_000
NATIONAL_RECORDS = 14_210_000
NEW_COURT_DEFAULTERS = 2_614_000

COURT_GROUNDS = {
    "court.defaulter.refuses": 0.72,
    "court.defaulter.obstructs": 0.03,
    "court.defaulter.evades": 0.06,
    "court.defaulter.asset_reporting": 0.14,
    "court.defaulter.consumption_order": 0.03,
    "court.defaulter.settlement": 0.02,
}
AIR_A = {
    "air.prohibited_items": 0.30, "air.disorder_aboard": 0.20, "air.smoking_or_devices": 0.20,
    "air.false_documents": 0.10, "air.assaulting_crew": 0.07, "air.storming_checkpoints": 0.05,
    "air.theft_aboard": 0.04, "air.forced_boarding": 0.02, "air.false_terror_information": 0.02,
}  # fmt: skip
RAIL = {
    "rail.fare_evasion": 0.35, "rail.invalid_ticket": 0.15, "rail.discount_id_misuse": 0.10,
    "rail.smoking_on_emu": 0.25, "rail.disrupting_order": 0.05, "rail.scalping": 0.05,
    "rail.other_penalty": 0.05,
}  # fmt: skip
CAT_B = {
    "tax.major_offender": 120_000,
    "social_insurance.serious_violation": 60_000,
    "securities.unpaid_fine": 10_000,
    "finance.government_funds_fraud": 20_000,
}
ADMIN_TIERS = {
    "admin_penalty.minor": 0.6,
    "admin_penalty.general": 0.3,
    "admin_penalty.serious": 0.1,
}
EXIT_RESTRICTIONS = 120_000
AIR_A_TOTAL = 30_000
RAIL_TOTAL = 350_000
REDLIST = 260_000


@dataclass(frozen=True)
class Profile:
    """How one category is generated: national count a year and what happens next."""

    national: float
    enterprise_share: float = 0.0
    amount: tuple[float, float, float, float] | None = None  # person/enterprise median, sigma
    fulfil: float = 0.0
    fulfil_delay: tuple[int, float] = (3, 60.0)  # minimum days, mean of the exponential part
    withdraw: float = 0.01
    withdraw_reasons: tuple[tuple[str, float], ...] = (
        ("listed_in_error", 0.5),
        ("objection_upheld", 0.4),
        ("other", 0.1),
    )
    repair: float = 0.0
    extension: float = 0.0
    working_age: bool = True  # persons drawn from 22-70 (else 18-80)
    correct: float = 0.005


COURT_REASONS = (
    ("creditor_withdrew", 0.25),
    ("no_assets_found", 0.30),
    ("enforcement_suspended", 0.10),
    ("enforcement_terminated", 0.20),
    ("judgment_not_enforced", 0.05),
    ("listed_in_error", 0.05),
    ("objection_upheld", 0.05),
)


def _profiles() -> dict[str, Profile]:
    p: dict[str, Profile] = {}
    for cid, share in COURT_GROUNDS.items():
        p[cid] = Profile(
            NEW_COURT_DEFAULTERS * share,
            enterprise_share=0.05 if cid.endswith("obstructs") else 0.12,
            amount=(60_000, 600_000, 1.3, 1.5),
            fulfil=0.62,
            withdraw=0.07,
            withdraw_reasons=COURT_REASONS,
            extension=0.0 if cid.endswith("refuses") else 0.12,
        )
    p["court.exit_restriction"] = Profile(
        EXIT_RESTRICTIONS, amount=(200_000, 0, 1.2, 1), fulfil=0.4, withdraw=0.05,
        withdraw_reasons=COURT_REASONS,
    )  # fmt: skip
    for cid, share in AIR_A.items():
        p[cid] = Profile(AIR_A_TOTAL * share, working_age=False)
    for cid, share in RAIL.items():
        paid = cid in ("rail.fare_evasion", "rail.invalid_ticket", "rail.discount_id_misuse")
        p[cid] = Profile(
            RAIL_TOTAL * share,
            amount=(120, 0, 0.8, 1) if paid else None,
            fulfil=0.85 if paid else 0.0,
            fulfil_delay=(1, 10.0),
            working_age=False,
        )
    shares = {
        "tax.major_offender": (0.75, (300_000, 1_200_000, 1.0, 1.2)),
        "social_insurance.serious_violation": (0.9, (50_000, 150_000, 1.0, 1.2)),
        "securities.unpaid_fine": (0.4, (500_000, 2_000_000, 1.2, 1.2)),
        "finance.government_funds_fraud": (0.8, (200_000, 800_000, 1.0, 1.2)),
    }
    for cid, n in CAT_B.items():
        ent, amount = shares[cid]
        p[cid] = Profile(
            n, enterprise_share=ent, amount=amount, fulfil=0.3, fulfil_delay=(7, 90.0),
            withdraw=0.02,
        )  # fmt: skip
    admin_total = (
        NATIONAL_RECORDS - NEW_COURT_DEFAULTERS - EXIT_RESTRICTIONS - AIR_A_TOTAL - RAIL_TOTAL
        - sum(CAT_B.values())
    )  # fmt: skip
    admin = {
        "admin_penalty.minor": (0.55, (2_000, 5_000, 0.9, 1.0), 0.15),
        "admin_penalty.general": (0.60, (20_000, 50_000, 1.0, 1.0), 0.05),
        "admin_penalty.serious": (0.65, (200_000, 500_000, 1.0, 1.2), 0.0),
    }
    for cid, tier_share in ADMIN_TIERS.items():
        ent, amount, repair = admin[cid]
        p[cid] = Profile(
            admin_total * tier_share, enterprise_share=ent, amount=amount, repair=repair
        )
    p["redlist.a_grade_taxpayer"] = Profile(REDLIST, enterprise_share=1.0, withdraw=0.0, correct=0)
    return p


PROFILES = _profiles()

# Authority kinds each category prefers when several may submit it (others weigh 1).
KIND_WEIGHTS: dict[str, dict[str, float]] = {
    "air.": {"aviation": 1.0, "police": 0.0},
    "rail.fare_evasion": {"rail": 1.0, "police": 0.0},
    "rail.invalid_ticket": {"rail": 1.0, "police": 0.0},
    "rail.discount_id_misuse": {"rail": 1.0, "police": 0.0},
    "rail.": {"rail": 0.5, "police": 0.5},
    "admin_penalty.": {"market": 0.8, "tax": 0.2, "environment": 0.1, "customs": 0.05},
    "finance.": {"finance": 1.0, "audit": 0.3},
}

# National authorities and the reference courts. Court codes are SPC-<province>-<district>.
# Decision-number styles: {p} is the subject's province abbreviation, {y} the year.
CASE_STYLES = {
    "STA": "{p}税稽罚〔{y}〕", "CAAC": "民航公安罚〔{y}〕", "CR": "铁路失信〔{y}〕",
    "MPS-RAIL": "铁公(治)罚〔{y}〕", "MOHRSS": "人社监罚〔{y}〕", "CSRC": "证监罚字〔{y}〕",
    "SAMR": "{p}市监罚〔{y}〕", "MOF": "财监〔{y}〕",
}  # fmt: skip
_LATIN_TO_PROVINCE = {latin: code for code, (_, _, latin) in PROVINCES.items()}


REFERENCE_AUTHORITIES: list[Authority] = reference_authorities(load_rulepack())

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


def _stochastic_round(rng: np.random.Generator, x: float) -> int:
    base = int(np.floor(x))
    return base + int(rng.random() < x - base)


def _groups(keys: I64, k: int) -> list[I64]:
    """Row indices per key value 0..k-1 (a stable radix sort on small keys)."""
    order = np.argsort(keys.astype(np.int16), kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(keys, minlength=k))])
    return [order[bounds[i] : bounds[i + 1]] for i in range(k)]


def _working_days(start: dt.date, end: dt.date) -> I64:
    """Day numbers (since 1970) of working days in [start, end]: the official calendar where
    chinese-calendar knows the year, else Monday to Friday."""
    try:
        import chinese_calendar

        days = list(chinese_calendar.get_workdays(start, end))
    except NotImplementedError:
        days = []
    if days:
        return np.array([(d - EPOCH).days for d in days], dtype=np.int64)
    span = np.arange(np.datetime64(start), np.datetime64(end) + 1)
    busy = span[np.is_busday(span)]
    return (busy if len(busy) else span).astype(np.int64)


def _dates(days: I64) -> pa.Array:
    return pa.array(days.astype(np.int32), pa.int32()).cast(pa.date32())


def _decimal_cents(cents: I64, valid: B) -> pa.Array:
    """int64 cents -> decimal128(18, 2) built from its 128-bit little-endian buffer."""
    n = len(cents)
    words = np.zeros((n, 2), dtype=np.int64)
    words[:, 0] = np.where(valid, cents, 0)
    validity = None if valid.all() else pa.array(valid).buffers()[1]
    return pa.Array.from_buffers(pa.decimal128(18, 2), n, [validity, pa.py_buffer(words.tobytes())])


def _kind_weight(cid: str, kind: str) -> float:
    keys = sorted((k for k in KIND_WEIGHTS if cid == k or cid.startswith(k)), key=len)
    return KIND_WEIGHTS[keys[-1]].get(kind, 1.0) if keys else 1.0


def _court_province(code: str) -> int | None:
    parts = code.split("-")
    if len(parts) >= 2 and parts[0] == "SPC" and parts[1] in _LATIN_TO_PROVINCE:
        return int(_LATIN_TO_PROVINCE[parts[1]])
    return None


def _pick_authorities(
    rng: np.random.Generator,
    auths: Sequence[Authority],
    cat_ids: Sequence[str],
    cat: I64,
    province: I64,
) -> I64:
    """An authority per record: allowed the category; courts from the subject's province."""
    out = np.zeros(len(cat), dtype=np.int64)
    for ci, rows in enumerate(_groups(cat, len(cat_ids))):
        if len(rows) == 0:
            continue
        cands = [i for i, a in enumerate(auths) if a.may_submit(cat_ids[ci])]
        courts = [i for i in cands if auths[i].kind == "court"]
        if courts and len(courts) == len(cands):
            choice = np.array(courts)[rng.integers(0, len(courts), len(rows))]
            by_prov: dict[int, list[int]] = {}
            for i in courts:
                prov = _court_province(auths[i].code)
                if prov is not None:
                    by_prov.setdefault(prov, []).append(i)
            for prov, local in sorted(by_prov.items()):
                m = province[rows] == prov
                choice[m] = np.array(local)[rng.integers(0, len(local), int(m.sum()))]
            out[rows] = choice
            continue
        w = np.array([_kind_weight(cat_ids[ci], auths[i].kind) for i in cands])
        w = w if w.sum() > 0 else np.ones(len(cands))
        out[rows] = np.array(cands)[rng.choice(len(cands), size=len(rows), p=w / w.sum())]
    return out


def _repeat_fare_offenders(
    rng: np.random.Generator, cat_ids: Sequence[str], cat: I64, subj: I64
) -> None:
    """Give 5% of fare records the subject of another fare record: the repeat rule of rail
    types 4-6 (third record within a year) needs people with several records."""
    fare = {i for i, c in enumerate(cat_ids) if PROFILES[c].fulfil_delay == (1, 10.0)}
    fare = {i for i in fare if PROFILES[cat_ids[i]].fulfil > 0}
    rows = np.flatnonzero(np.isin(cat, list(fare)))
    if len(rows) < 2:
        return
    again = rows[rng.random(len(rows)) < 0.05]
    subj[again] = subj[rows[rng.integers(0, len(rows), len(again))]]


def _amounts(rng: np.random.Generator, cat_ids: Sequence[str], cat: I64, ent: B) -> tuple[I64, B]:
    n = len(cat)
    cents = np.zeros(n, dtype=np.int64)
    has = np.zeros(n, dtype=np.bool_)
    z = rng.standard_normal(n)
    for ci, rows in enumerate(_groups(cat, len(cat_ids))):
        amount = PROFILES[cat_ids[ci]].amount
        if amount is None or len(rows) == 0:
            continue
        p_med, e_med, p_sig, e_sig = amount
        e = ent[rows]
        med = np.where(e, e_med or p_med, p_med)
        sig = np.where(e, e_sig, p_sig)
        yuan = np.clip(med * np.exp(sig * z[rows]), 1.0, 1e10)
        cents[rows] = np.round(yuan * 100).astype(np.int64)
        has[rows] = True
    return cents, has


def _extensions(rng: np.random.Generator, pack: RulePack, cat_ids: Sequence[str], cat: I64) -> I64:
    """Extra years for court grounds 2-6 (serious violence or repeated dishonesty)."""
    ext = np.zeros(len(cat), dtype=np.int64)
    for ci, rows in enumerate(_groups(cat, len(cat_ids))):
        c = pack.category(cat_ids[ci])
        share = PROFILES[c.id].extension
        term = c.term
        if not share or term.kind is not TermKind.FIXED or term.extension_max_years <= 0:
            continue
        most = term.extension_max_years
        if term.max_total_years:
            most = min(most, term.max_total_years - term.years)
        if most <= 0:
            continue
        hit = rows[rng.random(len(rows)) < share]
        ext[hit] = rng.integers(1, most + 1, len(hit))
    return ext


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


@dataclass
class _Listed:
    """The listed records as parallel NumPy arrays, before they become Arrow columns."""

    cat: I64  # index into the category list
    subj: I64  # row in population.subjects
    ent: B
    day: I64  # decision date, days since 1970
    auth: I64  # index into the authority list
    seq: I64  # case sequence within the authority
    cents: I64
    has_amount: B
    ext: I64


@dataclass
class _Year:
    """A year's records as arrays, before any Arrow line is built."""

    listed: _Listed
    province: I64
    events: list[_Event]
    auths: list[Authority]
    cat_ids: list[str]


def _plan(
    population: Population,
    year: int,
    scale: float | None,
    seed: int,
    pack: RulePack,
    authorities: Mapping[str, Authority] | None,
    tick: Callable[[int], None],
) -> _Year | None:
    """Every random draw of :func:`generate_records`, in its order; None without records."""
    on = population.on
    start = dt.date(year, 1, 1)
    end = min(dt.date(year, 12, 31), on)
    if end < start:
        raise ValueError(f"no records for {year}: the population is as of {on}")
    auths: list[Authority] = (
        sorted(authorities.values(), key=lambda a: a.code)
        if authorities is not None
        else list(REFERENCE_AUTHORITIES)
    )
    rng = np.random.default_rng([seed, year])
    n_ind, n_ent = population.individuals, population.enterprises
    total = max(n_ind + n_ent, 1)
    national = NATIONAL_INDIVIDUALS + NATIONAL_ENTERPRISES
    share = total / national if scale is None else scale
    # Persons' and enterprises' records scale with their own share of the population.
    s_person = share * (n_ind / total) * national / NATIONAL_INDIVIDUALS
    s_ent = share * (n_ent / total) * national / NATIONAL_ENTERPRISES
    categories = [c for c in pack.categories.values() if c.id in PROFILES]
    cat_ids = [c.id for c in categories]

    # Who may be listed: adults on 1 January (so on every decision date of the year).
    birth = population.persons.column("birth_date").cast(pa.int32()).to_numpy()

    def born_by(years_old: int) -> int:
        return int((_years_before(start, years_old) - EPOCH).days)

    pool_any = np.flatnonzero((birth <= born_by(18)) & (birth > born_by(81)))
    pool_work = np.flatnonzero((birth <= born_by(22)) & (birth > born_by(71)))
    if len(pool_work) == 0:
        pool_work = pool_any
    workdays = _working_days(start, end)
    tick(1)

    cat_l, subj_l, ent_l = [], [], []
    for ci, c in enumerate(categories):
        prof = PROFILES[c.id]
        if not any(a.may_submit(c.id) for a in auths):
            continue
        kinds = []
        if "person" in c.subject_kinds and prof.enterprise_share < 1 and len(pool_any):
            kinds.append((False, prof.national * (1 - prof.enterprise_share) * s_person))
        if "enterprise" in c.subject_kinds and prof.enterprise_share > 0 and n_ent:
            kinds.append((True, prof.national * prof.enterprise_share * s_ent))
        for is_ent, expected in kinds:
            k = _stochastic_round(rng, expected)
            if k == 0:
                continue
            if is_ent:
                rows = n_ind + rng.integers(0, n_ent, k)
            else:
                pool = pool_work if prof.working_age else pool_any
                rows = pool[rng.integers(0, len(pool), k)]
            cat_l.append(np.full(k, ci, dtype=np.int64))
            subj_l.append(rows.astype(np.int64))
            ent_l.append(np.full(k, is_ent))
    if not cat_l:
        return None
    cat = np.concatenate(cat_l)
    subj = np.concatenate(subj_l)
    ent = np.concatenate(ent_l)
    n = len(cat)
    _repeat_fare_offenders(rng, cat_ids, cat, subj)
    day = workdays[rng.integers(0, len(workdays), n)]
    # Records in decision-date order from here on: the final sort then barely moves rows,
    # and Arrow's take over nearly sorted indices is several times faster than a shuffle.
    by_day = np.argsort(day, kind="stable")
    cat, subj, ent, day = cat[by_day], subj[by_day], ent[by_day], day[by_day]
    tick(2)

    region = population.subjects.column("region_code").take(pa.array(subj))
    province = pc.cast(region, pa.int64()).to_numpy() // 10000
    auth = _pick_authorities(rng, auths, cat_ids, cat, province)
    # Case numbers count up per authority in decision-date order.
    order = np.lexsort((np.arange(n), day, auth))
    sa = auth[order]
    starts = np.flatnonzero(np.r_[True, sa[1:] != sa[:-1]])
    seq = np.empty(n, dtype=np.int64)
    seq[order] = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n])) + 1
    cents, has_amount = _amounts(rng, cat_ids, cat, ent)
    ext = _extensions(rng, pack, cat_ids, cat)
    listed = _Listed(cat, subj, ent, day, auth, seq, cents, has_amount, ext)
    tick(3)
    events = _event_plan(rng, pack, cat_ids, listed, (end - EPOCH).days)
    return _Year(listed, province, events, auths, cat_ids)


def generate_records(
    population: Population,
    year: int,
    scale: float | None,
    seed: int,
    pack: RulePack,
    authorities: Mapping[str, Authority] | None = None,
    progress: Progress | None = None,
) -> pa.Table:
    """A year of records about ``population`` in the ingest format, sorted by event date
    (a record's ``listed`` line always precedes its later events).

    Deterministic for (population, year, scale, seed, pack, authorities). Categories of the
    pack that no authority may submit, or whose subject kind the population lacks, are skipped.
    """
    tick = _steps(progress, "records", 6, 6)
    y = _plan(population, year, scale, seed, pack, authorities, tick)
    if y is None:
        tick(6)
        return SCHEMA.empty_table()
    table = _listed_table(population, pack, y.auths, y.cat_ids, y.listed, y.province, year)
    tick(4)
    lines = [_event_lines(table, e.rows, e) for e in y.events]
    tick(5)
    n = len(y.listed.cat)
    rec = np.concatenate([np.arange(n), *(e.rows for e in y.events)])
    final = _sorted_lines([table, *lines], rec)
    tick(6)
    return final


def generate_record_batches(
    population: Population,
    year: int,
    scale: float | None,
    seed: int,
    pack: RulePack,
    authorities: Mapping[str, Authority] | None = None,
) -> Iterator[pa.Table]:
    """:func:`generate_records` one calendar month of event dates at a time: the same lines
    in the same order (months without any are skipped), so that a national year (14.21
    million lines) never sits in memory as Arrow lines at once. The draws are made up front
    as NumPy arrays (about 1 GB at the national scale); each month's lines are built when
    the consumer asks for them. Like authorities sending a batch a month.
    """
    y = _plan(population, year, scale, seed, pack, authorities, _steps(None, "records", 6, 6))
    if y is None:
        return
    r = y.listed
    first, last = int(r.day.min()), max([int(r.day.max()), *(int(e.days.max()) for e in y.events)])
    months = np.arange(
        np.datetime64(EPOCH + dt.timedelta(days=first), "M"),
        np.datetime64(EPOCH + dt.timedelta(days=last), "M") + 2,
    )
    bounds = months.astype("datetime64[D]").astype(np.int64)
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        # Records are in decision-date order: the month's listings are one slice.
        a, b = np.searchsorted(r.day, [lo, hi])
        own = np.arange(a, b, dtype=np.int64)
        evs = [e.subset((e.days >= lo) & (e.days < hi)) for e in y.events]
        evs = [e for e in evs if len(e.rows)]
        if not len(own) and not evs:
            continue
        need = np.unique(np.concatenate([own, *(e.rows for e in evs)]))
        sub = _Listed(*(getattr(r, f.name)[need] for f in fields(_Listed)))
        table = _listed_table(population, pack, y.auths, y.cat_ids, sub, y.province[need], year)
        lines = [_event_lines(table, np.searchsorted(need, e.rows), e) for e in evs]
        mine = table if len(own) == len(need) else table.take(pa.array(np.searchsorted(need, own)))
        rec = np.concatenate([own, *(e.rows for e in evs)])
        yield _sorted_lines([mine, *lines], rec)
