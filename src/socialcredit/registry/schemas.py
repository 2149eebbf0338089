"""Response models of the registry's late routes: authorities' batches and the public register."""

from __future__ import annotations

from pydantic import Field

from socialcredit.runtime.schemas import Out


class LineProblem(Out):
    """One thing wrong (or worth a look) on one line of a batch."""

    line: int | None = Field(description="the line (row) of the file; none for the whole file")
    field: str = Field(description="the field, as in docs/ingest-format.md")
    value: str | None = Field(description="the value given, cut at 200 characters")
    reason: str


class BatchReport(Out):
    """What happened to one batch: counts and every problem by line."""

    batch_id: int | None
    source: str = Field(description="<authority>/<file name>")
    sha256: str
    lines: int
    accepted: int
    duplicates: int
    already_ingested: bool = Field(description="the same file was received before: no change")
    rejected: list[LineProblem] = Field(description="problems of rejected lines, by line")
    warnings: list[LineProblem] = Field(description="accepted, but worth a look")


class BatchOut(Out):
    """A batch received, as the history lists it."""

    id: int
    source: str
    sha256: str
    received_at: str = Field(description="UTC, ISO 8601")
    lines: int
    accepted: int
    duplicates: int
    rejected: int = Field(description="lines rejected")


class KeptProblems(Out):
    """A batch's per-line problems as kept in the database: the first ``kept_per_kind`` of
    each kind, and how many there were. Totals are null for a batch received before problems
    were kept, or one the clerk's authority did not file over HTTP (its lines may name other
    authorities: not shown)."""

    kept_per_kind: int
    rejected_total: int | None
    warnings_total: int | None
    rejected: list[LineProblem]
    warnings: list[LineProblem]


class BatchDetailOut(BatchOut):
    """One batch: its counts, the records and events it wrote, its kept problems."""

    records: int
    events: int
    problems: KeptProblems


class RegisterListing(Out):
    """One published listing, as the rules publish it."""

    name: str
    id_masked: str = Field(description="the first four and last four characters")
    authority: str
    authority_name: str
    case_number: str
    conduct: str
    legal_basis: str
    since: str
    until: str | None
    until_condition: str | None
    how_to_object: str


class RegisterOut(Out):
    """A register search: the same shape whether or not anyone matched."""

    query: str = Field(description="the query as searched (an ID masked)")
    kind: str = Field(description="id, name or none (neither a whole ID nor a whole name)")
    count: int
    results: list[RegisterListing]
