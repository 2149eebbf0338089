"""Every console block in README.md, run against a fresh demo registry, output compared.

The convention (README authors: this is the whole of it)

- A fenced block whose info string is ``console`` is a terminal session. A line starting with
  ``$ `` is a command; the lines after it, up to the next ``$ `` line or the end of the block,
  are its expected output (stdout and stderr together, as a terminal shows them).
- A command goes on over several lines while a line ends with ``\\`` or while a heredoc
  (``<<WORD``) is open: those lines are part of the command, not output.
- Output is compared where the README shows it: a command with no lines after it may print
  anything. Where output is shown it is compared line by line, trailing spaces ignored, with
  ``…`` standing for whatever varies: inside a line it matches any characters (ids,
  timestamps, keys, tokens, today's date); a line that is only ``…`` matches any number of
  lines (including none). Progress-bar lines (drawn with ``━``) are not output. Commands run
  with ``COLUMNS=120``: where a terminal wraps a long line, end the shown part with ``…``.
- A command must exit 0, unless its comment says otherwise: ``$ socialcredit ingest f  # exit 1:
  a line is rejected`` expects status 1.
- Commands run in one bash session per section (a ``## `` or ``### `` heading), in order, so
  a variable a block sets (``ID=$(... | jq -r ...)``) is there for the next block of that
  section; sections run in README order against the same registry, as a reader would. Each section
  starts from the environment the README's Quick start gives: the demo's venv on PATH,
  ``SOCIALCREDIT_DATABASE_URL=sqlite:///var/demo.db`` and the working directory holding
  ``var/`` (with ``docs/`` beside it, as in a clone).
- A block right after ``<!-- readme-test: skip -->`` is not run: only ``make ...`` and
  ``socialcredit serve ...`` may be skipped (the test checks), because the test starts their
  equivalent itself, below: a demo registry built as ``make demo`` builds it, the mail
  catcher, the notice worker and ``serve --demo-keys`` on free loopback ports. Commands that
  name ``127.0.0.1:8000`` or ``localhost:8000`` (where ``make demo`` serves) are pointed at the
  test's server instead.

The demo here has 3,000 people and 200 enterprises, not ``make demo``'s 100,000 and 5,000, so
the whole test stays under a minute or two on a shared CI core; no block may depend on the
population's size.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.conftest import CLI
from tests.integration.dueprocess_support import free_port

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SKIP_MARK = "<!-- readme-test: skip -->"
SKIPPABLE = ("make ", "socialcredit serve")
COMMAND_TIMEOUT = 90.0
DEMO_PEOPLE, DEMO_ENTERPRISES = 3000, 200  # make demo: 100,000 and 5,000


@dataclass
class Command:
    line: int  # 1-based line in README.md
    text: str
    expected: list[str] = field(default_factory=list)

    @property
    def status(self) -> int:
        m = re.search(r"#[^\n]*\bexit (\d+)", self.text)
        return int(m.group(1)) if m else 0


@dataclass
class Block:
    line: int
    skipped: bool
    commands: list[Command]


def parse(text: str) -> dict[str, list[Block]]:
    """The README's console blocks by ``## `` section, in order."""
    sections: dict[str, list[Block]] = {}
    section = "(top)"
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(("## ", "### ")):
            section = line.lstrip("#").strip()
        if line.strip() == "```console":
            start = i + 1
            skipped = i > 0 and lines[i - 1].strip() == SKIP_MARK
            body: list[tuple[int, str]] = []
            i += 1
            while lines[i].strip() != "```":
                body.append((i + 1, lines[i]))
                i += 1
            sections.setdefault(section, []).append(Block(start, skipped, commands(body)))
        i += 1
    return sections


def commands(body: list[tuple[int, str]]) -> list[Command]:
    out: list[Command] = []
    j = 0
    while j < len(body):
        n, line = body[j]
        if line.startswith("$ "):
            text = [line[2:]]
            heredoc = re.search(r"<<-?\s*'?\"?(\w+)", line)
            j += 1
            while j < len(body) and (text[-1].endswith("\\") or heredoc):
                text.append(body[j][1])
                if heredoc and body[j][1].strip() == heredoc.group(1):
                    heredoc = None
                j += 1
            out.append(Command(n, "\n".join(text)))
        else:
            if not out:
                raise AssertionError(f"README.md:{n}: output before any command: {line!r}")
            out[-1].expected.append(line.rstrip())
            j += 1
    for c in out:
        while c.expected and not c.expected[-1]:
            c.expected.pop()  # a blank line between commands is layout, not output
    return out


def pattern(expected: list[str]) -> re.Pattern[str]:
    parts = []
    for line in expected:
        if line.strip() == "…":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            # spaces before a `…` are optional: the line may end there, trailing spaces cut
            pieces = line.split("…")
            shown = [
                re.escape(p.rstrip()) if i < len(pieces) - 1 else re.escape(p)
                for i, p in enumerate(pieces)
            ]
            parts.append(r"\s*.*?".join(shown) + r"\n")
    return re.compile("".join(parts))


