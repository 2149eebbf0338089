"""GB/T 2260 region codes for the generator, read once from python-stdnum's ``cn/loc`` data.

The validator (:mod:`socialcredit.domain.identity`) accepts a resident ID's region code only if
the county existed in the birth year, so the generator keeps, per county code, the year spans
in which it was in use and picks codes valid for each birth year. Counties are weighted by
their province's population (2020 census, millions) spread evenly over the province's
counties in use that year: crude, but it keeps Guangdong and Henan larger than Tibet.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from stdnum import numdb

FIRST_YEAR = 1880
LAST_YEAR = 2100

# province code: (2020 census population in millions, one-character abbreviation, latin code)
PROVINCES: dict[str, tuple[float, str, str]] = {
    "11": (21.9, "京", "BJ"), "12": (13.9, "津", "TJ"), "13": (74.6, "冀", "HE"),
    "14": (34.9, "晋", "SX"), "15": (24.0, "蒙", "NM"), "21": (42.6, "辽", "LN"),
    "22": (24.1, "吉", "JL"), "23": (31.9, "黑", "HL"), "31": (24.9, "沪", "SH"),
    "32": (84.7, "苏", "JS"), "33": (64.6, "浙", "ZJ"), "34": (61.0, "皖", "AH"),
    "35": (41.5, "闽", "FJ"), "36": (45.2, "赣", "JX"), "37": (101.5, "鲁", "SD"),
    "41": (99.4, "豫", "HA"), "42": (57.8, "鄂", "HB"), "43": (66.4, "湘", "HN"),
    "44": (126.0, "粤", "GD"), "45": (50.1, "桂", "GX"), "46": (10.1, "琼", "HI"),
    "50": (32.1, "渝", "CQ"), "51": (83.7, "川", "SC"), "52": (38.6, "黔", "GZ"),
    "53": (47.2, "云", "YN"), "54": (3.6, "藏", "XZ"), "61": (39.5, "陕", "SN"),
    "62": (25.0, "甘", "GS"), "63": (5.9, "青", "QH"), "64": (7.2, "宁", "NX"),
    "65": (25.9, "新", "XJ"),
}  # fmt: skip

# One basic people's court per province, in a district of the capital: (county code, latin
# district abbreviation). The three named in the brief come first; the rest let a subject be
# listed by a court in its own province.
COURTS: tuple[tuple[str, str], ...] = (
    ("110108", "HD"), ("310115", "PD"), ("440106", "TH"),
    ("120101", "HP"), ("130102", "CA"), ("140105", "XD"), ("150102", "XC"),
    ("210102", "HP"), ("220102", "NG"), ("230102", "DL"), ("320102", "XW"),
    ("330106", "XH"), ("340102", "YH"), ("350102", "GL"), ("360102", "DH"),
    ("370102", "LX"), ("410105", "JS"), ("420106", "WC"), ("430102", "FR"),
    ("450102", "XN"), ("460106", "LH"), ("500103", "YZ"), ("510104", "JJ"),
    ("520102", "NM"), ("530102", "WH"), ("540102", "CG"), ("610102", "XC"),
    ("620102", "CG"), ("630102", "CD"), ("640104", "XQ"), ("650102", "TS"),
)  # fmt: skip


def _spans(county: str) -> list[tuple[int, int, str]]:
    """``"[-2010]崇文区,[2010-]东城区"`` -> [(FIRST, 2010, 崇文区), (2010, LAST, 东城区)]."""
    out = []
    for name in county.split(","):
        if not name.startswith("["):
            out.append((FIRST_YEAR, LAST_YEAR, name))
            continue
        span, label = name[1:].split("]", 1)
        start, end = span.split("-")
        out.append((int(start) if start else FIRST_YEAR, int(end) if end else LAST_YEAR, label))
    return out


def _current_name(county: str) -> str:
    return _spans(county)[-1][2]


def _short_place(name: str) -> str:
    """A place name as used in a company name: 杭州市 -> 杭州, 浙江省 -> 浙江."""
    if name == "内蒙古自治区":
        return "内蒙古"
    for suffix in ("自治区", "自治州"):
        if name.endswith(suffix):
            return name[:2]
    for suffix in ("省", "市", "地区"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


@dataclass(frozen=True)
class Regions:
    """County-level codes (the last two digits not ``00``) with their years of use."""

    codes: npt.NDArray[np.int64]  # e.g. 110108
    valid: npt.NDArray[np.bool_]  # [county, year - FIRST_YEAR]
    province: npt.NDArray[np.int64]  # e.g. 11
    place: tuple[str, ...]  # short prefecture or province name for company names
    names: dict[str, str]  # full current county name by code, for authority names
    province_names: dict[str, str]

    def valid_in(self, year: int) -> npt.NDArray[np.int64]:
        """Indices of counties in use in ``year``."""
        y = min(max(year, FIRST_YEAR), LAST_YEAR) - FIRST_YEAR
        return np.flatnonzero(self.valid[:, y])

    def probabilities(self, idx: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """Selection probabilities over ``idx``: province population / counties in use."""
        prov = self.province[idx]
        uniq, inverse, counts = np.unique(prov, return_inverse=True, return_counts=True)
        pop = np.array([PROVINCES.get(f"{p:02d}", (1.0, "", ""))[0] for p in uniq])
        w = pop[inverse] / counts[inverse]
        return np.asarray(w / w.sum(), dtype=np.float64)


@lru_cache(maxsize=1)
def load_regions() -> Regions:
    db = numdb.get("cn/loc")
    merged: dict[str, str] = {}
    province_names: dict[str, str] = {}
    for length, low, high, props, children in db.prefixes:
        if length != 2 or low != high:
            continue
        province_names[low] = props.get("province", "")
        for clen, clow, chigh, cprops, _ in children:
            if clen != 4 or clow != chigh or "county" not in cprops:
                continue
            merged[low + clow] = cprops["county"]  # later entries win, as in NumDB.info
    codes = sorted(c for c in merged if not c.endswith("00") and c[:2] in PROVINCES)
    years = LAST_YEAR - FIRST_YEAR + 1
    valid = np.zeros((len(codes), years), dtype=np.bool_)
    for i, code in enumerate(codes):
        for start, end, _ in _spans(merged[code]):
            valid[i, max(start, FIRST_YEAR) - FIRST_YEAR : min(end, LAST_YEAR) - FIRST_YEAR + 1] = (
                True
            )
    place = []
    for code in codes:
        pref = merged.get(code[:4] + "00")
        pref_name = _current_name(pref) if pref else ""
        if not pref_name or pref_name in ("市辖区", "县", "省直辖县级行政区划"):
            pref_name = province_names.get(code[:2], "")
        place.append(_short_place(pref_name))
    arr = np.array([int(c) for c in codes], dtype=np.int64)
    prov = arr // 10000
    return Regions(
        codes=arr,
        valid=valid,
        province=prov,
        place=tuple(place),
        names={c: _current_name(merged[c]) for c in codes},
        province_names=province_names,
    )
