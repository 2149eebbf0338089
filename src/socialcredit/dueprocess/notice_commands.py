"""Due-process commands to do with telling subjects: notices and their worker, the local
mail catcher and its mailbox, a subject's registered contact, and the audit trail the notices
are logged in. Mounted by ``register`` in ``dueprocess.commands``."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from socialcredit.runtime.console import (
    JsonOpt,
    cli_registry,
    err,
    errors,
    out,
    print_json,
    show_table,
)

notices_app = typer.Typer(no_args_is_help=True, help="Notices to subjects: outbox and worker.")
audit_app = typer.Typer(no_args_is_help=True, help="The hash-chained audit log.")
contact_app = typer.Typer(no_args_is_help=True, help="A subject's registered contact.")

MailDir = Annotated[Path, typer.Option("--dir", help="where the catcher stores mail")]
SubjectArg = Annotated[str, typer.Argument(help="the subject's resident ID or credit code")]


@contact_app.command("set")
def contact_set(
    subject_id: SubjectArg,
    email: Annotated[str, typer.Argument(help="where notices and one-time codes go")],
    as_json: JsonOpt = False,
) -> None:
    """Register a subject's email address (where notices and one-time codes go)."""
    from sqlalchemy import update

    from socialcredit.domain.identity import parse_subject_id
    from socialcredit.errors import InvalidInput, NotFound
    from socialcredit.integrity import audit
    from socialcredit.store.tables import subjects

    with errors(as_json):
        reg = cli_registry()
        sid = parse_subject_id(subject_id).value
        if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
            raise InvalidInput.one("EMAIL", "is not an email address", email)
        with reg.engine.begin() as conn:
            res = conn.execute(
                update(subjects).where(subjects.c.id == sid).values(contact_email=email)
            )
            if res.rowcount != 1:
                raise NotFound(f"subject {sid} is not in the registry")
            audit.append(conn, reg.now(), "operator", "subject.contact_set", subject_id=sid)
        print_json({"subject_id": sid, "email": email}) if as_json else out.print(
            f"contact of {sid} set"
        )


