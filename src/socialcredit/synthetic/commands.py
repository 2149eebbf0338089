"""Commands of the synthetic population: ``generate`` loads a realistic demo registry."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from socialcredit.runtime.console import (
    JsonOpt,
    cli_registry,
    errors,
    out,
    print_json,
    progress_bar,
)


def register(app: typer.Typer) -> None:
    app.command()(generate)


def generate(
    individuals: Annotated[int, typer.Option(min=0, help="people to generate")] = 100_000,
    enterprises: Annotated[int, typer.Option(min=0, help="enterprises to generate")] = 5_000,
    seed: Annotated[int, typer.Option(help="the same seed gives the same population")] = 2026,
    year: Annotated[
        int | None, typer.Option(help="the year of records (default: this year)")
    ] = None,
    scale: Annotated[
        float | None,
        typer.Option(help="records relative to the national rate (default: population share)"),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="also write subjects and records files (parquet) here"),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Generate a synthetic population and a year of records, and load them into the registry."""
    from socialcredit.synthetic.populate import populate

    with errors(as_json):
        reg = cli_registry()
        with progress_bar() as bar:
            tasks: dict[str, Any] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done, total=total)

            summary = populate(
                reg,
                individuals=individuals,
                enterprises=enterprises,
                seed=seed,
                year=year,
                scale=scale,
                out_dir=out_dir,
                progress=progress,
            )
        if as_json:
            print_json(summary)
        else:
            out.print(
                f"{summary['subjects_added']} subjects and {summary['records_accepted']} record "
                f"events loaded ({summary['rejected']} rejected) in {summary['seconds']:.1f}s"
            )
