"""What every command module shares: the consoles, the common options, one error mapping
(a clear message and exit 2 for a registry or configuration error, exit 70 for anything
unexpected, never a traceback), opening the registry from the environment, tables that never
cut a value, JSON output and Rich progress bars."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

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


EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 70, 130

EXIT_CODES = {
    EXIT_OK: "done",
    EXIT_REJECTED: "done, but something is wrong: lines rejected (ingest), a proof that fails"
    " or a chain or log that does not verify (audit verify, log prove, log verify)",
    EXIT_USAGE: "bad input, bad usage or a configuration error (nothing was changed); "
    "an inconsistent log (log monitor)",
    EXIT_INTERNAL: "internal error (set SOCIALCREDIT_DEBUG=1 for the traceback)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
}


class ConfigurationError(RegistryError):
    """The registry cannot be reached or is not set up: a message, exit status 2."""

    code = "configuration_error"


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
            # unwrapped: a message is copied and searched for, the terminal wraps it
            err.print(f"[red]error:[/] {e.message}", highlight=False, soft_wrap=True)
            for p in e.problems[:50]:
                if str(p) not in e.message:
                    err.print(f"  - {p}", highlight=False, soft_wrap=True)
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


def require_sector(reg: Registry, sector: str, option: str = "--sector") -> str:
    """``sector`` if the rule pack in force has it, else a clear error listing those it has."""
    if sector not in reg.pack.sectors:
        from socialcredit.errors import InvalidInput

        allowed = ", ".join(sorted(reg.pack.sectors))
        raise InvalidInput.one(
            option, f"not a sector of rule pack {reg.pack.version}; one of: {allowed}", sector
        )
    return sector


def registered_name(reg: Registry, raw_id: str) -> tuple[str, str | None]:
    """The subject's normalised ID and the registry's name for them (None: not registered)."""
    from sqlalchemy import select

    from socialcredit.domain.identity import parse_subject_id
    from socialcredit.store.tables import subjects

    sid = parse_subject_id(raw_id, field="subject_id").value
    with reg.engine.connect() as conn:
        name = conn.execute(select(subjects.c.name).where(subjects.c.id == sid)).scalar()
    return sid, name


def require_known_subject(reg: Registry, raw_id: str) -> str:
    """The subject's normalised ID; NotFound (as `subject show` says) if not registered."""
    from socialcredit.errors import NotFound

    sid, name = registered_name(reg, raw_id)
    if name is None:
        raise NotFound(f"subject {sid} is not in the registry")
    return sid


def cli_registry(migrate: bool = False) -> Registry:
    """The registry the environment names. Only ``migrate`` (``init``, ``serve``) may create a
    database: any other command refuses a SQLite file that does not exist rather than leave an
    empty one behind, and says how to fix a registry that is missing, empty or unreachable."""
    from sqlalchemy.exc import DBAPIError

    from socialcredit.runtime.registry import open_registry

    settings = cli_settings()
    if not migrate:
        _require_database_file(settings.database_url)
    try:
        return open_registry(settings, migrate_schema=migrate)
    except DBAPIError as e:
        raise _diagnose(settings.database_url, e) from None


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _not_initialised(url: str) -> ConfigurationError:
    return ConfigurationError(
        f"the registry at {_shown(url)} is not initialised: run `socialcredit init` first "
        "(or set SOCIALCREDIT_DATABASE_URL to the registry you mean)"
    )


def _require_database_file(url: str) -> None:
    from pathlib import Path

    from sqlalchemy.engine import make_url

    u = make_url(url)
    if u.get_backend_name() == "sqlite" and u.database not in (None, "", ":memory:"):
        if not Path(str(u.database)).is_file():
            raise _not_initialised(url)


def _diagnose(url: str, e: Exception) -> RegistryError | Exception:
    """What a database error at start-up means for the user: unreachable, or not initialised
    (no schema); anything else stays an internal error."""
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.pool import NullPool

    u = make_url(url)
    if u.get_backend_name() == "postgresql" and u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    probe = create_engine(u, poolclass=NullPool)
    try:
        with probe.connect() as conn:
            initialised = inspect(conn).has_table("alembic_version")
    except DBAPIError as cause:
        where = f" ({u.host or 'localhost'}:{u.port or 5432})" if u.host or u.port else ""
        reason = str(cause.orig).strip().splitlines()[0] if cause.orig else str(cause)
        return ConfigurationError(
            f"cannot connect to the database at {_shown(url)}{where}: {reason}"
        )
    finally:
        probe.dispose()
    return e if initialised else _not_initialised(url)


def print_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


class _LinesColumn(ProgressColumn):
    """Lines seen so far (and the total when known) from the task's ``lines`` fields."""

    def render(self, task: Task) -> Text:
        done, total = task.fields.get("lines"), task.fields.get("lines_total")
        if done is None:
            return Text("")
        return Text(f"{done:,}" + (f"/{total:,}" if total else "") + " lines")


def file_progress_bar() -> Progress:
    """A bar over a file's bytes: MB read of the total, lines, rate and time left, from the
    first chunk; the description names the stage, and tasks carry ``lines`` and
    ``lines_total``. Narrow enough for 80 columns."""
    return Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(bar_width=12),
        DownloadColumn(),
        _LinesColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    )


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


def show_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    wrap: Collection[str] = (),
    title: str | None = None,
) -> None:
    """A table that never cuts a value: identifiers, categories and dates are printed whole
    (only the ``wrap`` columns, free text, may wrap), and when even they do not fit the
    terminal each row is printed as ``column: value`` lines instead."""
    values = [i for i, h in enumerate(headers) if h not in wrap]
    cells = [[Text.from_markup(c) for c in r] for r in rows]
    whole = sum(
        max([len(headers[i]), *(n for r in cells for n in _line_lengths(r[i]))]) + 2 for i in values
    )
    need = whole + (len(headers) - len(values)) * (MIN_WRAP_WIDTH + 2) + len(headers) + 1
    if need <= out.width:
        t = Table(title=title)
        for h in headers:
            if h in wrap:
                t.add_column(h, overflow="fold", min_width=MIN_WRAP_WIDTH)
            else:
                t.add_column(h, no_wrap=True)
        for r in cells:
            t.add_row(*r)
        out.print(t)
        return
    if title:
        out.print(Text(title, style="bold"))
    width = max(len(h) for h in headers)
    for n, r in enumerate(cells):
        if n:
            out.print()
        for h, c in zip(headers, r, strict=True):
            out.print(Text.assemble(f"{h:>{width}}: ", c), soft_wrap=True)


MIN_WRAP_WIDTH = 12


def _line_lengths(t: Text) -> list[int]:
    return [line.cell_len for line in t.split("\n")] or [0]