@notices_app.command("work")
def notices_work(
    once: Annotated[bool, typer.Option("--once", help="stop when nothing is left to do")] = False,
    worker: Annotated[str | None, typer.Option(help="worker name (default host:pid)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Plan notices for new record events and deliver due emails, with retries."""
    import time

    from socialcredit.dueprocess.delivery import run_worker
    from socialcredit.integrity import log_key, maybe_sign_head

    with errors(as_json):
        name = worker or f"{socket.gethostname()}:{os.getpid()}"
        reg = cli_registry()
        key = log_key(reg.settings)
        last = [-1e9]

        def heads() -> None:
            # a head at most once a minute while the log grows (maybe_sign_head decides);
            # asked every 10 s, not every idle round: asking is a write transaction
            if time.monotonic() - last[0] >= 10:
                last[0] = time.monotonic()
                maybe_sign_head(reg.engine, reg.now(), key)

        try:
            totals = run_worker(reg, name, once=once, each_round=heads)
        except KeyboardInterrupt:
            return
        print_json(totals) if as_json else out.print(
            ", ".join(f"{k} {v}" for k, v in totals.items())
        )


@notices_app.command("list")
def notices_list(
    subject: Annotated[str, typer.Option(help="the subject's resident ID or credit code")],
    as_json: JsonOpt = False,
) -> None:
    """A subject's notices."""
    from socialcredit.domain.identity import parse_subject_id
    from socialcredit.dueprocess.outbox import notices_for_subject

    with errors(as_json):
        rows = notices_for_subject(cli_registry(), parse_subject_id(subject).value)
        if as_json:
            print_json(rows)
            return
        show_table(
            ("id", "kind", "channel", "status", "created", "subject"),
            [
                (
                    str(n["id"]),
                    n["kind"],
                    n["channel"],
                    n["status"],
                    str(n["created_at"]),
                    escape(n["subject_line"] or ""),
                )
                for n in rows
            ],
            wrap=("subject",),
        )


@notices_app.command("letter")
def notices_letter(
    notice_id: Annotated[int, typer.Argument(help="the notice's id from `notices list`")],
    printed: Annotated[bool, typer.Option(help="record that the letter went to print")] = False,
) -> None:
    """Print a notice's letter as HTML (``--printed`` records that it went to print)."""
    from socialcredit.dueprocess.delivery import mark_letter
    from socialcredit.dueprocess.outbox import get_notice, issue_copy

    with errors():
        reg = cli_registry()
        typer.echo(issue_copy(reg, get_notice(reg, notice_id))[1])  # with a new sign-in code
        if printed:
            mark_letter(reg, notice_id, "sent", "operator")


@notices_app.command("served")
def notices_served(
    notice_id: Annotated[int, typer.Argument(help="the notice's id from `notices list`")],
    as_json: JsonOpt = False,
) -> None:
    """Record that an authority served a letter on the subject."""
    from socialcredit.dueprocess.delivery import mark_letter

    with errors(as_json):
        d = mark_letter(cli_registry(), notice_id, "delivered", "operator")
        print_json(d) if as_json else out.print(f"notice {notice_id} served")


@audit_app.command("verify")
def audit_verify(
    head: Annotated[
        str | None, typer.Option(help="retired: the old chain's SEQ:HASH (refused, exit 2)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The audit trail is part of the transparency log: this is `log verify` (every leaf
    recomputed from its row, every signed head checked); exit status 1 naming what is wrong."""
    from socialcredit.integrity.audit import verify

    with errors(as_json):
        reg = cli_registry()
        v = verify(reg.engine, reg.settings, head)
        if as_json:
            print_json(v.to_dict())
        else:
            state = "[green]intact[/]" if v.ok else "[red]NOT INTACT[/]"
            out.print(f"audit trail (transparency log) {state}: {v.leaves} leaves")
            for p in [*v.problems, *map(str, v.bad_leaves)]:
                err.print(f"  - {p}", highlight=False)
        if not v.ok:
            raise typer.Exit(1)


@audit_app.command("head")
def audit_head() -> None:
    """Retired with the hash chain: keep `socialcredit log head` instead (exit status 2)."""
    from socialcredit.integrity.audit import RETIRED_HEAD

    err.print(f"[red]error:[/] {RETIRED_HEAD}", highlight=False)
    raise typer.Exit(2)


def mailcatcher(
    directory: MailDir = Path("var/mail"),
    host: Annotated[str, typer.Option(help="loopback address to listen on")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="SMTP port (SOCIALCREDIT_SMTP_PORT of the registry)")
    ] = 1025,
) -> None:
    """Run a local SMTP mail catcher (stores mail in --dir; read it with `mailbox`)."""
    from socialcredit.dueprocess.mailcatcher import serve

    if host not in ("127.0.0.1", "localhost", "::1"):
        err.print("[red]error:[/] the mail catcher listens on loopback only")
        raise typer.Exit(2)
    ctl = serve(directory, host, port)
    out.print(f"mail catcher on smtp://{host}:{port}, storing in {directory}/")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        ctl.stop()


def mailbox(
    directory: MailDir = Path("var/mail"),
    last: Annotated[int, typer.Option(min=1, help="show the last N messages")] = 5,
    to: Annotated[str | None, typer.Option(help="only messages to this address")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Read what the mail catcher received."""
    from socialcredit.dueprocess.mailcatcher import read_mailbox

    mails = read_mailbox(directory, to=to, last=last)
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "file": str(m.path),
                        "message_id": m.message_id,
                        "to": m.to,
                        "subject": m.subject,
                        "body": m.body,
                    }
                    for m in mails
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    if not mails:
        out.print(f"no messages{f' to {to}' if to else ''} in {directory}/", highlight=False)
    for m in mails:
        out.rule(f"{m.subject}")
        out.print(f"To: {m.to}   Message-ID: {m.message_id}   ({m.path.name})", highlight=False)
        out.print(m.body, highlight=False, markup=False)
