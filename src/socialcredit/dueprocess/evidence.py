"""Evidence a subject attaches to an objection: checked by its first bytes, stored with its
SHA-256, shown only to the subject (or their enterprise's representative) and the reviewer.

The type is decided by the file's magic bytes, never by its name or the browser's claim: a
``.pdf`` that is really an executable is refused. Sizes are capped per file and per case.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select

from socialcredit.dueprocess.clock import naive_utc
from socialcredit.errors import InvalidInput, NotFound
from socialcredit.runtime.registry import Registry
from socialcredit.store.tables_dueprocess import cases, evidence

MAX_BYTES = 5 * 1024 * 1024  # one file
MAX_FILES = 5  # one case
# First bytes of each accepted type (PDF 1.x/2.0, JPEG/JFIF/Exif, PNG).
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)


class UploadRefused(InvalidInput):
    """An upload that is too large or not a PDF, JPEG or PNG (422, with ``reason``)."""

    code = "upload_refused"

    def __init__(self, message: str, reason: str, filename: str) -> None:
        super().__init__(message)
        self.reason = reason  # too_large | wrong_type | empty | too_many
        self.filename = filename


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


def media_type(data: bytes) -> str | None:
    """The accepted type these bytes begin with, or ``None``."""
    for magic, kind in MAGIC:
        if data.startswith(magic):
            return kind
    return None


def check(uploads: list[Upload]) -> list[tuple[Upload, str]]:
    """Each upload with its type, or :class:`UploadRefused` for the first one that fails."""
    if len(uploads) > MAX_FILES:
        raise UploadRefused(f"at most {MAX_FILES} files", "too_many", "")
    out = []
    for u in uploads:
        if not u.data:
            raise UploadRefused(f"{u.filename} is empty", "empty", u.filename)
        if len(u.data) > MAX_BYTES:
            raise UploadRefused(
                f"{u.filename} is larger than {MAX_BYTES // (1024 * 1024)} MB",
                "too_large",
                u.filename,
            )
        kind = media_type(u.data)
        if kind is None:
            raise UploadRefused(
                f"{u.filename} is not a PDF, JPEG or PNG file", "wrong_type", u.filename
            )
        out.append((u, kind))
    return out


def store(
    conn: Connection,
    reg: Registry,
    *,
    subject_id: str,
    case_id: int,
    checked: list[tuple[Upload, str]],
    uploaded_by: str,
) -> list[str]:
    """Store checked uploads for a case in the caller's transaction; their references
    (``evidence:<id>:sha256:<hex>``) for the case's ``documents``."""
    refs = []
    for u, kind in checked:
        digest = hashlib.sha256(u.data).hexdigest()
        eid = conn.execute(  # type: ignore[index]
            insert(evidence).values(
                subject_id=subject_id,
                case_id=case_id,
                filename=u.filename[-255:] or "evidence",
                media_type=kind,
                size=len(u.data),
                sha256=digest,
                content=u.data,
                uploaded_at=naive_utc(reg.now()),
                uploaded_by=uploaded_by,
            )
        ).inserted_primary_key[0]
        refs.append(f"evidence:{eid}:sha256:{digest}")
    return refs


def for_case(reg: Registry, case_id: int) -> list[dict[str, Any]]:
    """What is attached to a case (without the bytes)."""
    c = evidence.c
    with reg.engine.connect() as conn:
        rows = conn.execute(
            select(c.id, c.filename, c.media_type, c.size, c.sha256, c.uploaded_at)
            .where(c.case_id == case_id)
            .order_by(c.id)
        ).all()
    return [{**r._mapping, "uploaded_at": r.uploaded_at.isoformat()} for r in rows]


def get(reg: Registry, evidence_id: int) -> Any:
    """One evidence row with its bytes and its case's subject, reviewer body and kind."""
    with reg.engine.connect() as conn:
        row = conn.execute(
            select(
                evidence,
                cases.c.subject_id.label("case_subject_id"),
                cases.c.reviewer_body,
                cases.c.kind,
            )
            .join(cases, cases.c.id == evidence.c.case_id)
            .where(evidence.c.id == evidence_id)
        ).first()
    if row is None:
        raise NotFound(f"evidence {evidence_id} does not exist")
    return row
