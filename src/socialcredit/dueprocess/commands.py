"""Due-process commands: reviewers, cases, notices and their worker, the mail catcher, the
audit chain, and a subject's registered contact. Registered by ``cli.COMMAND_MODULES``."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from socialcredit.runtime.console import JsonOpt, cli_registry, err, errors, out, print_json

case_app = typer.Typer(no_args_is_help=True, help="Objections, reconsideration and repair.")
reviewer_app = typer.Typer(no_args_is_help=True, help="Reviewers who decide cases.")
notices_app = typer.Typer(no_args_is_help=True, help="Notices to subjects: outbox and worker.")
audit_app = typer.Typer(no_args_is_help=True, help="The hash-chained audit log.")
contact_app = typer.Typer(no_args_is_help=True, help="A subject's registered contact.")


def register(app: typer.Typer) -> None:
    app.add_typer(case_app, name="case")
    app.add_typer(reviewer_app, name="reviewer")
    app.add_typer(notices_app, name="notices")
    app.add_typer(audit_app, name="audit")
    app.add_typer(contact_app, name="contact")
    app.command("mailcatcher")(mailcatcher)
    app.command("mailbox")(mailbox)


MailDir = Annotated[Path, typer.Option("--dir", help="where the catcher stores mail")]


@reviewer_app.command("add")
def reviewer_add(
    reviewer_id: str,
    name: Annotated[str, typer.Option()],
    body: Annotated[str, typer.Option(help="authority code, or 'registry'")],
    level: Annotated[str, typer.Option(help="first (objections) or higher (reconsideration)")],
    subject_id: Annotated[str | None, typer.Option(help="the reviewer's own ID")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a reviewer."""
    from socialcredit.domain.dueprocess import Reviewer
    from socialcredit.dueprocess.assignment import add_reviewer

    with errors(as_json):
        d = add_reviewer(
            cli_registry(), Reviewer(reviewer_id, name, body, level, subject_id), "operator"
        )
        print_json(d) if as_json else out.print(f"reviewer {d['id']} ({body}, {level}) added")


