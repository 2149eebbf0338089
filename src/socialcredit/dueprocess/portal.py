"""The citizen portal (``/me``): a listed person's own file as web pages, in Chinese first.

Sign-in is the subject-access service's: ID number + a one-time code (emailed on request, or
printed in a letter), traded by :func:`subject_access.open_session` for a subject session. That
session's token travels in its own cookie (``sc_me``, HttpOnly, SameSite=Lax, path ``/me``):
a citizen is **not** a staff user and never gets a staff session. The page kit's anonymous
session only carries the CSRF token of the forms, and is replaced at sign-in (no fixation).

Every page reads through the same services as the JSON API (``own_file``, ``file_objection``,
``apply_for_repair``), so the audit trail and the rules are the same. Another person's case or
evidence answers 404: the portal does not say whether it exists.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from socialcredit.dueprocess import (
    evidence,
    letters,
    objections,
    reconsideration,
    repair,
    subject_access,
)
from socialcredit.dueprocess.cases import get_case
from socialcredit.dueprocess.outbox import get_notice
from socialcredit.dueprocess.portal_labels import CATEGORIES, GROUNDS, SECTORS
from socialcredit.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited
from socialcredit.runtime.deps import RegistryDep
from socialcredit.runtime.registry import Registry
from socialcredit.web.pages import page_router, redirect, render, renew_form_session

router = page_router(prefix="/me")
COOKIE = "sc_me"
Text = Annotated[str, Form()]


# --- the citizen's session -----------------------------------------------------------------


def _me(request: Request, reg: Registry) -> str | None:
    token = request.cookies.get(COOKIE, "")
    if not token:
        return None
    try:
        return subject_access.session_subject(reg, token)
    except subject_access.Unauthenticated:
        return None


def _set_cookie(request: Request, reg: Registry, resp: Response, token: str, age: int) -> None:
    secure = reg.settings.cookie_secure
    if secure is None:
        secure = request.url.scheme == "https"
    resp.set_cookie(
        COOKIE, token, max_age=age, path="/me", httponly=True, samesite="lax", secure=secure
    )


def _ctx(reg: Registry, me: str | None, **more: Any) -> dict[str, Any]:
    return {
        "citizen": me,
        "sectors": SECTORS,
        "grounds_names": GROUNDS,
        "category_names": CATEGORIES,
        **more,
    }


# --- signing in ------------------------------------------------------------------------------


@router.get("")
def home(request: Request, reg: RegistryDep) -> Response:
    return redirect("/me/file" if _me(request, reg) else "/me/signin")


@router.get("/signin")
def signin_form(request: Request, reg: RegistryDep, out: int = 0) -> HTMLResponse:
    return render(request, "portal/signin.html", _ctx(reg, None, signed_out=out))


def _client(request: Request) -> str:
    """The client's address: code requests and checks are limited per address."""
    return request.client.host if request.client else "local"


@router.post("/code")
def send_code(request: Request, reg: RegistryDep, subject_id: Text) -> HTMLResponse:
    ctx = _ctx(reg, None, subject_id=subject_id)
    try:
        subject_access.request_code(reg, subject_id.strip(), client=_client(request))
    except InvalidInput:
        return render(request, "portal/signin.html", {**ctx, "error": "bad_id"}, 422)
    except RateLimited:
        return render(request, "portal/signin.html", {**ctx, "error": "too_many_codes"}, 429)
    except subject_access.DeliveryFailed:
        return render(request, "portal/signin.html", {**ctx, "error": "not_sent"}, 503)
    return render(request, "portal/signin.html", {**ctx, "sent": True})


@router.post("/signin")
def signin(request: Request, reg: RegistryDep, subject_id: Text, code: Text) -> Response:
    ctx = _ctx(reg, None, subject_id=subject_id)
    try:
        got = subject_access.open_session(
            reg, subject_id.strip(), code.strip(), client=_client(request)
        )
    except InvalidInput:
        return render(request, "portal/signin.html", {**ctx, "error": "bad_id"}, 422)
    except subject_access.Unauthenticated:
        return render(request, "portal/signin.html", {**ctx, "error": "bad_code"}, 401)
    # A new form session too: a CSRF token planted before sign-in is worthless after it.
    renew_form_session(request)
    resp = redirect("/me/file")
    ttl = int(subject_access.SESSION_TTL.total_seconds())
    _set_cookie(request, reg, resp, got["token"], ttl)
    return resp


