"""Due-process commands: reviewers and cases (objections, decisions, assignment); the notice,
mail, contact and audit commands live in ``notice_commands`` and are mounted here too.
Registered by ``cli.COMMAND_MODULES``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import typer
from rich.markup import escape

from socialcredit.domain.dueprocess import Grounds, Outcome
from socialcredit.dueprocess.notice_commands import (
    SubjectArg,
    audit_app,
    contact_app,
    mailbox,
    mailcatcher,
    notices_app,
)
from socialcredit.runtime.console import (
    JsonOpt,
    cli_registry,
    errors,
    out,
    print_json,
    show_table,
)

case_app = typer.Typer(no_args_is_help=True, help="Objections, reconsideration and repair.")
reviewer_app = typer.Typer(no_args_is_help=True, help="Reviewers who decide cases.")


def register(app: typer.Typer) -> None:
    app.add_typer(case_app, name="case")
    app.add_typer(reviewer_app, name="reviewer")
    app.add_typer(notices_app, name="notices")
    app.add_typer(audit_app, name="audit")
    app.add_typer(contact_app, name="contact")
    app.command("mailcatcher")(mailcatcher)
    app.command("mailbox")(mailbox)


@reviewer_app.command("add")
def reviewer_add(
    reviewer_id: Annotated[str, typer.Argument(help="a short id for the reviewer")],
    name: Annotated[str, typer.Option(help="the reviewer's full name")],
    body: Annotated[str, typer.Option(help="authority code, or 'registry'")],
    level: Annotated[
        Literal["first", "higher"],
        typer.Option(help="first (objections) or higher (reconsideration)"),
    ],
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
    show_table(
        ("id", "kind", "subject", "record", "grounds", "filed", "due", "reviewer", "state"),
        [
            (
                str(c["id"]),
                c["kind"],
                c["subject_id"],
                escape(c["record"]),
                c["grounds"],
                c["filed_on"],
                c["due_on"] + ("\n[red]OVERDUE[/]" if c["overdue"] else ""),
                escape(c["reviewer"] or "-"),
                c["state"],
            )
            for c in rows
        ],
        wrap=("grounds", "reviewer"),
    )


@case_app.command("list")
def case_list(
    open_only: Annotated[bool, typer.Option("--open", help="only cases not yet decided")] = False,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="only cases past their due date")
    ] = False,
    subject: Annotated[str | None, typer.Option(help="only this subject's cases (ID)")] = None,
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
    subject_id: SubjectArg,
    authority: Annotated[str, typer.Argument(help="the code of the record's authority")],
    case_number: Annotated[str, typer.Argument(help="the record's case number")],
    grounds: Annotated[Grounds, typer.Option(help="why the record is wrong")],
    statement: Annotated[str, typer.Option(help="the subject's statement, in their words")],
    as_json: JsonOpt = False,
) -> None:
    """File an objection received in writing, for the subject."""
    from socialcredit.dueprocess.objections import file_objection

    with errors(as_json):
        c = file_objection(
            cli_registry(),
            subject_id,
            authority,
            case_number,
            grounds.value,
            statement,
            [],
            "operator",
        )
        _print_cases([c], as_json)


@case_app.command("decide")
def case_decide(
    case_id: Annotated[int, typer.Argument(help="the case number from `case list`")],
    reviewer: Annotated[str, typer.Option(help="the deciding reviewer's id")],
    outcome: Annotated[Outcome, typer.Option(help="upheld: the record is corrected or withdrawn")],
    reasons: Annotated[str, typer.Option(help="the written reasons (a sentence or more)")],
    as_json: JsonOpt = False,
) -> None:
    """A reviewer's written decision."""
    from socialcredit.dueprocess.decisions import decide

    with errors(as_json):
        _print_cases([decide(cli_registry(), case_id, reviewer, outcome.value, reasons)], as_json)


@case_app.command("show")
def case_show(
    case_id: Annotated[int, typer.Argument(help="the case's id (`case list`)")],
    as_json: JsonOpt = False,
) -> None:
    """One case: the record and its legal basis, the statement and evidence, earlier decisions."""
    from socialcredit.dueprocess.workbench import case_file

    with errors(as_json):
        d = case_file(cli_registry(), case_id)
        if as_json:
            print_json(d)
            return
        c, r = d["case"], d["record"] or {}
        overdue = " [red]OVERDUE[/]" if c["overdue"] else ""
        out.print(f"case {c['id']} ({c['kind']}, {c['state']}): due {c['due_on']}{overdue}")
        out.print(f"  record     {c['record']}: {r.get('category')}", highlight=False)
        out.print(f"  basis      {r.get('legal_basis')}", highlight=False)
        out.print(f"  subject    {r.get('subject_name')} ({c['subject_id']})", highlight=False)
        out.print(f"  grounds    {c['grounds']}", highlight=False)
        out.print(f"  statement  {c['statement']}", highlight=False)
        for doc in c["documents"] or []:
            out.print(f"  evidence   {doc}", highlight=False)
        out.print(f"  reviewer   {c['reviewer'] or '-'} ({c['reviewer_body'] or '-'})")
        if c["decided_on"]:
            out.print(f"  decided    {c['decided_on']}: {c['outcome']}: {c['decision_reasons']}")
        for e in d["earlier"]:
            out.print(f"  earlier    case {e['id']} {e['decided_on']}: {e['outcome']}")


@case_app.command("assign")
def case_assign(
    case_id: Annotated[int, typer.Argument(help="the case's id (`case list`)")],
    reviewer: Annotated[str, typer.Option(help="the reviewer's id (`reviewer list`)")],
    as_json: JsonOpt = False,
) -> None:
    """Assign a case to a reviewer (refused if they may not decide it: their own record, ...)."""
    from socialcredit.dueprocess.assignment import assign

    with errors(as_json):
        _print_cases([assign(cli_registry(), case_id, reviewer, "operator")], as_json)
