"""How the report writes numbers for people: thousands separators, yuan with two decimals,
shares as percentages, and axis ticks that are whole, round numbers.

The JSON and CSV keep the raw values (``"237983864.11"``, ``0.6667``); only the HTML page and
the charts go through here.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

NBSP = "\u00a0"  # between a number and its % sign: "100 %" never breaks across lines
MISSING = "\u2013"  # an en dash where a figure is undefined (no case decided, a withheld count)


def thousands(v: object) -> str:
    """``1234567`` -> ``1,234,567``; ``"237983864.11"`` -> ``237,983,864.11`` (a decimal
    string keeps its decimals: amounts in yuan); ``15.5`` -> ``15.5``; ``None`` -> ``–``."""
    if v is None or isinstance(v, bool):
        return MISSING if v is None else str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return MISSING if math.isnan(v) else _trim(f"{v:,.2f}")
    try:
        d = Decimal(str(v))
    except InvalidOperation:
        return str(v)
    if not d.is_finite():
        return str(v)
    return f"{d:,.2f}" if "." in str(v) else f"{d:,}"


def percent(share: float | None) -> str:
    """A share in [0, 1] as a percentage: ``1.0`` -> ``100 %``, ``0.6667`` -> ``66.7 %``."""
    if share is None:
        return MISSING
    return f"{_trim(f'{share * 100:.1f}')}{NBSP}%"


def _trim(s: str) -> str:
    return s.rstrip("0").rstrip(".") if "." in s else s


def cell(column: str, v: object) -> str:
    """A table cell as the HTML shows it: shares as percentages, numbers with separators,
    text (months, codes, names) as it is, an empty cell where there is no value."""
    if v is None:
        return ""
    if column.startswith("share"):
        return percent(float(v)) if isinstance(v, int | float) else str(v)
    if (isinstance(v, int | float) and not isinstance(v, bool)) or "(yuan)" in column:
        return thousands(v)
    return str(v)


def nice_ticks(top: float, most: int = 6) -> list[int]:
    """Ticks for a count axis from 0 to at least ``top``: whole numbers a step of 1, 2 or 5
    times a power of ten apart, at most ``most`` steps (an empty axis gets ``[0, 1]``)."""
    if not (top > 0 and math.isfinite(top)):
        return [0, 1]
    step = 1
    while True:
        for m in (1, 2, 5):
            if math.ceil(top / (step * m)) <= most:
                n = math.ceil(top / (step * m))
                return [i * step * m for i in range(n + 1)]
        step *= 10
