"""A synthetic year of records in the ingest format (``docs/ingest-format.md``).

The national rates, the split of them by category and the later events are in
:mod:`socialcredit.synthetic.rates`; the columns drawn for each record in ``columns``, the later
events in ``events``, the lines in ``lines``. This module draws the year in order and assembles
its lines, whole (:func:`generate_records`) or a month at a time
(:func:`generate_record_batches`).

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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from socialcredit.domain.records import Authority
from socialcredit.domain.rules import RulePack
from socialcredit.registry import reference_authorities
from socialcredit.rulepacks import load_rulepack
from socialcredit.synthetic.columns import (
    I64,
    _amounts,
    _extensions,
    _Listed,
    _pick_authorities,
    _repeat_fare_offenders,
    _working_days,
)
from socialcredit.synthetic.events import _Event, _event_lines, _event_plan
from socialcredit.synthetic.lines import SCHEMA, _listed_table, _sorted_lines
from socialcredit.synthetic.population import (
    EPOCH,
    Population,
    Progress,
    _steps,
    _years_before,
)
from socialcredit.synthetic.rates import NATIONAL_ENTERPRISES, NATIONAL_INDIVIDUALS, PROFILES

REFERENCE_AUTHORITIES: list[Authority] = reference_authorities(load_rulepack())


def _stochastic_round(rng: np.random.Generator, x: float) -> int:
    base = int(np.floor(x))
    return base + int(rng.random() < x - base)


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
