"""Screening commands: relying parties and their keys, and offline manifest screening.

socialcredit party add CODE --name N --sector flight [--sector ...] [--rate-per-minute R]
socialcredit party list
socialcredit party key-rotate CODE        # new key; the old ones stop working
socialcredit party key-revoke PREFIX
socialcredit screen FILE --sector S [--out decisions.csv|.parquet]
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from socialcredit.runtime import console as c

party_app = typer.Typer(no_args_is_help=True, help="Relying parties and their API keys.")

OUT_FIELDS = (
    "row",
    "subject_id",
    "decision",
    "sector",
    "reason_code",
    "until",
    "until_condition",
    "benefit",
    "error",
    "message",
)


@party_app.command("add")
def party_add(
    code: Annotated[str, typer.Argument(help="a short code, e.g. AIRLINE-CA")],
    name: Annotated[str, typer.Option(help="full name")],
    sector: Annotated[list[str], typer.Option(help="a sector of the rule pack it serves (repeat)")],
    rate_per_minute: Annotated[
        int | None, typer.Option(help="screenings a minute per key (default 600,000)")
    ] = None,
    as_json: c.JsonOpt = False,
) -> None:
    """Register a relying party for its sectors and print its first API key (shown once)."""
    from socialcredit.screening.parties import add_party

    with c.errors(as_json):
        reg = c.cli_registry()
        for s in sector:
            c.require_sector(reg, s)
        key = add_party(reg, code, name, sector, rate_per_minute)
        _print_key(key, as_json)


def _print_key(key: Any, as_json: bool) -> None:
    if as_json:
        c.print_json({"party": key.party, "prefix": key.prefix, "api_key": key.key})
    else:
        typer.echo(f"{key.party}: API key (shown once): {key.key}")


@party_app.command("list")
def party_list(as_json: c.JsonOpt = False) -> None:
    """Relying parties, their sectors and keys (prefixes only)."""
    from rich.markup import escape

    from socialcredit.screening.parties import list_parties

    with c.errors(as_json):
        rows = list_parties(c.cli_registry())
        if as_json:
            c.print_json(rows)
            return
        rendered = []
        for p in rows:
            keys = p["keys"]
            assert isinstance(keys, list)
            rendered.append(
                (
                    str(p["code"]),
                    escape(str(p["name"])),
                    ", ".join(p["sectors"]),  # type: ignore[arg-type]
                    str(p["rate_per_minute"]),
                    "\n".join(
                        k["prefix"] + (" (revoked)" if k["revoked_at"] else "") for k in keys
                    ),
                )
            )
        c.show_table(
            ("code", "name", "sectors", "rate/min", "keys"), rendered, wrap=("name", "sectors")
        )


@party_app.command("key-rotate")
def party_key_rotate(
    code: Annotated[str, typer.Argument(help="the relying party's code")],
    keep_old: Annotated[
        bool, typer.Option("--keep-old", help="leave the old keys working (for a handover)")
    ] = False,
    as_json: c.JsonOpt = False,
) -> None:
    """Issue a new key; the party's other keys are revoked unless --keep-old."""
    from socialcredit.screening.parties import rotate_key

    with c.errors(as_json):
        _print_key(rotate_key(c.cli_registry(), code, revoke_old=not keep_old), as_json)


@party_app.command("key-revoke")
def party_key_revoke(
    prefix: Annotated[str, typer.Argument(help="the key's prefix, from `party list`")],
    as_json: c.JsonOpt = False,
) -> None:
    """Revoke one key by its prefix; servers stop accepting it within about a second."""
    from socialcredit.screening.parties import revoke_key

    with c.errors(as_json):
        party = revoke_key(c.cli_registry(), prefix)
        if as_json:
            c.print_json({"party": party, "prefix": prefix, "revoked": True})
        else:
            c.out.print(f"revoked key {prefix} of {party}")


def _manifest(path: Path, sector: str) -> Iterator[Any]:
    """Rows of a CSV / JSONL / Parquet manifest as screening requests."""
    import json

    from socialcredit.errors import InvalidInput
    from socialcredit.screening.api import Request

    def row(d: dict[str, Any], n: int) -> Any:
        sid = d.get("subject_id")
        if not sid:
            return InvalidInput.one("subject_id", "required", None, n)
        name = d.get("name") or ""
        return Request(str(sid), str(name), str(d.get("sector") or sector), "offline screening")

    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        n = 0
        for batch in pf.iter_batches(batch_size=50_000):
            for d in batch.to_pylist():
                n += 1
                yield row(d, n)
        return
    with path.open(encoding="utf-8", newline="") as f:
        if suffix in (".jsonl", ".ndjson", ".json"):
            for n, line in enumerate(f, start=1):
                if line.strip():
                    try:
                        yield row(json.loads(line), n)
                    except (ValueError, AttributeError):
                        yield InvalidInput.one("row", "not a JSON object", line[:100], n)
            return
        for n, d in enumerate(csv.DictReader(f), start=1):
            yield row(d, n)


