"""What every command module shares: the consoles, the common options, one error mapping
(a clear message and exit 2 for a registry error, exit 70 for anything unexpected, never a
traceback), opening the registry from the environment, JSON output and Rich progress bars."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from socialcredit.errors import RegistryError
from socialcredit.settings import Settings, load_settings

if TYPE_CHECKING:
    from socialcredit.runtime.registry import Registry

out = Console()
err = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of tables")]
OnOpt = Annotated[
    str | None, typer.Option("--on", help="as of this date (YYYY-MM-DD); default today")
]


def cli_settings() -> Settings:
    try:
        return load_settings()
    except ValueError as e:  # pydantic's ValidationError is a ValueError
        err.print(f"[red]configuration error:[/] {e}")
        raise typer.Exit(2) from None


@contextmanager
def errors(as_json: bool = False) -> Iterator[None]:
    try:
        yield
    except RegistryError as e:
        if as_json:
            typer.echo(json.dumps(e.to_dict(), ensure_ascii=False))
        else:
            err.print(f"[red]error:[/] {e.message}", highlight=False)
            for p in e.problems[:50]:
                if str(p) not in e.message:
                    err.print(f"  - {p}", highlight=False)
            if len(e.problems) > 50:
                err.print(f"  ... and {len(e.problems) - 50} more")
        raise typer.Exit(2) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as e:
        if os.environ.get("SOCIALCREDIT_DEBUG"):
            raise
        err.print(
            f"[red]internal error:[/] {type(e).__name__}: {e} "
            "(set SOCIALCREDIT_DEBUG=1 for the traceback)",
            highlight=False,
        )
        raise typer.Exit(70) from None


def parse_date(raw: str | None, field: str = "--on") -> dt.date | None:
    if raw is None:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        from socialcredit.errors import InvalidInput

        raise InvalidInput.one(field, "must be a date YYYY-MM-DD", raw) from None


def cli_registry(migrate: bool = False) -> Registry:
    from socialcredit.runtime.registry import open_registry

    return open_registry(cli_settings(), migrate_schema=migrate)


def print_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )
