"""The registry of records: authorities and what each may submit, ingest (read, validate,
plan, one durable transaction per batch), a subject's file, and the change feed that the
screening index and the scoring follower read.

Other capabilities import only the names below; the modules behind them are the registry's own
(``authorities``, ``regions``, ``ingest``, ``subjects``, ``feed``; ``commands`` for the CLI).
"""

from socialcredit.registry.authorities import (
    add_authority,
    court_county,
    reference_authorities,
    seed_reference_authorities,
)
from socialcredit.registry.feed import (
    Feed,
    all_subject_names,
    events_by_subject,
    note_change,
    subject_names,
)
from socialcredit.registry.ingest import IngestReport, ingest_file, ingest_table
from socialcredit.registry.regions import PROVINCES, Regions, load_regions
from socialcredit.registry.subjects import decision_dict, subject_file

__all__ = [
    "PROVINCES",
    "Feed",
    "IngestReport",
    "Regions",
    "all_subject_names",
    "court_county",
    "decision_dict",
    "events_by_subject",
    "ingest_file",
    "ingest_table",
    "load_regions",
    "note_change",
    "add_authority",
    "reference_authorities",
    "seed_reference_authorities",
    "subject_file",
    "subject_names",
]