@router.post("/signout")
def signout(request: Request, reg: RegistryDep) -> Response:
    resp = redirect("/me/signin?out=1")
    _set_cookie(request, reg, resp, "", 0)
    return resp


# --- the file --------------------------------------------------------------------------------


def _records(d: dict[str, Any]) -> list[dict[str, Any]]:
    """Each record with its listing and the restrictions it causes, for the template."""
    out = []
    for rec in d["records"]:
        ref = f"{rec['authority']}/{rec['case_number']}"
        out.append(
            {
                **rec,
                "ref": ref,
                "listings": [x for x in d["listings"] if x["record"] == ref],
                "restrictions": [r for r in d["restrictions"] if ref in r["records"]],
                "cases": [c for c in d["cases"] if _case_ref(c) == ref],
            }
        )
    return out


def _case_ref(c: dict[str, Any]) -> str:
    return f"{c['record_authority']}/{c['record_case_number']}"


@router.get("/file")
def my_file(request: Request, reg: RegistryDep) -> Response:
    me = _me(request, reg)
    if me is None:
        return redirect("/me/signin")
    d = subject_access.own_file(reg, me, None)
    ctx = _ctx(reg, me, file=d, records=_records(d), categories=reg.pack.categories)
    return render(request, "portal/file.html", ctx)


@router.get("/export.json")
def export(request: Request, reg: RegistryDep) -> Response:
    me = _me(request, reg)
    if me is None:
        return redirect("/me/signin")
    d = subject_access.own_file(reg, me, None, export=True)
    body = json.dumps(d, ensure_ascii=False, indent=2, default=str)
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="credit-file-{me}.json"'},
    )


@router.get("/notices/{notice_id}.pdf")
def notice_pdf(request: Request, reg: RegistryDep, notice_id: int) -> Response:
    """One of my notices as the PDF letter the authority prints."""
    me = _me(request, reg)
    if me is None:
        return redirect("/me/signin")
    n = get_notice(reg, notice_id)
    try:
        subject_access.may_see(reg, me, n.subject_id)
    except Forbidden:
        raise NotFound(f"notice {notice_id} does not exist") from None
    return Response(
        letters.pdf(letters.with_code(n.body_html, letters.HIDDEN_CODE)),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="notice-{notice_id}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/export.pdf")