def _print_cases(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        print_json(rows)
        return
    t = Table("id", "kind", "subject", "record", "grounds", "filed", "due", "reviewer", "state")
    for c in rows:
        t.add_row(
            str(c["id"]),
            c["kind"],
            c["subject_id"],
            c["record"],
            c["grounds"],
            c["filed_on"],
            c["due_on"] + (" [red]OVERDUE[/]" if c["overdue"] else ""),
            c["reviewer"] or "-",
            c["state"],
        )
    out.print(t)


@case_app.command("list")
def case_list(
    open_only: Annotated[bool, typer.Option("--open")] = False,
    overdue: Annotated[bool, typer.Option("--overdue")] = False,
    subject: Annotated[str | None, typer.Option()] = None,
    as_json: JsonOpt = False,
) -> None:
    """The case queue, overdue cases first."""
    from socialcredit.dueprocess.case_queue import list_cases

    with errors(as_json):
        reg = cli_registry()
        _print_cases(
            list_cases(reg, open_only=open_only, overdue_only=overdue, subject_id=subject), as_json
        )


@case_app.command("object")
def case_object(
    subject_id: str,
    authority: str,
    case_number: str,
    grounds: Annotated[str, typer.Option(help="not_me, wrong_data, should_be_removed, ...")],
    statement: Annotated[str, typer.Option()],
    as_json: JsonOpt = False,
) -> None:
    """File an objection received in writing, for the subject."""
    from socialcredit.dueprocess.objections import file_objection

    with errors(as_json):
        c = file_objection(
            cli_registry(), subject_id, authority, case_number, grounds, statement, [], "operator"
        )
        _print_cases([c], as_json)


@case_app.command("decide")
def case_decide(
    case_id: int,
    reviewer: Annotated[str, typer.Option()],
    outcome: Annotated[str, typer.Option(help="upheld or rejected")],
    reasons: Annotated[str, typer.Option()],
    as_json: JsonOpt = False,
) -> None:
    """A reviewer's written decision."""
    from socialcredit.dueprocess.decisions import decide

    with errors(as_json):
        _print_cases([decide(cli_registry(), case_id, reviewer, outcome, reasons)], as_json)


@contact_app.command("set")
def contact_set(subject_id: str, email: str, as_json: JsonOpt = False) -> None:
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
    from socialcredit.dueprocess.delivery import run_worker

    with errors(as_json):
        name = worker or f"{socket.gethostname()}:{os.getpid()}"
        try:
            totals = run_worker(cli_registry(), name, once=once)
        except KeyboardInterrupt:
            return
        print_json(totals) if as_json else out.print(
            ", ".join(f"{k} {v}" for k, v in totals.items())
        )


@notices_app.command("list")
def notices_list(
    subject: Annotated[str, typer.Option()],
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
        t = Table("id", "kind", "channel", "status", "created", "subject")
        for n in rows:
            t.add_row(
                str(n["id"]),
                n["kind"],
                n["channel"],
                n["status"],
                n["created_at"],
                n["subject_line"],
            )
        out.print(t)


@notices_app.command("letter")
def notices_letter(notice_id: int, printed: bool = False) -> None:
    """Print a notice's letter as HTML (``--printed`` records that it went to print)."""
    from socialcredit.dueprocess.delivery import mark_letter
    from socialcredit.dueprocess.outbox import get_notice, issue_copy

    with errors():
        reg = cli_registry()
        typer.echo(issue_copy(reg, get_notice(reg, notice_id))[1])  # with a new sign-in code
        if printed:
            mark_letter(reg, notice_id, "sent", "operator")


@notices_app.command("served")
def notices_served(notice_id: int, as_json: JsonOpt = False) -> None:
    """Record that an authority served a letter on the subject."""
    from socialcredit.dueprocess.delivery import mark_letter

    with errors(as_json):
        d = mark_letter(cli_registry(), notice_id, "delivered", "operator")
        print_json(d) if as_json else out.print(f"notice {notice_id} served")


@audit_app.command("verify")
def audit_verify(
    head: Annotated[str | None, typer.Option(help="SEQ:HASH kept from `audit head`")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Prove the chain intact, or name the first altered or missing entry (exit status 1)."""
    from socialcredit.integrity.audit import verify

    with errors(as_json):
        v = verify(cli_registry().engine, head)
        if as_json:
            print_json(v.to_dict())
        elif v.ok:
            out.print(
                f"[green]audit chain intact[/]: {v.entries} entries, "
                f"head {v.head_seq}:{v.head_hash}"
            )
        else:
            err.print(
                f"[red]audit chain broken at entry {v.first_bad_seq}[/]: {v.problem} "
                f"({v.entries} entries verified before it)",
                highlight=False,
            )
        if not v.ok:
            raise typer.Exit(1)


@audit_app.command("head")
def audit_head() -> None:
    """The newest entry as SEQ:HASH: keep it elsewhere to catch entries cut off the end."""
    from socialcredit.integrity.audit import verify

    with errors():
        typer.echo(verify(cli_registry().engine).to_dict()["head"])


def mailcatcher(
    directory: MailDir = Path("var/mail"),
    host: str = "127.0.0.1",
    port: int = 1025,
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
    last: Annotated[int, typer.Option(help="show the last N messages")] = 5,
    to: Annotated[str | None, typer.Option(help="only messages to this address")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Read what the mail catcher received."""
    from socialcredit.dueprocess.mailcatcher import read_mailbox

    mails = [m for m in read_mailbox(directory) if to is None or to in m.to][-last:]
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
    for m in mails:
        out.rule(f"{m.subject}")
        out.print(f"To: {m.to}   Message-ID: {m.message_id}   ({m.path.name})", highlight=False)
        out.print(m.body, highlight=False, markup=False)
