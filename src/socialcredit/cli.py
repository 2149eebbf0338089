"""The ``socialcredit`` command: Typer + Rich. Every read command takes ``--json``.

This module is the root: ``init`` and ``serve``, and it mounts each capability's commands
(``<capability>/commands.py``, each exposing ``register(app)``). Errors from the registry are
printed as one clear message (what and where) with exit status 2, never as a traceback.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from socialcredit.runtime.console import JsonOpt, cli_registry, errors, out, print_json

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help=__doc__, pretty_exceptions_enable=False
)


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
    host: Annotated[str | None, typer.Option(help="default from settings (127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="default from settings (8000)")] = None,
    demo_keys: Annotated[
        bool, typer.Option("--demo-keys", help="(re)issue and print demo relying-party keys")
    ] = False,
    loop: Annotated[str, typer.Option(help="event loop: auto (uvloop), uvloop, asyncio")] = "auto",
    http: Annotated[
        str, typer.Option(help="HTTP parser: auto (httptools), httptools, h11")
    ] = "auto",
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
        if not reg.settings.operator_token:
            reg.settings.operator_token = secrets.token_urlsafe(24)
            out.print(f"operator token (this run only): [bold]{reg.settings.operator_token}[/]")
        if demo_keys:
            from socialcredit.screening.parties import ensure_demo_parties

            for k in ensure_demo_parties(reg):
                typer.echo(f"demo relying party {k.party}: API key {k.key}")  # no wrapping
        h = host or reg.settings.host
        p = port or reg.settings.port
        if demo_keys:
            _print_demo_citizen(reg, f"http://{h}:{p}/me")
        out.print(
            f"serving on http://{h}:{p}  (API docs: http://{h}:{p}/docs)  "
            f"({options['loop']} + {options['http']})"
        )
        tune_interpreter()
        app = create_app(reg)
        app.state.freeze_heap = True  # once started: see runtime/server.py
        uvicorn.run(app, host=h, port=p, **options)


def _print_demo_citizen(reg: Any, portal: str) -> None:
    """The citizen portal's address and a listed person with a letter code (issue 11)."""
    from socialcredit.dueprocess.demo import demo_citizen

    typer.echo(f"citizen portal: {portal}")
    c = demo_citizen(reg)
    if c is not None:
        typer.echo(f"demo citizen {c.name}: ID {c.subject_id}, letter code {c.code} (60 days)")


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
