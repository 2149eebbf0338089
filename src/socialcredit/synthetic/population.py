"""Synthetic subjects: individuals with GB 11643 resident IDs, enterprises with GB 32100 codes.

Everything is drawn from one ``numpy.random.Generator`` seeded by the caller, in a fixed
order, and assembled column-wise: identifiers by ``codes`` (an (n, 18) byte matrix turned into
an Arrow string array without a Python loop); names by indexing pools precomputed once from
Faker's zh_CN provider data (calling Faker per row would cost minutes at national scale).

Age structure: five-year bands of China's population projected to the mid-2020s from the 2020
census and the NBS birth counts since 2017 (so minors are about 18%, those 60 and over about
22%); ages are measured back from ``on``. Sex ratio 51.2% male.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from socialcredit.registry import Regions, load_regions
from socialcredit.synthetic.codes import (
    ENTERPRISE_TYPES,
    credit_codes,
    resident_ids,
    unique_keys,
)
from socialcredit.synthetic.names import (
    COMPANY_SUFFIXES,
    COOPS,
    EMAIL_DOMAINS,
    ENTERPRISE_MAILBOXES,
    INDUSTRIES,
    SHOPS,
    name_pools,
)

Progress = Callable[[str, int, int], None]

EPOCH = dt.date(1970, 1, 1)
# (age from, age to exclusive, share in %)
AGE_BANDS: tuple[tuple[int, int, float], ...] = (
    (0, 5, 3.4), (5, 10, 5.5), (10, 15, 5.8), (15, 18, 3.4), (18, 20, 2.2), (20, 25, 5.2),
    (25, 30, 5.3), (30, 35, 6.4), (35, 40, 8.5), (40, 45, 6.9), (45, 50, 6.5), (50, 55, 8.0),
    (55, 60, 8.4), (60, 65, 6.8), (65, 70, 4.9), (70, 75, 4.6), (75, 80, 2.8), (80, 85, 1.7),
    (85, 90, 0.9), (90, 95, 0.35), (95, 100, 0.1),
)  # fmt: skip
MALE_SHARE = 0.512
NO_EMAIL_PERSON = 0.30  # exercises the "no contact address" path of notices
NO_EMAIL_ENTERPRISE = 0.08
LEGAL_REP_MIN_AGE = 22

SUBJECT_SCHEMA = pa.schema(
    [
        pa.field("subject_id", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("birth_date", pa.date32()),
        pa.field("region_code", pa.string(), nullable=False),
        pa.field("contact_email", pa.string()),
        pa.field("legal_representative_id", pa.string()),
    ]
)


@dataclass(frozen=True)
class Population:
    """Subjects as one Arrow table: ``individuals`` persons first, then the enterprises."""

    subjects: pa.Table
    individuals: int
    enterprises: int
    seed: int
    on: dt.date
    # Row (in ``subjects``) of each enterprise's legal representative, so records can carry
    # the representative's name without a lookup by ID string.
    legal_rep_rows: npt.NDArray[np.int64] = field(
        default_factory=lambda: np.empty(0, dtype=np.int64), repr=False
    )

    @property
    def persons(self) -> pa.Table:
        return self.subjects.slice(0, self.individuals)

    @property
    def companies(self) -> pa.Table:
        return self.subjects.slice(self.individuals, self.enterprises)

    def __len__(self) -> int:
        return self.individuals + self.enterprises


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _steps(progress: Progress | None, stage: str, total: int, steps: int) -> Callable[[int], None]:
    def tick(k: int) -> None:
        if progress is not None:
            progress(stage, min(total, total * k // steps), total)

    return tick


def _birth_days(rng: np.random.Generator, n: int, on: dt.date) -> npt.NDArray[np.int64]:
    shares = np.array([w for _, _, w in AGE_BANDS])
    band = rng.choice(len(AGE_BANDS), size=n, p=shares / shares.sum())
    lo = np.array([a for a, _, _ in AGE_BANDS], dtype=np.float64)[band]
    hi = np.array([b for _, b, _ in AGE_BANDS], dtype=np.float64)[band]
    age_days = np.floor((lo + (hi - lo) * rng.random(n)) * 365.2425).astype(np.int64)
    return np.int64((on - EPOCH).days) - age_days


def _calendar_lut(first: int, last: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int16]]:
    """YYYYMMDD and year for each day number in [first, last] (cheaper than datetime64 math)."""
    days = np.arange(first, last + 1).astype("datetime64[D]")
    years = days.astype("datetime64[Y]").astype(np.int64) + 1970
    months = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    mdays = (days - days.astype("datetime64[M]")).astype(np.int64) + 1
    return years * 10000 + months * 100 + mdays, years.astype(np.int16)


def _pick_regions(
    rng: np.random.Generator, regions: Regions, years: npt.NDArray[np.int16]
) -> npt.NDArray[np.int64]:
    """A county code per person, in use in their birth year (grouped by year, fixed order)."""
    out = np.empty(len(years), dtype=np.int64)
    if len(years) == 0:
        return out
    first = int(years.min())
    offset = (years - first).astype(np.int16)
    order = np.argsort(offset, kind="stable")  # a radix sort for 16-bit keys
    bounds = np.concatenate([[0], np.cumsum(np.bincount(offset))])
    u = rng.random(len(years))
    for j in np.flatnonzero(bounds[1:] > bounds[:-1]):
        rows = order[bounds[j] : bounds[j + 1]]
        idx = regions.valid_in(first + int(j))
        cdf = np.cumsum(regions.probabilities(idx))
        pick = np.minimum(np.searchsorted(cdf, u[rows] * cdf[-1], side="right"), len(idx) - 1)
        out[rows] = regions.codes[idx[pick]]
    return out


def _individuals(
    rng: np.random.Generator, n: int, on: dt.date, tick: Callable[[int], None]
) -> tuple[dict[str, pa.Array], npt.NDArray[np.int64]]:
    regions = load_regions()
    pools = name_pools()
    days = _birth_days(rng, n, on)
    first = int(days.min()) if n else 0
    ymd_lut, year_lut = _calendar_lut(first, int(days.max()) if n else 0)
    ymd = ymd_lut[days - first]
    tick(1)
    region = _pick_regions(rng, regions, year_lut[days - first])
    tick(2)
    male = rng.random(n) < MALE_SHARE
    key = unique_keys(rng, region * 10**11 + ymd * 1000, male)
    tick(3)
    ids = resident_ids(key)
    tick(4)
    surname_idx = rng.choice(len(pools.surnames), size=n, p=pools.surname_p)
    surname = pools.surnames.take(pa.array(surname_idx))
    n_male, n_female = pools.n_male, len(pools.given) - pools.n_male
    g1 = np.where(male, rng.integers(0, n_male, n), n_male + rng.integers(0, n_female, n))
    g2 = np.where(male, rng.integers(0, n_male, n), n_male + rng.integers(0, n_female, n))
    two = rng.random(n) < 0.7  # most given names have two characters
    given2 = pc.if_else(pa.array(two), pools.given.take(pa.array(g2)), "")
    names = _join(surname, pools.given.take(pa.array(g1)), given2)
    tick(5)
    email = _emails(rng, n, NO_EMAIL_PERSON, None)
    tick(6)
    cols = {
        "subject_id": ids,
        "name": names,
        "birth_date": pa.array(days.astype(np.int32), pa.int32()).cast(pa.date32()),
        "region_code": pc.cast(pa.array(region), pa.string()),
        "contact_email": email,
        "legal_representative_id": pa.nulls(n, pa.string()),
    }
    return cols, days


def _emails(
    rng: np.random.Generator, n: int, no_email: float, mailbox: pa.Array | None
) -> pa.Array:
    """QQ-style numeric addresses for persons, role mailboxes for enterprises; RFC 2606 domains."""
    domains = pa.array(EMAIL_DOMAINS).take(pa.array(rng.integers(0, len(EMAIL_DOMAINS), n)))
    number = pc.cast(pa.array(rng.integers(10_000, 10**10, n)), pa.string())
    local = number if mailbox is None else _join(mailbox, number)
    addr = pc.binary_join_element_wise(local, domains, "@")
    return pc.if_else(pa.array(rng.random(n) < no_email), pa.scalar(None, pa.string()), addr)


def _enterprises(
    rng: np.random.Generator,
    n: int,
    on: dt.date,
    adults: npt.NDArray[np.int64],
    person_ids: pa.Array,
    tick: Callable[[int], None],
) -> tuple[dict[str, pa.Array], npt.NDArray[np.int64]]:
    regions = load_regions()
    pools = name_pools()
    idx = regions.valid_in(on.year)
    ridx = idx[rng.choice(len(idx), size=n, p=regions.probabilities(idx))]
    region = regions.codes[ridx]
    tshare = np.array([p for _, p in ENTERPRISE_TYPES])
    etype = rng.choice(len(ENTERPRISE_TYPES), size=n, p=tshare / tshare.sum())
    tick(1)
    ids = credit_codes(rng, region, etype)
    tick(2)
    place = pa.array(regions.place).take(pa.array(ridx))
    brand = pools.brands.take(pa.array(rng.integers(0, len(pools.brands), n)))
    trade_pool = pa.array(INDUSTRIES + SHOPS + COOPS)
    trade = np.where(
        etype == 0,
        rng.integers(0, len(INDUSTRIES), n),
        np.where(
            etype == 1,
            len(INDUSTRIES) + rng.integers(0, len(SHOPS), n),
            len(INDUSTRIES) + len(SHOPS) + rng.integers(0, len(COOPS), n),
        ),
    )
    sshare = np.array([p for _, p in COMPANY_SUFFIXES])
    suffix = np.where(
        etype == 0, rng.choice(len(COMPANY_SUFFIXES), size=n, p=sshare / sshare.sum()), 3
    )
    suffix_pool = pa.array([s for s, _ in COMPANY_SUFFIXES] + [""])
    trades = trade_pool.take(pa.array(trade))
    names = _join(place, brand, trades, suffix_pool.take(pa.array(suffix)))
    tick(3)
    mailbox = pa.array(ENTERPRISE_MAILBOXES).take(
        pa.array(rng.integers(0, len(ENTERPRISE_MAILBOXES), n))
    )
    email = _emails(rng, n, NO_EMAIL_ENTERPRISE, mailbox)
    rep_rows = adults[rng.integers(0, len(adults), n)]
    rep = person_ids.take(pa.array(rep_rows))
    tick(4)
    return {
        "subject_id": ids,
        "name": names,
        "birth_date": pa.nulls(n, pa.date32()),
        "region_code": pc.cast(pa.array(region), pa.string()),
        "contact_email": email,
        "legal_representative_id": rep,
    }, rep_rows


def generate_population(
    individuals: int,
    enterprises: int,
    seed: int,
    on: dt.date,
    progress: Progress | None = None,
) -> Population:
    """Generate ``individuals`` persons and ``enterprises`` enterprises as of ``on``.

    Deterministic for (individuals, enterprises, seed, on). Enterprises need at least one
    adult individual to act as legal representative.
    """
    if individuals < 0 or enterprises < 0:
        raise ValueError("individuals and enterprises must be >= 0")
    rng = np.random.default_rng(seed)
    tick = _steps(progress, "individuals", individuals, 6)
    cols, days = _individuals(rng, individuals, on, tick)
    tick(6)
    parts = [_table(cols, individuals, "person")]
    rep_rows = np.empty(0, dtype=np.int64)
    if enterprises:
        born_limit = _years_before(on, LEGAL_REP_MIN_AGE)
        adults = np.flatnonzero(days <= (born_limit - EPOCH).days)
        if len(adults) == 0:
            raise ValueError("enterprises need adult individuals as legal representatives")
        etick = _steps(progress, "enterprises", enterprises, 4)
        ecols, rep_rows = _enterprises(rng, enterprises, on, adults, cols["subject_id"], etick)
        parts.append(_table(ecols, enterprises, "enterprise"))
    subjects = pa.concat_tables(parts).combine_chunks()
    return Population(subjects, individuals, enterprises, seed, on, rep_rows)


def _table(cols: dict[str, pa.Array], n: int, kind: str) -> pa.Table:
    cols = dict(cols)
    cols["kind"] = pa.nulls(n, pa.string()).fill_null(kind)
    arrays = {f.name: cols[f.name].cast(f.type) for f in SUBJECT_SCHEMA}
    return pa.table(arrays, schema=SUBJECT_SCHEMA)


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)
