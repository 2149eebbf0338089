"""A manifest's rows screened row by row, ``BATCH_CHUNK`` at a time, with one index call.

What the block path (:mod:`socialcredit.screening.blockcheck`) does not answer comes here:
every error, refusal and budget a row can meet is this module's, so both paths answer a row
alike. A batch is as many screenings as it has rows: the rows of a chunk take the party's
rate-limit tokens in order, and a row past them is refused ``rate_limited``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import numpy as np

from socialcredit.domain.normalise import normalise_identifier
from socialcredit.errors import InvalidInput, RegistryError
from socialcredit.screening.ids import FastId
from socialcredit.screening.parties import KeyInfo

if TYPE_CHECKING:
    from socialcredit.errors import RateLimited
    from socialcredit.runtime.registry import Registry
    from socialcredit.screening.limits import SharedRateLimiter
    from socialcredit.screening.service import Screener

BATCH_CHUNK = 10_000
MAX_BATCH_ROWS = 1_000_000
BATCH_WAIT_S = 2.0  # a batch waits this long at most for its rows' rate-limit tokens


class Request(NamedTuple):
    """One screening asked for (a tuple: built once per request, a frozen dataclass's
    ``__init__`` cost more than the lookup)."""

    subject_id: str
    name: str
    sector: str
    purpose: str
    reference: str | None = None


class ScreeningRuntime(Protocol):
    """What a manifest's rows need of ``api.ScreeningRuntime`` (which calls this module)."""

    @property
    def reg(self) -> Registry: ...
    @property
    def screener(self) -> Screener: ...
    @property
    def limiter(self) -> SharedRateLimiter: ...
    @property
    def writer(self) -> Any: ...
    @property
    def new_id(self) -> Callable[[], str]: ...

    def _rate_limited(self, info: KeyInfo) -> RateLimited: ...
    def authorise_sector(self, who: KeyInfo, sector: str, req: Request | None = None) -> int: ...
    def identify(self, who: KeyInfo, req: Request) -> FastId: ...
    def _row(
        self, sid: str, who: KeyInfo, subject: str, req: Request, decision: str, reason: str | None
    ) -> tuple[Any, ...]: ...


def screen_rows(
    rt: ScreeningRuntime,
    who: KeyInfo | None,
    rows: Iterable[Request | RegistryError],
    log_rows: bool = True,
    start: int = 1,
) -> Iterator[dict[str, Any]]:
    """See :meth:`ScreeningRuntime.screen_rows`."""
    chunk: list[tuple[int, Request | RegistryError]] = []
    for n, r in enumerate(rows, start=start):
        if n > MAX_BATCH_ROWS:
            yield {"row": n, "error": "invalid_input", "message": "manifest too long"}
            return
        chunk.append((n, r))
        if len(chunk) >= BATCH_CHUNK:
            yield from check_chunk(rt, who, chunk, log_rows)
            chunk = []
    if chunk:
        yield from check_chunk(rt, who, chunk, log_rows)


def row_tokens(rt: ScreeningRuntime, who: KeyInfo, rows: int) -> int:
    """How many of ``rows`` the party's rate limit allows: a batch is as many screenings as
    it has rows. A batch that needs at most BATCH_WAIT_S more is paced (this runs in a worker
    thread); past that, the rest are refused row by row."""
    granted, wait = rt.limiter.take(who.prefix, who.rate_per_minute, rows)
    if granted < rows and wait <= BATCH_WAIT_S:
        time.sleep(wait)
        granted += rt.limiter.take(who.prefix, who.rate_per_minute, rows - granted)[0]
    return granted


def check_chunk(
    rt: ScreeningRuntime,
    who: KeyInfo | None,
    chunk: list[tuple[int, Request | RegistryError]],
    log_rows: bool,
    allowed: Sequence[bool] | None = None,
) -> list[dict[str, Any]]:
    """The answers to ``chunk`` ((row number, request or error) pairs). ``allowed`` says
    which rows had a rate-limit token (the block path takes them for a whole block); without
    it the chunk takes its own, the first rows first."""
    s = rt.screener
    day = rt.reg.today()
    out: list[dict[str, Any]] = []
    ok: list[tuple[int, FastId, int, Request]] = []
    if allowed is None:
        granted = len(chunk) if who is None else row_tokens(rt, who, len(chunk))
        allowed = [j < granted for j in range(len(chunk))]
    for j, (n, r) in enumerate(chunk):
        try:
            if isinstance(r, RegistryError):
                raise r
            if not r.subject_id:
                raise InvalidInput.one("subject_id", "required", None, n)
            if who is not None:
                if not allowed[j]:  # the rate limit counts rows, not requests
                    raise rt._rate_limited(who)
                bit = rt.authorise_sector(who, r.sector, r)
                fid = rt.identify(who, r)
            else:
                # offline (operator) manifests may leave the name out
                bit = s.sector_bit(r.sector)
                fid = s.identify(normalise_identifier(r.subject_id), r.name or None)
            ok.append((len(out), fid, bit, r))
            out.append({})
        except RegistryError as e:
            out.append(error_row(n, r, e))
    if ok:
        keys = np.fromiter((f.key for _, f, _, _ in ok), dtype=np.uint64, count=len(ok))
        bits = np.fromiter((b for _, _, b, _ in ok), dtype=np.int64, count=len(ok))
        codes = np.array([(f.code or "").encode("ascii") for _, f, _, _ in ok], dtype="S18")
        deny = s.deny.current.check_batch(keys, bits, day, codes)
        ben = s.benefits.current.check_batch(keys, bits, day, codes)
        for j, (slot, fid, _, r) in enumerate(ok):
            v = deny.verdict(j)
            b = None if v.deny else ben.verdict(j).reason_code
            a = s.answer(r.sector, v, b, day)
            sid = rt.new_id()
            if log_rows and who is not None:
                rt.writer.screening(rt._row(sid, who, fid.value, r, a.decision, a.reason_code))
            out[slot] = {
                "row": chunk[slot][0],
                "subject_id": fid.value,
                "screening_id": sid,
                "decision": a.decision,
                "sector": a.sector,
                "reason_code": a.reason_code,
                "until": None if a.until is None else a.until.isoformat(),
                "until_condition": a.until_condition,
                "benefit": a.benefit,
            }
    return out


def row_error(e: RegistryError, subject_id: str) -> RegistryError:
    """A manifest row's error that knows the row's subject_id (the answer names it)."""
    e.subject_id = subject_id  # type: ignore[attr-defined]
    return e


def error_row(n: int, r: Request | RegistryError, e: RegistryError) -> dict[str, Any]:
    """A row's error, naming the row's subject_id (as sent, cut short) when it had one."""
    d: dict[str, Any] = {"row": n, "error": e.code, "message": e.message}
    sid = getattr(e, "subject_id", None) if isinstance(r, RegistryError) else r.subject_id
    if sid:
        d["subject_id"] = str(sid)[:40]
    return d