def export_pdf(request: Request, reg: RegistryDep) -> Response:
    """The whole file as a PDF to keep or print (the same read as the JSON export)."""
    me = _me(request, reg)
    if me is None:
        return redirect("/me/signin")
    d = subject_access.own_file(reg, me, None, export=True)
    for n in d["notices"]:
        n["body_text"] = letters.with_code(n["body_text"], letters.HIDDEN_CODE)
    ctx = _ctx(reg, me, file=d, records=_records(d), categories=reg.pack.categories)
    html = render(request, "portal/file_print.html", ctx).body
    return Response(
        letters.pdf(bytes(html).decode()),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="credit-file-{me}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )


# --- objections with evidence ------------------------------------------------------------


def _own_record(reg: Registry, me: str, authority: str, case_number: str) -> dict[str, Any]:
    d = subject_access.own_file(reg, me, None)
    for rec in _records(d):
        if rec["authority"] == authority and rec["case_number"] == case_number:
            return rec
    raise NotFound("no such record in your file")


@router.get("/object")
def objection_form(
    request: Request, reg: RegistryDep, authority: str, case_number: str
) -> Response:
    me = _me(request, reg)
    if me is None:
        return redirect("/me/signin")
    rec = _own_record(reg, me, authority, case_number)
    return render(request, "portal/object.html", _ctx(reg, me, record=rec, form={}))


@router.post("/object")
async def object_to(
    request: Request,
    reg: RegistryDep,
    authority: Text,
    case_number: Text,
    grounds: Annotated[str, Form()] = "",
    statement: Annotated[str, Form()] = "",
    files: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    me = await run_in_threadpool(_me, request, reg)
    if me is None:
        return redirect("/me/signin")
    uploads = []
    for f in files or []:
        if not f.filename and (f.size or 0) == 0:
            continue  # the browser's empty part for "no file chosen"
        # Read one byte past the cap: enough to refuse, never the whole of a huge file.
        data = await f.read(evidence.MAX_BYTES + 1)
        uploads.append(evidence.Upload(f.filename or "evidence", data))
    form = {"grounds": grounds, "statement": statement}

    def work() -> Response:
        rec = _own_record(reg, me, authority, case_number)
        ctx = _ctx(reg, me, record=rec, form=form)
        try:
            checked = evidence.check(uploads)
        except evidence.UploadRefused as e:
            ctx.update(error="upload", reason=e.reason, filename=e.filename)
            return render(request, "portal/object.html", ctx, 422)
        if grounds not in GROUNDS or not statement.strip():
            ctx.update(error="missing")
            return render(request, "portal/object.html", ctx, 422)
        try:
            case = objections.file_objection(
                reg,
                me,
                authority,
                case_number,
                grounds,
                statement,
                [],
                "subject",
                attachments=checked,
            )
        except Conflict:
            ctx.update(error="open_case")
            return render(request, "portal/object.html", ctx, 409)
        return redirect(f"/me/cases/{case['id']}?filed=1")

    return await run_in_threadpool(work)


# --- cases and evidence ------------------------------------------------------------------


def _own_case(reg: Registry, me: str, case_id: int) -> dict[str, Any]:
    case = get_case(reg, case_id)  # NotFound for a case that does not exist
    try:
        subject_access.may_see(reg, me, case["subject_id"])
    except Forbidden:
        raise NotFound("no such case in your file") from None  # do not say it exists
    return case


@router.get("/cases/{case_id}")
def case_page(request: Request, reg: RegistryDep, case_id: int, filed: int = 0) -> Response:
    me = _me(request, reg)
    if me is None:
        return redirect("/me/signin")
    case = _own_case(reg, me, case_id)
    ctx = _ctx(reg, me, case=case, files=evidence.for_case(reg, case_id), filed=filed)
    return render(request, "portal/case.html", ctx)


@router.post("/cases/{case_id}/reconsider")
def reconsider(request: Request, reg: RegistryDep, case_id: int, statement: Text) -> Response:
    """Take a rejected objection to a higher body, within the filing window."""
    me = _me(request, reg)
    if me is None:
        return redirect("/me/signin")
    case = _own_case(reg, me, case_id)
    try:
        new = reconsideration.file_reconsideration(reg, me, case_id, statement, "subject")
    except (InvalidInput, Conflict) as e:
        ctx = _ctx(reg, me, case=case, files=evidence.for_case(reg, case_id), filed=0)
        ctx.update(error="reconsider", message=e.message, statement=statement)
        return render(request, "portal/case.html", ctx, e.status)
    return redirect(f"/me/cases/{new['id']}?filed=1")


@router.get("/evidence/{evidence_id}")
def evidence_file(request: Request, reg: RegistryDep, evidence_id: int) -> Response:
    me = _me(request, reg)
    if me is None:
        return redirect("/me/signin")
    row = evidence.get(reg, evidence_id)
    try:
        subject_access.may_see(reg, me, row.case_subject_id)
    except Forbidden:
        raise NotFound(f"evidence {evidence_id} does not exist") from None
    return Response(
        row.content,
        media_type=row.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="evidence-{row.id}"',
            "Cache-Control": "private, no-store",
        },
    )


# --- credit repair -----------------------------------------------------------------------


@router.get("/repair")
def repair_form(request: Request, reg: RegistryDep, authority: str, case_number: str) -> Response:
    me = _me(request, reg)
    if me is None:
        return redirect("/me/signin")
    rec = _own_record(reg, me, authority, case_number)
    return render(request, "portal/repair.html", _ctx(reg, me, record=rec, form={}))


@router.post("/repair")
def apply_for_repair(
    request: Request,
    reg: RegistryDep,
    authority: Text,
    case_number: Text,
    commitment: Annotated[str, Form()] = "",
    obligations_met: Annotated[str, Form()] = "",
) -> Response:
    me = _me(request, reg)
    if me is None:
        return redirect("/me/signin")
    rec = _own_record(reg, me, authority, case_number)
    met = obligations_met == "yes"
    ctx = _ctx(reg, me, record=rec, form={"commitment": commitment, "met": met})
    try:
        case = repair.apply_for_repair(reg, me, authority, case_number, commitment, met, "subject")
    except InvalidInput as e:
        ctx.update(error="refused", message=str(e))
        return render(request, "portal/repair.html", ctx, 422)
    except Conflict as e:
        ctx.update(error="refused", message=str(e))
        return render(request, "portal/repair.html", ctx, 409)
    return redirect(f"/me/cases/{case['id']}?filed=1")
