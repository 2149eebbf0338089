"""The public register: the listings the rules publish, found by a full name or a full ID.

What is shown is what the real lists show (SPC's defaulter list, Credit China): the name, the
ID with its middle masked (``1101**********1230``), the authority, the case number, the
conduct, the legal basis, since when, until when (or until what), and how to object. Only
listings in force are shown: never one still pending (in its publicity period or held by an
objection), ended (fulfilled, withdrawn, expired), repaired, or of a minor.

There is no listing of everyone: a query is one whole identifier, checked, or one whole name
matched exactly (no wildcard, no prefix). The answer has the same shape whether anyone matched
or not (and for a query that is neither), and searches are rate-limited per client address
(:class:`RegisterLimiter`, over ``limits`` like the sign-in limits).
"""

from __future__ import annotations

import datetime as dt
import math
import time
import unicodedata
from functools import lru_cache
from typing import Any

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import select

from socialcredit.domain.identity import SubjectId, SubjectKind, parse_subject_id
from socialcredit.domain.restrictions import Status
from socialcredit.errors import InvalidInput, NotFound, RegistryError
from socialcredit.registry.subjects import subject_file
from socialcredit.runtime.registry import Registry
from socialcredit.store import tables as t

MAX_SUBJECTS = 20  # one name may be common; the answer names at most this many people
HOW_TO_OBJECT = (
    "The person listed may object to the listing authority or the registry: in their own "
    "file (/me), by post, or at any registry office, giving the case number."
)


class RegisterClosed(RegistryError):
    status = 404
    code = "register_closed"


class RegisterLimited(RegistryError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RegisterLimiter:
    def __init__(self, storage_url: str, per_client: str) -> None:
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_url))
        self._item = parse(per_client)

    def hit(self, client: str) -> None:
        """Count one search from ``client``; raise :class:`RegisterLimited` past the limit."""
        if not self._limiter.hit(self._item, "ip.register", client):
            reset = self._limiter.get_window_stats(self._item, "ip.register", client).reset_time
            wait = max(1, math.ceil(reset - time.time()))
            raise RegisterLimited(f"too many searches; try again in {wait} s", wait)


@lru_cache(maxsize=8)
def limiter(storage_url: str, per_client: str) -> RegisterLimiter:
    return RegisterLimiter(storage_url, per_client)


def mask(subject_id: str) -> str:
    """The first four and last four characters; the rest starred."""
    return subject_id[:4] + "*" * (len(subject_id) - 8) + subject_id[-4:]


def _is_minor(sid: SubjectId, today: dt.date) -> bool:
    born = sid.birth_date
    if sid.kind is not SubjectKind.PERSON or born is None:
        return False
    try:
        adult = born.replace(year=born.year + 18)
    except ValueError:  # 29 February
        adult = dt.date(born.year + 18, 3, 1)
    return today < adult


def _name_query(q: str) -> str | None:
    name = unicodedata.normalize("NFKC", q).strip()
    if len(name) < 2 or len(name) > 100 or any(c in name for c in "%_*?"):
        return None
    return name


def _listings(reg: Registry, subject_id: str, names: dict[str, str]) -> list[dict[str, Any]]:
    today = reg.today()
    try:
        f = subject_file(reg, subject_id)
    except (NotFound, InvalidInput):
        return []
    if _is_minor(f.subject_id, today):
        return []
    states = {s.ref: s for s in f.states}
    out = []
    for x in f.assessment.listings:
        st = states.get(x.ref)
        if (
            st is None
            or x.status is not Status.ACTIVE
            or x.suspended
            or x.ended_by is not None
            or st.repaired_on is not None
            or st.withdrawn_on is not None
            or st.fulfilled_on is not None
        ):
            continue
        try:
            conduct = reg.pack.category(x.category).name
        except KeyError:
            conduct = x.category
        out.append(
            {
                "name": st.record.subject_name,
                "id_masked": mask(f.subject_id.value),
                "authority": x.ref.authority,
                "authority_name": names.get(x.ref.authority, x.ref.authority),
                "case_number": x.ref.case_number,
                "conduct": conduct,
                "legal_basis": x.legal_basis,
                "since": x.start.isoformat(),
                "until": None if x.end is None else x.end.isoformat(),
                "until_condition": x.until_condition,
                "how_to_object": HOW_TO_OBJECT,
            }
        )
    return out


def search(reg: Registry, q: str) -> dict[str, Any]:
    """Published listings for one whole ID or one whole name; always the same shape."""
    q = (q or "").strip()
    kind, subject_ids = "none", []
    try:
        sid = parse_subject_id(q, "q")
        kind, subject_ids = "id", [sid.value]
    except InvalidInput:
        name = _name_query(q)
        if name is not None and not any(ch.isdigit() for ch in name):
            kind = "name"
            with reg.engine.connect() as conn:
                subject_ids = list(
                    conn.execute(
                        select(t.records.c.subject_id)
                        .where(t.records.c.subject_name == name)
                        .distinct()
                        .order_by(t.records.c.subject_id)
                        .limit(MAX_SUBJECTS)
                    ).scalars()
                )
    with reg.engine.connect() as conn:
        names = dict(conn.execute(select(t.authorities.c.code, t.authorities.c.name)).all())
    results = [r for s in subject_ids for r in _listings(reg, s, names)]
    if kind == "name":  # a corrected name: show only listings under the name searched
        results = [r for r in results if r["name"] == _name_query(q)]
    shown = mask(subject_ids[0]) if kind == "id" else q[:100]  # the answer never holds a full ID
    return {"query": shown, "kind": kind, "count": len(results), "results": results}
