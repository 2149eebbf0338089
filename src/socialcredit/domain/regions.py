"""GB/T 2260 address codes: every code the standard has ever held, with its years in use.

Shipped as package data (``gbt2260.txt``, derived from python-stdnum's ``cn/loc.dat`` by
``scripts/gbt2260_codes.py``). A resident ID keeps the code of where it was first issued:
the code may have been retired since (``412723``, python-stdnum issue #442) or created after
the holder's birth (a ``440305`` Shenzhen Nanshan number held by someone born in 1978), so
identifiers are checked against every code ever held, whatever the birth year.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

# Address codes of the residence permits for residents of Hong Kong, Macao and Taiwan
# (2018): the same layout and check character as a resident ID. 830000 is not in GB/T 2260.
PERMIT_REGIONS = frozenset({"810000", "820000", "830000"})


@cache
def _table() -> dict[str, str]:
    text = files("socialcredit.domain").joinpath("gbt2260.txt").read_text(encoding="utf-8")
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            code, years = line.split(" ", 1)
            out[code] = years
    return out


def known_region_codes() -> frozenset[str]:
    """Every six-digit address code GB/T 2260 has ever held."""
    return frozenset(_table())


def region_known(code: str) -> bool:
    """Was ``code`` ever a GB/T 2260 address code (in any year)?"""
    return code in _table()


def region_years(code: str) -> str | None:
    """The years ``code`` was in use, as ``start-end`` spans (``-``: always); None: never."""
    return _table().get(code)


def province_known(code: str) -> bool:
    """Is ``code`` (two digits) a province-level prefix GB/T 2260 has held?"""
    return f"{code}0000" in _table()
