"""The ``socialcredit`` command: Typer + Rich. Every read command takes ``--json``.

This module is the root: ``init`` and ``serve``, and it mounts each capability's commands
(``<capability>/commands.py``, each exposing ``register(app)``). Errors from the registry are
printed as one clear message (what and where) with exit status 2, never as a traceback.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from socialcredit import __version__
from socialcredit.runtime.console import (
    EXIT_CODES,
    JsonOpt,
    cli_registry,
    errors,
    out,
    print_json,
)
from socialcredit.settings import Settings

if TYPE_CHECKING:
    from socialcredit.runtime.registry import Registry


def _epilog() -> str:
    """The settings (environment variables, with their defaults) and the exit codes; Click
    keeps paragraphs apart at blank lines and rewraps each one, hence one per line."""
    settings = [
        f"{name}={'' if f.default is None else f.default}  ({f.description})"
        for name, f in ((f"SOCIALCREDIT_{k.upper()}", f) for k, f in Settings.model_fields.items())
    ]
    return "\n\n".join(
        [
            "Settings come from the environment (defaults shown):",
            *settings,
            "SOCIALCREDIT_DEBUG=1  (print the traceback of an internal error)",
            "Exit status:",
            *(f"{code}  {what}" for code, what in EXIT_CODES.items()),
        ]
    )


app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="A social credit registry: records from authorities become restrictions, relying "
    "parties screen IDs, and subjects see their file and object. Start with `socialcredit "
    "init`, then `socialcredit --help` for each command.",
    epilog=_epilog(),
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


DEMO_CREDENTIALS = Path("var/demo-credentials.json")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"socialcredit {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="print the version and exit"
        ),
    ] = False,
) -> None:
    """Options that come before any command."""


@app.command()
def init(as_json: JsonOpt = False) -> None:
    """Create or upgrade the database and register the reference authorities."""
    from socialcredit.registry import seed_reference_authorities

    with errors(as_json):
        reg = cli_registry(migrate=True)
        with reg.uow() as uow:
            added = len(seed_reference_authorities(uow, reg.pack))
            uow.commit()
        info = {
            "database": reg.engine.url.render_as_string(hide_password=True),
            "rulepack_version": reg.pack.version,
            "authorities_added": added,
        }
        if as_json:
            print_json(info)
        else:
            out.print(
                f"registry ready at [bold]{info['database']}[/] "
                f"(rule pack {reg.pack.version}; {added} authorities added)"
            )


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="default: SOCIALCREDIT_HOST, else 127.0.0.1")
    ] = None,
    port: Annotated[int | None, typer.Option(help="default: SOCIALCREDIT_PORT, else 8000")] = None,
    demo_keys: Annotated[
        bool,
        typer.Option(
            "--demo-keys",
            help="print the demo relying parties' keys and the operator token, issued once "
            "and kept in --credentials for the next run",
        ),
    ] = False,
    credentials: Annotated[
        Path,
        typer.Option(help="where --demo-keys keeps the demo credentials (mode 0600)"),
    ] = DEMO_CREDENTIALS,
    loop: Annotated[str, typer.Option(help="event loop: auto (uvloop), uvloop, asyncio")] = "auto",
    http: Annotated[
        str, typer.Option(help="HTTP parser: auto (httptools), httptools, h11")
    ] = "auto",
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="server processes accepting on one port, sharing one memory-mapped index"
            " snapshot; more than 1 needs SOCIALCREDIT_RATE_LIMIT_URL on redis://... (every"
            " `limits` counter follows it unless its own setting says otherwise)",
        ),
    ] = 1,
) -> None:
    """Start the HTTP service (FastAPI + uvicorn on uvloop and httptools)."""
    import uvicorn

    from socialcredit.runtime.server import tune_interpreter, uvicorn_options
    from socialcredit.web.app import create_app

    try:
        options = uvicorn_options(loop, http)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None
    with errors():
        reg = cli_registry(migrate=True)
        if demo_keys:
            _demo_credentials(reg, credentials)
        elif not reg.settings.operator_token:
            reg.settings.operator_token = secrets.token_urlsafe(24)
            out.print(f"operator token (this run only): [bold]{reg.settings.operator_token}[/]")
        h = host or reg.settings.host
        p = port or reg.settings.port
        out.print(
            f"serving on http://{h}:{p}  (API docs: http://{h}:{p}/docs)  "
            f"({options['loop']} + {options['http']})"
        )
        tune_interpreter()
        if workers > 1:
            _serve_workers(reg, h, p, workers, options)
            return
        app = create_app(reg)
        app.state.freeze_heap = True  # once started: see runtime/server.py
        uvicorn.run(app, host=h, port=p, **options)


def _demo_credentials(reg: Registry, path: Path) -> None:
    """The demo's keys and operator token, the same on every run: read from ``path`` when it
    is there (a key revoked since is replaced), written back (owner-only) when anything is
    new, and printed unwrapped so they can be copied."""
    from socialcredit.screening.parties import ensure_demo_parties

    try:
        kept = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        kept = {}
    kept = kept if isinstance(kept, dict) else {}
    token = reg.settings.operator_token or kept.get("operator_token") or secrets.token_urlsafe(24)
    reg.settings.operator_token = token
    keys = {k.party: k.key for k in ensure_demo_parties(reg, kept.get("api_keys") or {})}
    now = {"operator_token": token, "api_keys": keys}
    if now != kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(now, f, indent=2)
        os.replace(tmp, path)
    typer.echo(f"operator token: {token}  (kept in {path})")
    for party, key in keys.items():
        typer.echo(f"demo relying party {party}: API key {key}")  # no wrapping


def _serve_workers(reg: Any, host: str, port: int, workers: int, options: dict[str, Any]) -> None:
    """Prepare the index snapshot once, then start the workers (runtime/workers.py)."""
    from socialcredit.errors import RegistryError
    from socialcredit.runtime.workers import run_workers
    from socialcredit.screening.service import Screener, default_snapshot

    # Limits in memory would be per worker: N workers would let a key through N times its
    # rate, and N times the failed sign-ins before a lockout. Refused rather than multiplied.
    local = [
        f"SOCIALCREDIT_{name.upper()}"
        for name in ("rate_limit_url", "ratelimit_storage_url", "limits_storage_url")
        if getattr(reg.settings, name).startswith("memory://")
    ]
    if local:
        raise RegistryError(
            f"--workers above 1 needs shared rate limits: set {' and '.join(local)} to "
            "redis://host:port"
        )
    snap = default_snapshot(reg)
    if snap is None:
        raise RegistryError(
            "--workers above 1 maps one index snapshot: set SOCIALCREDIT_SNAPSHOT_DIR"
        )
    screener = Screener.open(reg, snap)
    screener.refresh(reg, force_keys=True)
    screener.save(snap)
    out.print(f"index snapshot at {snap}: {screener.stats()['restricted_subjects']} subjects")
    del screener
    # The workers are new interpreters: they read the settings from the environment, so the
    # token printed above must be there too.
    os.environ["SOCIALCREDIT_OPERATOR_TOKEN"] = reg.settings.operator_token or ""
    reg.engine.dispose()
    reg.read_engine.dispose()
    run_workers(host, port, workers, options)


# Commands of each capability live in their own module, which exposes
# ``register(app: typer.Typer) -> None`` adding its commands or groups; this module stays the
# only entry point. Shared helpers live in ``socialcredit.runtime.console``.
COMMAND_MODULES: tuple[str, ...] = (
    "socialcredit.registry.commands",
    "socialcredit.synthetic.commands",
    "socialcredit.dueprocess.commands",
    "socialcredit.scoring.commands",
    "socialcredit.reports.commands",
    "socialcredit.screening.commands",
    "socialcredit.integrity.commands",
    "socialcredit.accounts.commands",  # user add/list/disable/reset (issue 11)
    "socialcredit.screening.alert_commands",
)


def _add_groups() -> None:
    import importlib

    for modname in COMMAND_MODULES:
        importlib.import_module(modname).register(app)


def main() -> None:
    _add_groups()
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


_: Callable[..., Any] = main
