"""Derive ``src/socialcredit/domain/gbt2260.txt`` from python-stdnum's ``stdnum/cn/loc.dat``.

Every code GB/T 2260 has ever held, with the years it was in use: the registry accepts a
resident ID whose address code was ever valid, whatever the birth year (a number keeps the
code of where it was first issued, which may since have been retired, or have been created
after the holder's birth). Run it after upgrading python-stdnum and commit the output:

    .venv/bin/python scripts/gbt2260_codes.py > src/socialcredit/domain/gbt2260.txt
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import stdnum

LINE = re.compile(r'^(?P<indent>\s*)(?P<code>\d+)\s+(?P<props>.*)$')
COUNTY = re.compile(r'county="(?P<names>[^"]*)"')
SPAN = re.compile(r"^\[(?P<start>\d*)-(?P<end>\d*)\]")


def codes(loc: Path) -> dict[str, str]:
    """Six-digit code -> its spans of years, ``start-end`` with open ends left empty."""
    out: dict[str, str] = {}
    province = ""
    for line in loc.read_text(encoding="utf-8").splitlines():
        m = LINE.match(line)
        if m is None or line.startswith("#"):
            continue
        if not m["indent"]:
            province = m["code"]
            continue
        code = province + m["code"]
        county = COUNTY.search(m["props"])
        if len(code) != 6 or county is None:
            continue
        spans = []
        for name in county["names"].split(","):
            s = SPAN.match(name)
            spans.append("-" if s is None else f"{s['start']}-{s['end']}")
        out[code] = "-" if "-" in spans else ",".join(spans)
    return out


def main() -> None:
    loc = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(stdnum.__file__).parent / "cn/loc.dat"
    table = codes(loc)
    header = (
        f"# GB/T 2260 address codes ever in use, from python-stdnum {stdnum.__version__}'s"
        " cn/loc.dat\n# (scripts/gbt2260_codes.py). code<space>years: start-end, an empty end"
        " is open; '-' always.\n"
    )
    sys.stdout.write(header + "".join(f"{c} {table[c]}\n" for c in sorted(table)))


if __name__ == "__main__":
    main()
