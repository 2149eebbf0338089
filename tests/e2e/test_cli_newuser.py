"""The CLI as a new user meets it: help, choices, configuration errors, whole values at 80
columns, unknown IDs answered as the API answers them, a quick mailbox, stable demo keys."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from email.message import EmailMessage
from pathlib import Path

import pytest
import typer

from socialcredit import __version__, cli
from socialcredit.registry.ingest import service as ingest_service
from tests.e2e.conftest import CLEAN, CLI, DEFAULTER, Run


def narrow(run: Run, registry_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {**registry_env, "COLUMNS": "80"}
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=120)


def test_tables_print_whole_values_at_80_columns(
    run: Run, registry_env: dict[str, str], records_file: Path
) -> None:
    run("ingest", str(records_file))
    rules = narrow(run, registry_env, "rules", "show")
    assert rules.returncode == 0
    ids = [c["id"] for c in json.loads(run("rules", "show", "--json").stdout)["categories"]]
    assert all(i in rules.stdout for i in ids) and "…" not in rules.stdout
    subject = narrow(run, registry_env, "subject", "show", DEFAULTER, "--on", "2026-06-01")
    assert "court.defaulter.refuses" in subject.stdout and "2026-03-02" in subject.stdout
    assert "(2026)京0108执1234号" in subject.stdout and "…" not in subject.stdout
    assert (
        run(
            "reviewer", "add", "R1", "--name", "Judge", "--body", "SPC-BJ-HD", "--level", "first"
        ).returncode
        == 0
    )
    filed = run(
        "case", "object", DEFAULTER, "SPC-BJ-HD", "(2026)京0108执1234号",
        "--grounds", "wrong_data", "--statement", "The amount was paid in full.", "--json",
    )  # fmt: skip
    assert filed.returncode == 0, filed.stderr
    (case,) = json.loads(filed.stdout)
    cases = narrow(run, registry_env, "case", "list")
    assert cases.returncode == 0 and "…" not in cases.stdout
    for whole in (DEFAULTER, case["due_on"], case["filed_on"], case["record"]):
        assert whole in cases.stdout
    key = json.loads(
        run(
            "party", "add", "AIRLINE-X", "--name", "An airline", "--sector", "flight", "--json"
        ).stdout
    )
    parties = narrow(run, registry_env, "party", "list")
    assert key["prefix"] in parties.stdout and "AIRLINE-X" in parties.stdout


def test_help_names_settings_exit_codes_and_version(run: Run) -> None:
    r = run("--help")
    assert r.returncode == 0
    assert "SOCIALCREDIT_DATABASE_URL=sqlite:///var/registry.db" in r.stdout
    assert "SOCIALCREDIT_OPERATOR_TOKEN" in r.stdout and "SOCIALCREDIT_CLOCK" in r.stdout
    assert "``" not in r.stdout and "Typer" not in r.stdout
    for code in ("0", "1", "2", "70", "130"):
        assert f"\n  {code}  " in r.stdout
    v = run("--version")
    assert v.returncode == 0 and v.stdout.strip() == f"socialcredit {__version__}"


def _commands(cmd: object, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], object]]:
    subs = getattr(cmd, "commands", None)
    if subs is None:
        return [(path, cmd)]
    return [x for name, c in subs.items() for x in _commands(c, (*path, name))]


def test_every_command_argument_and_option_has_help() -> None:
    cli._add_groups()
    missing = [
        " ".join(path) + ("" if p is None else f" {p.name}")
        for path, cmd in _commands(typer.main.get_command(cli.app))
        for p in [None, *getattr(cmd, "params", [])]
        if (p is None and not getattr(cmd, "help", None))
        or (p is not None and p.name != "help" and not getattr(p, "help", None))
    ]
    assert missing == []


def test_choices_are_listed_and_checked(run: Run) -> None:
    r = run("case", "decide", "1", "--reviewer", "R1", "--outcome", "maybe", "--reasons", "x")
    assert r.returncode == 2 and "upheld" in r.stderr and "rejected" in r.stderr
    r = run("reviewer", "add", "R2", "--name", "N", "--body", "registry", "--level", "top")
    assert r.returncode == 2 and "first" in r.stderr and "higher" in r.stderr
    r = run("check", DEFAULTER, "--sector", "spaceflight")
    assert r.returncode == 2 and "one of:" in r.stderr and "rail.high_class" in r.stderr
    r = run("party", "add", "X", "--name", "X", "--sector", "spaceflight")
    assert r.returncode == 2 and "flight" in r.stderr
    assert "upheld" in run("case", "decide", "--help").stdout


def test_configuration_errors_exit_2_and_create_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALCREDIT_")}
    env["COLUMNS"] = "80"

    def run_in(cwd: Path, *args: str, **more: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CLI, *args], env={**env, **more}, cwd=cwd, capture_output=True, text=True
        )

    r = run_in(tmp_path, "check", DEFAULTER, "--sector", "flight")  # the default URL
    assert r.returncode == 2, r.stderr
    assert "sqlite:///var/registry.db is not initialised: run `socialcredit init` first" in r.stderr
    assert not (tmp_path / "var").exists()
    db = tmp_path / "elsewhere.db"
    url = f"sqlite:///{db}"
    for args in (("subject", "show", DEFAULTER), ("rules", "show"), ("case", "list")):
        r = run_in(tmp_path, *args, SOCIALCREDIT_DATABASE_URL=url)
        assert r.returncode == 2 and "is not initialised" in r.stderr, r.stderr
    assert not db.exists()
    db.touch()  # an empty file is no registry either
    r = run_in(tmp_path, "rules", "show", SOCIALCREDIT_DATABASE_URL=url)
    assert r.returncode == 2 and "is not initialised" in r.stderr, r.stderr
    pg = "postgresql+psycopg://nobody:secret@127.0.0.1:1/registry"
    r = run_in(tmp_path, "rules", "show", SOCIALCREDIT_DATABASE_URL=pg)
    assert r.returncode == 2, r.stderr
    assert "cannot connect to the database at" in r.stderr and "(127.0.0.1:1)" in r.stderr
    assert "secret" not in r.stderr and "internal error" not in r.stderr
    r = run_in(tmp_path, "init", SOCIALCREDIT_DATABASE_URL=pg)
    assert r.returncode == 2 and "cannot connect" in r.stderr


def test_unknown_ids_are_refused_as_the_api_refuses_them(run: Run, records_file: Path) -> None:
    run("ingest", str(records_file))
    r = run("check", CLEAN, "--sector", "flight", "--json")
    assert r.returncode == 2
    assert json.loads(r.stdout)["error"] == "invalid_input"
    r = run("check", CLEAN, "--sector", "flight")
    assert "not in the registry" in r.stderr and "422" in r.stderr
    r = run("check", DEFAULTER, "--sector", "flight", "--name", "张三")
    assert r.returncode == 2 and "does not match the registry's name" in r.stderr
    ok = run("check", DEFAULTER, "--sector", "flight", "--name", "王建国", "--on", "2026-06-01")
    assert ok.returncode == 0 and "DENY" in ok.stdout
    r = run("scores", "show", CLEAN)
    assert r.returncode == 2 and "not in the registry" in r.stderr


def test_scores_recompute_and_report_print_no_python_dicts(run: Run) -> None:
    r = run("scores", "recompute")
    assert r.returncode == 0 and "{" not in r.stdout and "programme" in r.stdout
    r = run("report", "--year", "2026")
    assert r.returncode == 0 and "{" not in r.stdout and "scores rongcheng" in r.stdout
    rows = json.loads(run("scores", "recompute", "--json").stdout)
    assert rows and all(r["programme"] in run("scores", "recompute").stdout for r in rows)


def _mail(directory: Path, n: int, to: str) -> None:
    m = EmailMessage()
    m["To"], m["Subject"], m["Message-ID"] = to, f"notice {n}", f"<n{n}@registry.invalid>"
    m.set_content(f"body {n}")
    (directory / f"{n:06d}-n{n}.eml").write_bytes(bytes(m))


def test_mailbox_says_no_messages_and_reads_only_what_it_shows(run: Run, tmp_path: Path) -> None:
    box = tmp_path / "mail"
    r = run("mailbox", "--dir", str(box))
    assert r.returncode == 0 and "no messages" in r.stdout
    box.mkdir()
    for n in range(1, 31):
        _mail(box, n, f"p{n % 3}@example.cn")
    r = run("mailbox", "--dir", str(box), "--to", "nobody@example.cn")
    assert r.returncode == 0 and "no messages to nobody@example.cn" in r.stdout
    got = json.loads(run("mailbox", "--dir", str(box), "--to", "p1@example.cn", "--json").stdout)
    assert [m["subject"] for m in got] == [f"notice {n}" for n in (16, 19, 22, 25, 28)]
    from socialcredit.dueprocess import mailcatcher

    decoded: list[Path] = []
    real = mailcatcher._decode

    def spy(p: Path) -> mailcatcher.Mail:
        decoded.append(p)
        return real(p)

    mp = pytest.MonkeyPatch()
    mp.setattr(mailcatcher, "_decode", spy)
    try:
        assert len(mailcatcher.read_mailbox(box, last=2)) == 2
    finally:
        mp.undo()
    assert [p.name for p in decoded] == ["000029-n29.eml", "000030-n30.eml"]


def test_demo_credentials_are_the_same_on_every_run(
    run: Run, registry_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from socialcredit.runtime.registry import open_registry
    from socialcredit.screening.parties import hash_key, load_keys, revoke_key
    from socialcredit.settings import Settings

    monkeypatch.delenv("SOCIALCREDIT_OPERATOR_TOKEN", raising=False)
    reg = open_registry(Settings(database_url=registry_env["SOCIALCREDIT_DATABASE_URL"]))
    path = tmp_path / "var" / "demo-credentials.json"
    cli._demo_credentials(reg, path)
    first = json.loads(path.read_text())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first["operator_token"] == reg.settings.operator_token
    reg = open_registry(Settings(database_url=registry_env["SOCIALCREDIT_DATABASE_URL"]))
    cli._demo_credentials(reg, path)
    assert json.loads(path.read_text()) == first
    assert reg.settings.operator_token == first["operator_token"]
    with reg.engine.connect() as conn:
        working = load_keys(conn)
    assert all(hash_key(k) in working for k in first["api_keys"].values())
    party, key = next(iter(first["api_keys"].items()))
    revoke_key(reg, working[hash_key(key)].prefix)  # a revoked key is replaced, the rest kept
    cli._demo_credentials(reg, path)
    now = json.loads(path.read_text())["api_keys"]
    assert now[party] != key
    assert {p: k for p, k in now.items() if p != party} == {
        p: k for p, k in first["api_keys"].items() if p != party
    }


def test_ingest_reports_bytes_and_lines_as_it_reads(
    run: Run, records_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest_service, "READ_CHUNK", 100)
    heard: list[tuple[int, int]] = []
    data = ingest_service._read(records_file, lambda done, lines: heard.append((done, lines)))
    assert data == records_file.read_bytes() and len(heard) > 2
    assert heard[-1] == (len(data), data.count(b"\n"))
    r = run("ingest", str(records_file))
    assert "MB" in r.stderr or "kB" in r.stderr or "bytes" in r.stderr
    assert "3/3 lines" in r.stderr
