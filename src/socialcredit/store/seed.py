"""Reference authorities for the demo and the tests.

Each authority is allowed exactly the categories whose ``authority_kinds`` include its kind,
so the rule pack, not this list, decides who may submit what.
"""

from __future__ import annotations

from socialcredit.domain.records import Authority
from socialcredit.domain.rules import RulePack
from socialcredit.store.ports import UnitOfWork

REFERENCE_AUTHORITIES: tuple[tuple[str, str, str], ...] = (
    ("SPC-BJ-HD", "Beijing Haidian District People's Court", "court"),
    ("SPC-BJ-CY", "Beijing Chaoyang District People's Court", "court"),
    ("SPC-SH-PD", "Shanghai Pudong New Area People's Court", "court"),
    ("SPC-GD-SZ-FT", "Shenzhen Futian District People's Court", "court"),
    ("STA", "State Taxation Administration", "tax"),
    ("CAAC", "Civil Aviation Administration of China", "aviation"),
    ("CR", "China State Railway Group", "rail"),
    ("MPS-RAIL", "Railway Public Security Bureau", "police"),
    ("MOHRSS", "Ministry of Human Resources and Social Security", "social_insurance"),
    ("CSRC", "China Securities Regulatory Commission", "securities"),
    ("SAMR", "State Administration for Market Regulation", "market"),
    ("MOF", "Ministry of Finance", "finance"),
)


def reference_authorities(pack: RulePack) -> list[Authority]:
    out = []
    for code, name, kind in REFERENCE_AUTHORITIES:
        cats = frozenset(c.id for c in pack.categories.values() if kind in c.authority_kinds)
        out.append(Authority(code, name, kind, cats))
    return out


def seed_reference_authorities(uow: UnitOfWork, pack: RulePack) -> list[Authority]:
    """Register the reference authorities that are not registered yet (idempotent).

    The caller commits.
    """
    added = []
    for a in reference_authorities(pack):
        if uow.authorities.get(a.code) is None:
            uow.authorities.add(a)
            added.append(a)
    return added
