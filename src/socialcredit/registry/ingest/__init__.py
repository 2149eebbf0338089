"""Ingest record files from authorities (``docs/ingest-format.md``).

Built for throughput (DESIGN.md's target: 100,000 records/s into SQLite; ``bench/ingest.py``):

- :mod:`.read` reads JSONL, CSV or Parquet with pyarrow into string columns;
- :mod:`.validate` (with :mod:`.identifiers`) checks every rule over whole columns with
  pyarrow/NumPy and diagnoses only the failing rows one by one;
- :mod:`.plan` resolves the batch against the store set-wise (duplicates, conflicts, events);
- :mod:`.columns` hands the store the accepted rows as columns, chunk by chunk;
- :mod:`.service` holds the use cases: one batch, one transaction.
"""

from socialcredit.registry.ingest.fields import FIELDS
from socialcredit.registry.ingest.read import detect_format, read_records
from socialcredit.registry.ingest.service import (
    IngestReport,
    ingest_bytes,
    ingest_file,
    ingest_table,
)

__all__ = [
    "FIELDS",
    "IngestReport",
    "detect_format",
    "ingest_bytes",
    "ingest_file",
    "ingest_table",
    "read_records",
]
