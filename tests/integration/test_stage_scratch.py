"""Finding 8 of issue 14 (staging scratch): a ``kill -9`` during a staged ingest left a 95 MB
``socialcredit-stage-*`` directory in the system temporary directory for good. Scratch now
lives beside the database and the next staging removes the directories of dead processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from socialcredit.store import sql_stage


def test_scratch_is_beside_the_database(tmp_path: Path) -> None:
    db = tmp_path / "registry.db"
    assert sql_stage.scratch_root(str(db)) == tmp_path / "registry.db.stage"


def test_a_killed_stagings_directory_is_removed_and_a_live_one_kept(tmp_path: Path) -> None:
    root = tmp_path / "registry.db.stage"
    root.mkdir()
    # a process that made its staging directory, then died by SIGKILL
    code = (
        "import os, sys, tempfile; "
        f"tempfile.mkdtemp(prefix='{sql_stage.PREFIX}' + str(os.getpid()) + '-', dir=sys.argv[1]); "
        "os.kill(os.getpid(), 9)"
    )
    p = subprocess.run([sys.executable, "-c", code, str(root)])
    assert p.returncode == -9
    (dead,) = root.iterdir()
    mine = root / f"{sql_stage.PREFIX}{os.getpid()}-live"
    mine.mkdir()
    (dead / "records0.db").write_bytes(b"x" * 1000)
    assert sql_stage.clean_stale(root) == [dead]
    assert not dead.exists() and mine.exists()
