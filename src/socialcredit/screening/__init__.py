"""The compiled screening index: built from engine outputs, swapped atomically, kept fresh.

``compile_index`` / ``entry_for`` turn assessments into entries; ``ScreeningIndex`` answers
``check`` and ``check_batch``; ``IndexHolder`` swaps; ``save_index`` / ``load_index``
snapshot it.
"""

from socialcredit.screening.compile import compile_index, entry_for, profile_of, subject_ref
from socialcredit.screening.index import (
    BatchVerdicts,
    IndexHolder,
    ScreeningIndex,
    SubjectEntry,
    Verdict,
)
from socialcredit.screening.profiles import OPEN, Schema
from socialcredit.screening.snapshot import load_index, save_index

__all__ = [
    "OPEN",
    "BatchVerdicts",
    "IndexHolder",
    "Schema",
    "ScreeningIndex",
    "SubjectEntry",
    "Verdict",
    "compile_index",
    "entry_for",
    "load_index",
    "profile_of",
    "save_index",
    "subject_ref",
]
