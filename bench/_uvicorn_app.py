"""The app for uvicorn's own ``--workers`` (bench/cluster.py compares it with ``serve
--workers``): ``uvicorn --factory _uvicorn_app:app --workers 2``. Each spawned worker opens
the registry from the environment and restores the snapshot the node's parent wrote."""

from __future__ import annotations

from typing import Any


def app() -> Any:
    from socialcredit.runtime.registry import open_registry
    from socialcredit.runtime.server import tune_interpreter
    from socialcredit.settings import load_settings
    from socialcredit.web.app import create_app

    tune_interpreter()
    a = create_app(open_registry(load_settings()))
    a.state.freeze_heap = True
    a.state.save_snapshot = False  # several workers: none of them writes the file
    return a
