"""Response models of the screening routes that are not the hot path's own."""

from __future__ import annotations

from typing import Any

from socialcredit.runtime.schemas import Out


class IndexStatus(Out):
    source: str
    build_seconds: float
    built_on: str
    restricted_subjects: int
    index_bytes: int
    feed: dict[str, Any]
    log_rows_written: int


BATCH: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "One answer per row, in order (error rows carry `error` and `message`)",
        "content": {
            "application/x-ndjson": {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}
