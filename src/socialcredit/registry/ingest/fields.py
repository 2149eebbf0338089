"""The ingest format's fields and shared types (``docs/ingest-format.md``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from socialcredit.domain.records import EventType
from socialcredit.errors import Problem

FIELDS = (
    "event",
    "authority",
    "case_number",
    "event_date",
    "category",
    "subject_id",
    "subject_name",
    "decision_date",
    "legal_basis",
    "amount_owed",
    "extension_years",
    "evidence_ref",
    "legal_representative_id",
    "legal_representative_name",
    "reason",
)
RECORD_FIELDS = ("category", "subject_id", "subject_name", "decision_date", "legal_basis")
# What an authority may send. Suspension and resumption are the registry's own due-process
# events (an objection holding a start); an authority cannot hold or resume its own listing.
REGISTRY_ONLY_EVENTS = frozenset({EventType.SUSPENDED, EventType.RESUMED})
EVENTS = tuple(e.value for e in EventType if e not in REGISTRY_ONLY_EVENTS)
AMOUNT_RE = r"^[0-9]{1,18}(\.[0-9]{1,2})?$"
DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"

Progress = Callable[[int], None]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass
class Parsed:
    """A file read into string columns, before validation."""

    table: pa.Table  # every column a string column named after a field
    lines: IntArray  # the line number of each row
    problems: list[Problem]  # lines that could not be parsed at all
    total_lines: int


def as_np(arr: pa.Array | pa.ChunkedArray) -> npt.NDArray[Any]:
    return np.asarray(arr.to_numpy(zero_copy_only=False))