def cleaned(output: str) -> str:
    lines = [re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", s).rstrip() for s in output.splitlines()]
    return "".join(s + "\n" for s in lines if "━" not in s)


class Shell:
    """One bash session; each command is sourced from a file with stdin from /dev/null."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd = cwd
        self.proc = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.n = 0

    def run(self, command: str) -> tuple[int, str]:
        assert self.proc.stdin and self.proc.stdout
        self.n += 1
        script = self.cwd / f".readme-cmd-{self.n}.sh"
        script.write_text(command + "\n", "utf-8")
        sentinel = f"__readme_done_{self.n}__"
        self.proc.stdin.write(f". {script} </dev/null; printf '\\n{sentinel} %d\\n' $?\n".encode())
        self.proc.stdin.flush()
        buf = b""
        deadline = time.monotonic() + COMMAND_TIMEOUT
        fd = self.proc.stdout.fileno()
        while (m := re.search(rb"\n" + sentinel.encode() + rb" (\d+)\n", buf)) is None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise AssertionError(f"timed out after {COMMAND_TIMEOUT}s; output so far:\n{buf!r}")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise AssertionError(f"the shell exited; output:\n{buf.decode(errors='replace')}")
            buf += chunk
        return int(m.group(1)), buf[: m.start()].decode(errors="replace")

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(10)
        if self.proc.stdout:
            self.proc.stdout.close()


pytestmark = pytest.mark.slow
SECTIONS = parse(README.read_text("utf-8"))


@dataclass
class Demo:
    cwd: Path
    env: dict[str, str]
    port: int


def _wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """What ``make demo`` starts, smaller, in a directory laid out like a clone."""
    missing = [tool for tool in ("jq", "curl") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"the README's commands use {missing}: `make test` installs them")
    cwd = tmp_path_factory.mktemp("clone")
    (cwd / "docs").symlink_to(ROOT / "docs")
    (cwd / ".venv").symlink_to(Path(sys.prefix))  # so `. .venv/bin/activate` works verbatim
    (cwd / "var").mkdir()
    port, smtp = free_port(), free_port()
    env = dict(os.environ)
    for k in [k for k in env if k.startswith("SOCIALCREDIT_")]:
        del env[k]
    env.update(
        PATH=f"{Path(CLI).parent}{os.pathsep}{env.get('PATH', '')}",
        SOCIALCREDIT_DATABASE_URL="sqlite:///var/demo.db",
        SOCIALCREDIT_SMTP_PORT=str(smtp),
        COLUMNS="120",
        LC_ALL="C.UTF-8",
        PYTHONUNBUFFERED="1",
    )

    def cli(*args: str) -> None:
        r = subprocess.run([CLI, *args], cwd=cwd, env=env, capture_output=True, text=True)
        assert r.returncode == 0, f"socialcredit {' '.join(args)}: {r.stderr}"

    cli("init")
    n = ("--individuals", str(DEMO_PEOPLE), "--enterprises", str(DEMO_ENTERPRISES))
    cli("generate", *n, "--seed", "2026")
    workbenches = subprocess.run(  # the demo accounts, as make demo adds them
        ["sh", str(ROOT / "scripts" / "demo_workbenches.sh")],
        cwd=cwd,
        env={**env, "SC": CLI},
        capture_output=True,
        text=True,
    )
    assert workbenches.returncode == 0, workbenches.stderr
    logs = (cwd / "var" / "demo-processes.log").open("w")
    procs = [
        subprocess.Popen([CLI, *args], cwd=cwd, env=env, stdout=logs, stderr=subprocess.STDOUT)
        for args in (
            ("mailcatcher", "--dir", "var/mail", "--port", str(smtp)),
            ("notices", "work"),
            ("scores", "follow", "--watch"),
            (
                "serve",
                "--demo-keys",
                "--credentials",
                "var/demo-credentials.json",
                "--port",
                str(port),
            ),
        )
    ]
    try:
        # make demo writes the report before it starts the services; here both at once, to save
        # time (the report only reads)
        cli("report", "--year", time.strftime("%Y"), "--out", "var/report", "--publish")
        _wait_http(f"http://127.0.0.1:{port}/health")
        yield Demo(cwd, env, port)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        logs.close()


def test_readme_has_console_blocks_and_skips_only_long_running_ones() -> None:
    assert sum(len(b) for b in SECTIONS.values()) >= 5
    for blocks in SECTIONS.values():
        for b in blocks:
            if b.skipped:
                for c in b.commands:
                    assert c.text.startswith(SKIPPABLE), (
                        f"README.md:{c.line}: only `make` and `socialcredit serve` blocks may be "
                        f"skipped, not {c.text!r}"
                    )


@pytest.mark.parametrize(
    "section", [s for s, bs in SECTIONS.items() if any(not b.skipped for b in bs)]
)
def test_readme_section(section: str, demo: Demo) -> None:
    shell = Shell(demo.cwd, demo.env)
    try:
        for block in SECTIONS[section]:
            if block.skipped:
                continue
            for c in block.commands:
                text = re.sub(r"(127\.0\.0\.1|localhost):8000\b", f"127.0.0.1:{demo.port}", c.text)
                t0 = time.monotonic()
                status, raw = shell.run(text)
                with (demo.cwd / "var" / "readme-timings.txt").open("a") as f:
                    f.write(f"{time.monotonic() - t0:6.1f}s README.md:{c.line}\n")
                out = cleaned(raw)
                where = f"README.md:{c.line} (section {section!r}): $ {c.text}"
                assert status == c.status, f"{where}\nexit {status}, expected {c.status}:\n{out}"
                if c.expected and not pattern(c.expected).fullmatch(out):
                    expected = "\n".join(c.expected)
                    raise AssertionError(
                        f"{where}\n--- README shows:\n{expected}\n--- the command printed:\n{out}"
                    )
    finally:
        shell.close()
