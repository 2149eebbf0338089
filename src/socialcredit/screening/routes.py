"""The relying parties' screening API: one subject, or a streamed manifest.

The routes are ``async`` and touch no SQL: the key, the rate limit, the name check and the
decision are all answered from memory, and the log entry is queued for the background writer.
The index is built (or restored) when the app starts and kept fresh by the watcher thread;
both are stopped, and the log flushed, when it stops.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import IO, Annotated, Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from socialcredit.errors import InvalidInput, RegistryError
from socialcredit.runtime.deps import OperatorDep, party_bearer, party_key
from socialcredit.runtime.metrics import SCREENINGS
from socialcredit.runtime.registry import Registry
from socialcredit.runtime.server import freeze_heap
from socialcredit.screening import api, blockcheck, manifest
from socialcredit.screening.batch import BATCH_CHUNK, MAX_BATCH_ROWS, row_error
from socialcredit.screening.blockcheck import CSV_FIELDS
from socialcredit.screening.parties import KeyInfo
from socialcredit.screening.schemas import BATCH, IndexStatus


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    reg: Registry = app.state.registry
    save = getattr(app.state, "save_snapshot", True)  # forked workers leave it to the parent
    runtime = await run_in_threadpool(
        lambda: api.ScreeningRuntime.open(reg, log_process=True, save_snapshot=save)
    )
    runtime.start()
    app.state.screening = runtime
    if getattr(app.state, "freeze_heap", False):
        freeze_heap()
    try:
        yield
    finally:
        await run_in_threadpool(runtime.stop)


router = APIRouter(tags=["screening"], lifespan=lifespan)


def get_runtime_now(request: Request) -> api.ScreeningRuntime:
    rt: api.ScreeningRuntime | None = getattr(request.app.state, "screening", None)
    if rt is None:
        raise RegistryError("the screening index is not loaded")
    return rt


# Dependencies are ``async``: FastAPI runs a plain ``def`` dependency in the thread pool, a
# thread hop per request that cost more than the screening itself.
async def get_runtime(request: Request) -> api.ScreeningRuntime:
    return get_runtime_now(request)


RuntimeDep = Annotated[api.ScreeningRuntime, Depends(get_runtime)]


async def relying_party(
    rt: RuntimeDep,
    bearer: Annotated[str | None, Security(party_bearer)] = None,
    x_api_key: Annotated[str | None, Security(party_key)] = None,
) -> KeyInfo:
    return rt.authenticate(x_api_key or bearer)


PartyDep = Annotated[KeyInfo, Depends(relying_party)]


class ScreeningIn(BaseModel):
    subject_id: str = Field(max_length=40, description="resident ID or credit code")
    name: str = Field(min_length=1, max_length=200, description="as read from the ID card")
    sector: str = Field(max_length=64, examples=["flight"])
    purpose: str = Field(min_length=1, max_length=200, examples=["ticket sale"])
    reference: str | None = Field(default=None, max_length=200, description="your transaction id")


def parse_screening(raw: bytes) -> api.Request:
    """The body as a request: a plain, well-formed body is checked here against the limits
    of :class:`ScreeningIn`; anything else goes through the model itself, so a bad body gets
    pydantic's own errors (422) and no body is accepted that the model refuses."""
    try:
        d = orjson.loads(raw)
    except orjson.JSONDecodeError:
        d = None
    if type(d) is dict:
        sid, name, sector = d.get("subject_id"), d.get("name"), d.get("sector")
        purpose, ref = d.get("purpose"), d.get("reference")
        if (
            type(sid) is str
            and len(sid) <= 40
            and type(name) is str
            and 0 < len(name) <= 200
            and type(sector) is str
            and len(sector) <= 64
            and type(purpose) is str
            and 0 < len(purpose) <= 200
            and (ref is None or (type(ref) is str and len(ref) <= 200))
        ):
            return api.Request(sid, name, sector, purpose, ref)
    try:
        m = ScreeningIn.model_validate_json(raw)
    except ValidationError as e:
        raise RequestValidationError(e.errors()) from None
    return api.Request(m.subject_id, m.name, m.sector, m.purpose, m.reference)


class FastJSONResponse(JSONResponse):
    """The same bytes as Starlette's ``JSONResponse`` (compact, UTF-8), by orjson."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class ScreeningOut(BaseModel):
    screening_id: str
    decision: str
    sector: str
    reason_code: str | None
    until: str | None
    until_condition: str | None
    benefit: str | None
    explanation: str
    rulepack_version: str


@router.post(
    "/v1/screenings",
    response_model=ScreeningOut,
    responses={
        401: {"description": "No key, or not a valid one"},
        403: {"description": "A sector the party does not serve"},
        429: {"description": "Over the party's rate"},
    },
    openapi_extra={
        "security": [{party_key.scheme_name: []}, {party_bearer.scheme_name: []}],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ScreeningIn.model_json_schema()}},
        },
    },
)
async def screen(request: Request) -> JSONResponse:
    """May this subject buy or do this, in this sector, now? Allow or deny with a reason code,
    the end (or ending condition) and a screening id the subject can quote to object.

    Authenticate with ``X-API-Key: <key>`` or ``Authorization: Bearer <key>``."""
    # The hot path: no FastAPI dependencies or body injection (their resolution cost more
    # than the screening); the body is checked by parse_screening against the model's limits,
    # errors come from the model itself. The answer is encoded by orjson, a sixteenth of
    # json.dumps' cost.
    rt = get_runtime_now(request)
    h = request.headers
    key = h.get("x-api-key") or (h.get("authorization") or "").removeprefix("Bearer ").strip()
    who = rt.authenticate(key or None)
    d = rt.screen(who, parse_screening(await request.body()))
    SCREENINGS.add((d["sector"], d["decision"]))
    return FastJSONResponse(d)


@router.api_route("/v1/ping", methods=["GET", "POST"], include_in_schema=False)
async def ping() -> JSONResponse:
    """No work at all (a POST body is not even read): the benchmark's baseline, answered by
    the same response class as a screening."""
    return FastJSONResponse({"ok": True})


@router.get("/v1/screening/status", tags=["operator"], response_model=IndexStatus)
def status(rt: RuntimeDep, _: OperatorDep) -> dict[str, Any]:
    """How the index was built, its size, the feed marks and the log writer's count."""
    return {**rt.screener.stats(), "log_rows_written": rt.writer.written}