def _count_rows(path: Path) -> int | None:
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    with path.open("rb") as f:
        n = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    return n - (1 if path.suffix.lower() == ".csv" else 0)


def screen(
    file: Annotated[Path, typer.Argument(help="a manifest: .csv, .jsonl or .parquet")],
    sector: Annotated[
        str, typer.Option(help="a sector of the rule pack, for rows that do not name one")
    ],
    out_file: Annotated[
        Path | None, typer.Option("--out", help="write decisions to .csv or .parquet")
    ] = None,
    as_json: c.JsonOpt = False,
) -> None:
    """Screen a manifest offline, through the same index the server answers from."""
    from socialcredit.errors import InvalidInput
    from socialcredit.screening.api import ScreeningRuntime

    with c.errors(as_json):
        if not file.is_file():
            raise InvalidInput.one("FILE", "no such file", str(file))
        if out_file is not None and out_file.suffix.lower() not in (".csv", ".parquet"):
            raise InvalidInput.one("--out", "must end in .csv or .parquet", str(out_file))
        reg = c.cli_registry()
        c.require_sector(reg, sector)
        rt = ScreeningRuntime.open(reg)
        total = _count_rows(file)
        counts = {"allow": 0, "deny": 0, "error": 0}
        results: list[dict[str, Any]] = []
        with c.progress_bar() as bar:
            task = bar.add_task(f"screening {file.name}", total=total)
            for i, d in enumerate(rt.screen_rows(None, _manifest(file, sector), log_rows=False)):
                counts[d.get("decision") or "error"] += 1
                if out_file is not None or as_json:
                    d.pop("screening_id", None)
                    results.append(d)
                if i % 10_000 == 0:
                    bar.update(task, completed=i)
            bar.update(task, completed=sum(counts.values()))
        if out_file is not None:
            _write(out_file, results)
        summary = {"file": str(file), "rows": sum(counts.values()), **counts}
        if out_file is not None:
            summary["out"] = str(out_file)
        if as_json:
            c.print_json({**summary, "decisions": results if out_file is None else None})
        else:
            c.out.print(
                f"{summary['rows']} rows: [green]{counts['allow']} allow[/], "
                f"[red]{counts['deny']} deny[/], {counts['error']} errors"
                + (f"; decisions in {out_file}" if out_file else "")
            )


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        cols = {k: [r.get(k) for r in rows] for k in OUT_FIELDS}
        cols["row"] = [int(r["row"]) for r in rows]
        pq.write_table(pa.table(cols), path)
        return
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, OUT_FIELDS, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


def register(app: typer.Typer) -> None:
    app.add_typer(party_app, name="party")
    app.command("screen")(screen)
    app.command()(check)


def check(
    subject_id: Annotated[str, typer.Argument(help="a resident ID or credit code")],
    sector: Annotated[
        str, typer.Option(help="a sector of the rule pack, e.g. flight, rail.high_class")
    ],
    name: Annotated[
        str | None,
        typer.Option(help="the name on the ID card, checked as the screening API checks it"),
    ] = None,
    on: c.OnOpt = None,
    as_json: c.JsonOpt = False,
) -> None:
    """May this subject buy or do this, in this sector, now (or on --on)?

    Answers as the screening API does: an ID the registry does not hold, or a name that is
    not the registry's, is refused (exit 2) as the API refuses it (422), never allowed."""
    from socialcredit.domain.normalise import normalise_identifier
    from socialcredit.errors import InvalidInput
    from socialcredit.registry import decision_dict
    from socialcredit.screening.check import check_decision
    from socialcredit.screening.names import name_hash

    subject_id = normalise_identifier(subject_id)  # one key everywhere (issue 14)
    with c.errors(as_json):
        reg = c.cli_registry()
        c.require_sector(reg, sector)
        day = c.parse_date(on) or reg.today()
        sid, registered = c.registered_name(reg, subject_id)
        if registered is None:
            raise InvalidInput.one(
                "subject_id",
                "is not in the registry: the screening API refuses it (422) as it refuses a "
                "name that does not match",
                sid,
            )
        if name is not None and name_hash(name) != name_hash(registered):
            raise InvalidInput.one(
                "name", "does not match the registry's name for this subject_id", name
            )
        # the screening index's code path, as the server answers (reasons from the engine)
        decision = check_decision(reg, subject_id, sector, day)
        # as the registry reads it: ASCII, upper case, a 15-digit number in its 18-digit form
        d = decision_dict(decision, sid, day)
        if as_json:
            c.print_json(d)
            return
        colour = "green" if d["decision"] == "allow" else "red"
        until = f"until {d['until']}" if d["until"] else d["until_condition"]
        c.out.print(
            f"[{colour} bold]{d['decision'].upper()}[/] {sector} for {d['subject_id']} on {day}"
            + (f" {until}" if d["decision"] == "deny" else ""),
            highlight=False,
        )
        for r in d["reasons"]:
            c.out.print(f"  because {r['explanation']}", highlight=False)
