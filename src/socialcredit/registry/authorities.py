"""The reference authorities every registry starts with: a basic people's court per province
(and two more that fixtures use) and the national agencies that submit records.

Each authority is allowed exactly the categories whose ``authority_kinds`` include its kind,
so the rule pack, not this list, decides who may submit what.
"""

from __future__ import annotations

from sqlalchemy import Connection

from socialcredit.domain.records import Authority
from socialcredit.domain.rules import RulePack
from socialcredit.integrity import log_range, log_rows
from socialcredit.registry.regions import COURTS, PROVINCES, load_regions
from socialcredit.store.ports import UnitOfWork

AGENCIES: tuple[tuple[str, str, str], ...] = (
    ("STA", "国家税务总局", "tax"),
    ("CAAC", "中国民用航空局", "aviation"),
    ("CR", "中国国家铁路集团有限公司", "rail"),
    ("MPS-RAIL", "公安部铁路公安局", "police"),
    ("MOHRSS", "人力资源和社会保障部", "social_insurance"),
    ("CSRC", "中国证券监督管理委员会", "securities"),
    ("SAMR", "国家市场监督管理总局", "market"),
    ("MOF", "财政部", "finance"),
)
# Courts other teams' fixtures use, beyond one per province: code -> county code.
EXTRA_COURTS = {"SPC-BJ-CY": "110105", "SPC-GD-SZ-FT": "440304"}


def court_county(code: str) -> str | None:
    if code in EXTRA_COURTS:
        return EXTRA_COURTS[code]
    for county, district in COURTS:
        if code == f"SPC-{PROVINCES[county[:2]][2]}-{district}":
            return county
    return None


def court_codes() -> list[tuple[str, str]]:
    """(authority code, name) of the reference courts: one per province, plus a few extra."""
    regions = load_regions()
    out = []
    for county, district in COURTS:
        prov = county[:2]
        name = regions.province_names[prov] + regions.names[county] + "人民法院"
        out.append((f"SPC-{PROVINCES[prov][2]}-{district}", name))
    for code, county in EXTRA_COURTS.items():
        prov = county[:2]
        out.append((code, regions.province_names[prov] + regions.names[county] + "人民法院"))
    return out


def reference_authorities(pack: RulePack) -> list[Authority]:
    """The reference authorities; each may submit the categories whose kinds include its own."""

    def cats(kind: str) -> frozenset[str]:
        return frozenset(c.id for c in pack.categories.values() if kind in c.authority_kinds)

    out = [Authority(code, name, "court", cats("court")) for code, name in court_codes()]
    out += [Authority(code, name, kind, cats(kind)) for code, name, kind in AGENCIES]
    return out


def seed_reference_authorities(uow: UnitOfWork, pack: RulePack) -> list[Authority]:
    """Register the reference authorities that are not registered yet (idempotent).

    The caller commits.
    """
    added = []
    for a in reference_authorities(pack):
        if uow.authorities.get(a.code) is None:
            add_authority(uow, a)
            added.append(a)
    return added


def add_authority(uow: UnitOfWork, a: Authority) -> None:
    """Register an authority in the caller's unit of work, a leaf of the transparency log
    with it (on a SQL store; the in-memory fake keeps no log)."""
    uow.authorities.add(a)
    conn = getattr(uow, "connection", None)
    if isinstance(conn, Connection):
        log_rows(conn, "authority", [a.code])


def log_calendar(conn: Connection, years: list[int]) -> None:
    """The leaves of an official calendar load: each year's row and its days."""
    log_rows(conn, "calendar_year", years)
    for y in years:
        log_range(conn, "calendar_days", y, y)