def _row_of(d: dict[str, Any], sector: str | None, n: int) -> api.Request | RegistryError:
    try:
        sid, name = d.get("subject_id"), d.get("name")
        sec = d.get("sector") or sector
        if not isinstance(sid, str) or not sid:
            return InvalidInput.one("subject_id", "required", None, n)
        if not isinstance(name, str) or not name:
            return row_error(InvalidInput.one("name", "required (from the ID card)", None, n), sid)
        if not isinstance(sec, str) or not sec:
            return row_error(InvalidInput.one("sector", "required (or ?sector=)", None, n), sid)
        purpose = d.get("purpose") or "batch screening"
        ref = d.get("reference")
        return api.Request(sid, name, sec, str(purpose), None if ref is None else str(ref))
    except AttributeError:
        return InvalidInput.one("row", "must be an object", str(d)[:100], n)


SPOOL_BYTES = 8 << 20  # a manifest larger than this is spooled to a temporary file


async def _spool(request: Request) -> tempfile.SpooledTemporaryFile[bytes]:
    """The body, received chunk by chunk. Spooled before answering: Starlette's streaming
    response listens for a disconnect on the same channel the body arrives on."""
    spool: tempfile.SpooledTemporaryFile[bytes] = tempfile.SpooledTemporaryFile(SPOOL_BYTES)
    async for chunk in request.stream():
        spool.write(chunk)
    spool.seek(0)
    return spool


def _rows(body: IO[bytes], kind: str, sector: str | None) -> Iterator[api.Request | RegistryError]:
    """The manifest's rows (see :mod:`socialcredit.screening.manifest`): one bad row is that
    row's error, never the end of the answer."""

    def make(d: dict[str, Any], n: int) -> api.Request | RegistryError:
        return _row_of(d, sector, n)

    if kind == "json":
        return manifest.json_array_rows(body, make)
    if kind == "csv":
        return manifest.csv_rows(body, make)
    return manifest.ndjson_rows(body, make)


@router.post("/v1/screenings/batch", response_class=StreamingResponse, responses=BATCH)
async def screen_batch(
    request: Request,
    rt: RuntimeDep,
    who: PartyDep,
    sector: Annotated[str | None, Query(description="default sector for rows without one")] = None,
) -> StreamingResponse:
    """A manifest of up to 1,000,000 rows (subject_id, name, sector[, purpose, reference]) as
    CSV (``text/csv``, header line first), NDJSON (``application/x-ndjson``) or a JSON array;
    answers stream back in the same order, as CSV for CSV and NDJSON otherwise. A bad row
    gets an error entry; the rest are screened."""
    ctype = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    kind = "csv" if "csv" in ctype else "json" if ctype == "application/json" else "ndjson"
    if sector is not None:
        rt.authorise_sector(who, sector)  # a default sector not served: refused and logged
    body = await _spool(request)
    media = "text/csv" if kind == "csv" else "application/x-ndjson"
    if kind != "json":  # CSV and NDJSON: a block at a time
        stream = blockcheck.closing(batch_answers(rt, who, body, kind, sector), body)
        return StreamingResponse(stream, media_type=media)

    def answers() -> Iterator[str]:  # run in a worker thread by StreamingResponse
        try:
            chunk: list[api.Request | RegistryError] = []
            start = 1
            for n, row in enumerate(_rows(body, kind, sector), start=1):
                if n > MAX_BATCH_ROWS:
                    break
                chunk.append(row)
                if len(chunk) >= BATCH_CHUNK:
                    yield _format(rt.screen_rows(who, chunk, start=start), kind)
                    start += len(chunk)
                    chunk = []
            else:
                n = 0
            if chunk:
                yield _format(rt.screen_rows(who, chunk, start=start), kind)
            if n > MAX_BATCH_ROWS:
                yield _render_error(n, kind)
        finally:
            body.close()

    return StreamingResponse(answers(), media_type=media)


def batch_answers(
    rt: api.ScreeningRuntime, who: KeyInfo, body: IO[bytes], kind: str, sector: str | None
) -> Iterator[bytes]:
    """A CSV or NDJSON manifest's answers, a block at a time (run in a worker thread)."""
    return blockcheck.BlockScreening(rt, who, kind, sector, _row_of, _format).stream(body)


def _render_error(n: int, kind: str) -> str:
    d = {"row": n, "error": "invalid_input", "message": "a manifest has at most 1,000,000 rows"}
    return _format([d], kind)


def _format(rows: Any, kind: str) -> str:
    rows = list(rows)
    for key, n in Counter((d["sector"], d["decision"]) for d in rows if "decision" in d).items():
        SCREENINGS.add(key, n)
    if kind != "csv":
        return "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in rows)
    buf = io.StringIO()
    w = csv.DictWriter(buf, CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    w.writerows(rows)
    return buf.getvalue()
