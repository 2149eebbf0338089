"""Publishing the transparency report: computed once, off the serving process, kept as files.

``GET /v1/reports/{year}`` needs no token, and recomputing the report on every call (6-7 s,
1.5 GB) let anyone take the screening server down with it (issue 14, finding 2). So the
report is computed only when it is *published* (``socialcredit report --year Y --publish``,
by the operator or a scheduled job), written as files to ``<reports dir>/<year>/<version>/``
and the server only serves those files. A version directory is written complete under a
temporary name and renamed into place, then ``<year>/current`` is replaced atomically to name
it: a reader sees the old version or the new one, never half of one. Older versions stay
until the operator removes them (a published figure should remain citable).

The reports directory is ``settings.reports_dir``, by default ``reports/`` beside a SQLite
database (``var/reports`` otherwise).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path
from typing import Any

from socialcredit.errors import InvalidInput, NotFound
from socialcredit.runtime.registry import Registry

CURRENT = "current"


def reports_dir(reg: Registry) -> Path:
    s = reg.settings
    if s.reports_dir is not None:
        return s.reports_dir
    url = s.database_url
    if url.startswith("sqlite:///") and not url.endswith(":memory:"):
        return Path(url.removeprefix("sqlite:///")).parent / "reports"
    return Path("var/reports")


def check_year(raw: str) -> int:
    if not raw.isdigit() or len(raw) != 4:
        raise InvalidInput.one("year", "must be a four-digit year", raw)
    return int(raw)


def publish(reg: Registry, year: int, rep: dict[str, Any] | None = None) -> Path:
    """Compute the year's report (unless given) and publish it as a new version; returns
    the version's directory."""
    from socialcredit.reports.figures import build_report
    from socialcredit.reports.render import write_report

    if rep is None:
        rep = build_report(reg, year)
    base = reports_dir(reg) / str(year)
    base.mkdir(parents=True, exist_ok=True)
    version = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    tmp = base / f".{version}.tmp"
    write_report(rep, tmp)
    (tmp / "meta.json").write_text(
        json.dumps({"year": year, "version": version, "published_at": version}), "utf-8"
    )
    final = base / version
    os.replace(tmp, final)
    pointer = base / f".{CURRENT}.tmp"
    pointer.write_text(version, "utf-8")
    os.replace(pointer, base / CURRENT)
    return final


def published(reg: Registry, year: int) -> Path:
    """The directory of the year's current published version, or NotFound."""
    base = reports_dir(reg) / str(year)
    try:
        version = (base / CURRENT).read_text("utf-8").strip()
    except OSError:
        version = ""
    d = base / version if version else None
    if d is None or not version.isalnum() or not d.is_dir():
        raise NotFound(
            f"no published report for {year}: the operator publishes one with "
            f"`socialcredit report --year {year} --publish`"
        )
    return d


def published_file(reg: Registry, year: int, name: str) -> Path:
    """One file of the current version (``name`` as written by ``write_report``)."""
    if "/" in name or "\\" in name or name.startswith("."):
        raise NotFound(f"no file {name!r}")
    p = published(reg, year) / name
    if not p.is_file():
        raise NotFound(f"the {year} report has no {name!r}")
    return p


def file_names(reg: Registry, year: int, suffix: str, prefix: str = "") -> list[str]:
    d = published(reg, year)
    return sorted(
        p.name.removeprefix(prefix).removesuffix(suffix)
        for p in d.iterdir()
        if p.name.endswith(suffix)
        and p.name.startswith(prefix)
        and not p.name.startswith("report-")
    )


def prune(reg: Registry, year: int, keep: int = 3) -> list[Path]:
    """Remove all but the newest ``keep`` versions (never the current one)."""
    base = reports_dir(reg) / str(year)
    current = published(reg, year).name
    versions = sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))
    gone = [p for p in versions[:-keep] if p.name != current]
    for p in gone:
        shutil.rmtree(p, ignore_errors=True)
    return gone


def meta(reg: Registry, year: int) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((published(reg, year) / "meta.json").read_text("utf-8"))
    return data
