"""The columns of a year's listed records, drawn category by category: decision days on working
days, an authority allowed the category (a court of the subject's province when there is one),
amounts owed, extension years, and repeat fare offenders; held as parallel NumPy arrays
(:class:`_Listed`) until they become lines.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from socialcredit.domain.records import Authority
from socialcredit.domain.rules import RulePack, TermKind
from socialcredit.registry import PROVINCES
from socialcredit.synthetic.population import EPOCH
from socialcredit.synthetic.rates import PROFILES

I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]


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


_LATIN_TO_PROVINCE = {latin: code for code, (_, _, latin) in PROVINCES.items()}


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
