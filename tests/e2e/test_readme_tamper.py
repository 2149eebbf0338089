"""The README's tamper-and-detect session, run as written (between its ``tamper-session``
markers), in a scratch copy of what it reads: each ``$`` command through bash, the lines
shown under it expected in its output in order (``…`` matches anything). A command ending
in ``&`` is started in the background and waited for on its ``--port``; it is stopped at
the end. The port shown is replaced by a free one."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.e2e.conftest import CLI
from tests.integration.dueprocess_support import free_port

ROOT = Path(__file__).resolve().parents[2]
START, END = "<!-- tamper-session:start -->", "<!-- tamper-session:end -->"


def _session() -> list[tuple[str, list[str]]]:
    text = (ROOT / "README.md").read_text("utf-8")
    block = text.split(START, 1)[1].split(END, 1)[0]
    body = re.split(r"```console[^\n]*\n", block, maxsplit=1)[1].rsplit("```", 1)[0]
    steps: list[tuple[str, list[str]]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif line.strip() and steps:
            steps[-1][1].append(line)
    return steps


def _pattern(line: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(p) for p in line.strip().split("…")) + "$")


def _wait(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(240):
        assert proc.poll() is None, "the server exited"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError("the server did not come up")


def test_the_readme_tamper_session_runs_as_written(tmp_path: Path) -> None:
    (tmp_path / "docs" / "examples").mkdir(parents=True)
    (tmp_path / "var").mkdir()
    shutil.copy(ROOT / "docs" / "examples" / "batch.jsonl", tmp_path / "docs" / "examples")
    bindir = str(Path(CLI).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALCREDIT_")} | {
        "PATH": f"{bindir}:{os.environ['PATH']}",
        "COLUMNS": "200",
    }
    port = free_port()
    background: list[subprocess.Popen[bytes]] = []
    try:
        for cmd, expected in _session():
            cmd = cmd.split("  #", 1)[0].strip().replace("8711", str(port))
            if cmd.startswith("#"):
                continue
            if cmd.startswith("export "):
                name, _, value = cmd.removeprefix("export ").partition("=")
                env[name] = value
                continue
            if cmd.endswith("&"):
                proc = subprocess.Popen(
                    ["bash", "-c", f"exec {cmd[:-1]}"],
                    cwd=tmp_path,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
                background.append(proc)
                _wait(port, proc)
                continue
            r = subprocess.run(
                ["bash", "-c", cmd],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            got = [x.strip() for x in (r.stdout + r.stderr).splitlines() if x.strip()]
            assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
            at = 0
            for want in expected:
                pat = _pattern(want)
                while at < len(got) and not pat.match(got[at]):
                    at += 1
                assert at < len(got), f"{cmd!r}: {want!r} not in order in:\n" + "\n".join(got)
                at += 1
    finally:
        for proc in background:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
