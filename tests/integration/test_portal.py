"""The citizen portal (``/me``) over HTTP (TestClient), on both backends: the journey from a
letter code to an upheld objection and an ``allow``, and every refusal the issue names.

Fixtures (from ``test_dueprocess``'s shape): ``reg`` has CHEN with a pending flight listing and
an email address, WANG with a listing and no address (so he gets letters with codes), and
ZHOU, another listed person. ``page`` is a browser-like client: cookies kept, the CSRF token
read from the last page.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from tests.integration.dueprocess_support import (
    AUTH,
    Clock,
    SmtpSink,
    free_port,
    ingest,
    make_registry,
    person_id,
    set_contact,
)

from socialcredit.dueprocess import evidence, letter_codes, letters, outbox
from socialcredit.registry.subjects import check
from socialcredit.runtime.registry import Registry
from socialcredit.store.tables_dueprocess import notices
from socialcredit.web.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

CHEN = person_id("110105", "19850315", "215")
WANG = person_id("110108", "19770404", "058")
ZHOU = person_id("110108", "19900101", "033")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"x" * 64


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    s = SmtpSink(port=free_port())
    ctl = Controller(s, hostname="127.0.0.1", port=s.port)
    ctl.start()
    try:
        yield s
    finally:
        s.release.set()
        ctl.stop()


@pytest.fixture
def clock() -> Clock:
    c = Clock(now=None)  # type: ignore[arg-type]
    c.set_day("2026-10-09")
    return c


@pytest.fixture
def reg(db_url: str, clock: Clock, sink: SmtpSink) -> Iterator[Registry]:
    r = make_registry(db_url, clock, sink.port)
    air = {
        "authority": "CAAC",
        "case_number": "CAAC-2026-0920",
        "category": "air.smoking_or_devices",
        "subject_id": CHEN,
        "subject_name": "陈静",
        "decision_date": "2026-09-20",
        "legal_basis": "NDRC et al. 2018 No. 385, category A (8)",
    }
    rows = [
        air,
        {**air, "case_number": "CAAC-2026-0921", "subject_id": ZHOU, "subject_name": "周洋"},
        {**air, "case_number": "CAAC-2026-0923", "subject_id": WANG, "subject_name": "王伟"},
    ]
    ingest(r, rows, "2026-10-09")
    set_contact(r, CHEN, "chen@example.test")
    set_contact(r, ZHOU, "zhou@example.test")
    yield r
    r.engine.dispose()


class Browser:
    """A TestClient used like a browser: keeps cookies, posts forms with the page's token."""

    def __init__(self, reg: Registry) -> None:
        self.c = TestClient(create_app(reg), follow_redirects=False)
        self.token = ""

    def get(self, url: str, **kw: Any) -> Any:
        r = self.c.get(url, **kw)
        m = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
        if m:
            self.token = m.group(1)
        return r

    def post(self, url: str, data: dict[str, Any], files: Any = None, csrf: bool = True) -> Any:
        body = {**data, "csrf_token": self.token} if csrf else data
        return self.c.post(url, data=body, files=files)

    def sign_in(self, sid: str, code: str) -> Any:
        self.get("/me/signin")
        return self.post("/me/signin", {"subject_id": sid, "code": code})


def email_code(b: Browser, sink: SmtpSink, sid: str, address: str) -> str:
    b.get("/me/signin")
    r = b.post("/me/code", {"subject_id": sid})
    assert r.status_code == 200 and 'id="code-sent"' in r.text
    from socialcredit.dueprocess.delivery import deliver_due

    deliver_due(b.c.app.state.registry, "test-worker")  # codes go out through the outbox
    return sink.codes(address)[-1]


def embeds_noto_cjk(pdf: bytes) -> bool:
    """Whether a CJK face of Debian's fonts-noto-cjk is embedded (font programs are deflated)."""
    import zlib

    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            if b"CJK" in zlib.decompress(m.group(1)):
                return True
        except zlib.error:
            continue
    return False


def letter_code(reg: Registry, sid: str) -> str:
    with reg.engine.begin() as conn:
        return letter_codes.issue(conn, reg, sid)


def test_letter_code_to_upheld_objection_to_allow(reg: Registry, clock: Clock) -> None:
    b = Browser(reg)
    r = b.sign_in(WANG, letter_code(reg, WANG))
    assert r.status_code == 303 and r.headers["location"] == "/me/file"
    assert "sc_me=" in r.headers["set-cookie"] and "httponly" in r.headers["set-cookie"].lower()
    page = b.get("/me/file")
    assert page.status_code == 200 and 'lang="zh-Hans"' in page.text
    assert "王伟" in page.text and "CAAC/CAAC-2026-0923" in page.text
    assert "2026-10-16" in page.text  # the publicity period's end, as a date

    b.get("/me/object?authority=CAAC&case_number=CAAC-2026-0923")
    r = b.post(
        "/me/object",
        {
            "authority": "CAAC",
            "case_number": "CAAC-2026-0923",
            "grounds": "not_me",
            "statement": "我的身份证八月被盗。",
        },
        files=[("files", ("report.pdf", PDF, "application/pdf"))],
    )
    assert r.status_code == 303, r.text
    case_url = r.headers["location"].split("?")[0]
    case_id = int(case_url.rsplit("/", 1)[1])
    page = b.get(case_url)
    assert "report.pdf" in page.text and "2026-10-24" in page.text  # the deadline
    eid = int(re.search(r"/me/evidence/(\d+)", page.text).group(1))  # type: ignore[union-attr]
    got = b.get(f"/me/evidence/{eid}")
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["x-content-type-options"] == "nosniff"
    row = evidence.get(reg, eid)
    import hashlib

    assert row.sha256 == hashlib.sha256(PDF).hexdigest()

    # A reviewer upholds it through the existing API; the portal shows it; the flight is allowed.
    api = TestClient(create_app(reg))
    assert (
        api.post(
            "/v1/reviewers",
            json={"id": "rv", "name": "Reviewer", "body": "registry", "level": "first"},
            headers=AUTH,
        ).status_code
        == 201
    )
    cur = api.get(f"/v1/cases/{case_id}", headers=AUTH).json()
    if cur.get("reviewer") != "rv":
        api.post(f"/v1/cases/{case_id}/assign", headers=AUTH, json={"reviewer": "rv"})
    clock.set_day("2026-10-20")
    r = api.post(
        f"/v1/cases/{case_id}/decision",
        headers=AUTH,
        json={"reviewer": "rv", "outcome": "upheld", "reasons": "Not the same person."},
    )
    assert r.status_code == 200, r.text
    b = Browser(reg)  # the 30-minute session ended with the clock's move
    b.sign_in(WANG, letter_code(reg, WANG))
    page = b.get(case_url)
    assert 'id="case-state">已支持' in page.text
    assert check(reg, WANG, "flight").decision == "allow"

    # English on request, by the kit's switch.
    b.c.cookies.set("_LOCALE_", "en")
    page = b.get(case_url)
    assert 'lang="en"' in page.text and ">upheld<" in page.text


def test_a_citizen_cannot_open_another_s_file_case_or_evidence(
    reg: Registry, sink: SmtpSink
) -> None:
    zhou = Browser(reg)
    zhou.sign_in(ZHOU, email_code(zhou, sink, ZHOU, "zhou@example.test"))
    zhou.get("/me/object?authority=CAAC&case_number=CAAC-2026-0921")
    r = zhou.post(
        "/me/object",
        {
            "authority": "CAAC",
            "case_number": "CAAC-2026-0921",
            "grounds": "wrong_data",
            "statement": "日期不对",
        },
        files=[("files", ("a.png", PNG, "image/png"))],
    )
    assert r.status_code == 303
    case_url = r.headers["location"].split("?")[0]
    eid = re.search(r"/me/evidence/(\d+)", zhou.get(case_url).text).group(1)  # type: ignore[union-attr]

    chen = Browser(reg)
    chen.sign_in(CHEN, email_code(chen, sink, CHEN, "chen@example.test"))
    assert chen.get(case_url).status_code == 404
    assert chen.get(f"/me/evidence/{eid}").status_code == 404
    assert chen.get("/me/evidence/99999").status_code == 404
    # Another's record is not objectable either, and the file is always one's own.
    assert chen.get("/me/object?authority=CAAC&case_number=CAAC-2026-0921").status_code == 404
    assert "周洋" not in chen.get("/me/file").text
    # Without a citizen session: to sign-in; a staff session is not a citizen's.
    anon = Browser(reg)
    for url in ("/me/file", case_url, f"/me/evidence/{eid}", "/me/export.json"):
        r = anon.get(url)
        assert r.status_code == 303 and r.headers["location"] == "/me/signin"
    # The citizen's cookie is no bearer token for the JSON API of staff.
    token = chen.c.cookies.get("sc_me")
    assert token
    r = chen.c.get("/v1/cases", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code in (401, 403)


def test_wrong_codes_lock_the_code_not_the_owner(reg: Registry, sink: SmtpSink) -> None:
    b = Browser(reg)
    good = letter_code(reg, WANG)
    wrong = "000000" if good != "000000" else "111111"
    for _ in range(5):
        r = b.sign_in(WANG, wrong)
        assert r.status_code == 401 and "5" in r.text and 'role="alert"' in r.text
    assert b.sign_in(WANG, good).status_code == 401  # the code is spent
    # ...but not the owner: the next letter's code works.
    r = b.sign_in(WANG, letter_code(reg, WANG))
    assert r.status_code == 303


def test_uploads_too_large_or_of_the_wrong_type_are_refused(reg: Registry, sink: SmtpSink) -> None:
    b = Browser(reg)
    b.sign_in(CHEN, email_code(b, sink, CHEN, "chen@example.test"))
    form = {
        "authority": "CAAC",
        "case_number": "CAAC-2026-0920",
        "grounds": "not_me",
        "statement": "不是我",
    }
    b.get("/me/object?authority=CAAC&case_number=CAAC-2026-0920")
    big = PDF + b"x" * evidence.MAX_BYTES
    r = b.post("/me/object", form, files=[("files", ("big.pdf", big, "application/pdf"))])
    assert r.status_code == 422 and "big.pdf" in r.text and "5 MB" in r.text
    exe = b"MZ\x90\x00" + b"\x00" * 64  # a Windows executable named and typed as a PDF
    r = b.post("/me/object", form, files=[("files", ("scan.pdf", exe, "application/pdf"))])
    assert r.status_code == 422 and "scan.pdf" in r.text and "PDF" in r.text
    b.c.cookies.set("_LOCALE_", "en")
    r = b.post("/me/object", form, files=[("files", ("scan.pdf", exe, "application/pdf"))])
    assert "is not a PDF, JPEG or PNG file" in r.text
    assert "Nothing was filed" in r.text
    f = b.get("/me/export.json").json()
    assert f["cases"] == []  # nothing was filed


def test_every_portal_form_needs_its_csrf_token(reg: Registry, sink: SmtpSink) -> None:
    b = Browser(reg)
    code = letter_code(reg, WANG)
    b.get("/me/signin")
    r = b.post("/me/signin", {"subject_id": WANG, "code": code}, csrf=False)
    assert r.status_code == 403 and "csrf" not in r.headers.get("location", "")
    r = b.post("/me/code", {"subject_id": WANG}, csrf=False)
    assert r.status_code == 403
    assert b.sign_in(WANG, code).status_code == 303
    b.get("/me/file")
    forms: list[tuple[str, dict[str, Any]]] = [
        (
            "/me/object",
            {
                "authority": "CAAC",
                "case_number": "CAAC-2026-0923",
                "grounds": "not_me",
                "statement": "x",
            },
        ),
        (
            "/me/repair",
            {
                "authority": "CAAC",
                "case_number": "CAAC-2026-0923",
                "commitment": "x",
                "obligations_met": "yes",
            },
        ),
        ("/me/cases/1/reconsider", {"statement": "x"}),
        ("/me/signout", {}),
    ]
    for url, data in forms:
        r = b.post(url, data, csrf=False)
        assert r.status_code == 403, url
        r = b.post(url, {**data, "csrf_token": "forged"}, csrf=False)
        assert r.status_code == 403, url
    assert b.get("/me/export.json").json()["cases"] == []  # nothing was written


def test_sign_in_replaces_the_form_session(reg: Registry) -> None:
    b = Browser(reg)
    b.get("/me/signin")
    before = b.c.cookies.get("sc_session")
    b.post("/me/signin", {"subject_id": WANG, "code": letter_code(reg, WANG)})
    assert b.c.cookies.get("sc_session") != before


def test_the_letter_to_a_subject_without_address_carries_a_sign_in_code(reg: Registry) -> None:
    """Minted when the letter is printed, never stored: whoever reads stored notices (or the
    subject's export) finds no usable code."""
    outbox.plan(reg)
    with reg.engine.connect() as conn:
        nid, body = conn.execute(
            select(notices.c.id, notices.c.body_text).where(
                notices.c.subject_id == WANG, notices.c.channel == "letter"
            )
        ).one()
    assert letters.CODE_SLOT in body and not re.search(r"\d{6}", body.split("/me")[-1])
    printed = TestClient(create_app(reg)).get(f"/v1/notices/{nid}/letter", headers=AUTH).text
    code = re.search(r'class="code">(\d{6})<', printed)
    assert code is not None
    (mine,) = outbox.notices_for_subject(reg, WANG)
    assert letters.HIDDEN_CODE in mine["body_text"] and code.group(1) not in mine["body_text"]
    b = Browser(reg)
    assert b.sign_in(WANG, code.group(1)).status_code == 303


def test_evidence_is_for_the_subject_and_the_case_s_reviewers_only(
    reg: Registry, sink: SmtpSink
) -> None:
    from socialcredit.accounts.model import Role, Scope
    from socialcredit.accounts.service import create_user, issue_token

    api = TestClient(create_app(reg))
    reviewer = {"id": "rv", "name": "Reviewer", "body": "registry", "level": "first"}
    assert api.post("/v1/reviewers", json=reviewer, headers=AUTH).status_code == 201
    b = Browser(reg)
    b.sign_in(CHEN, email_code(b, sink, CHEN, "chen@example.test"))
    b.get("/me/object?authority=CAAC&case_number=CAAC-2026-0920")
    r = b.post(
        "/me/object",
        {
            "authority": "CAAC",
            "case_number": "CAAC-2026-0920",
            "grounds": "not_me",
            "statement": "不是我",
        },
        files=[("files", ("a.png", PNG, "image/png"))],
    )
    case_id = int(r.headers["location"].split("?")[0].rsplit("/", 1)[1])
    case = api.get(f"/v1/cases/{case_id}", headers=AUTH).json()
    assert case["reviewer_body"] == "registry"
    tokens = {}
    for name, role, scope in (
        ("rv.own", Role.REVIEWER, Scope(review_body=case["reviewer_body"], review_level="first")),
        ("rv.other", Role.REVIEWER, Scope(review_body="elsewhere", review_level="first")),
        (
            "rv.higher",
            Role.REVIEWER,
            Scope(review_body=case["reviewer_body"], review_level="higher"),
        ),
        ("op", Role.OPERATOR, Scope()),
    ):
        create_user(
            reg,
            username=name,
            display_name=name,
            role=role,
            scope=scope,
            by="test",
            password="correct horse battery",
        )
        tokens[name] = {"Authorization": f"Bearer {issue_token(reg, username=name, by='test')}"}
    (f,) = api.get(f"/v1/cases/{case_id}/evidence", headers=tokens["rv.own"]).json()
    got = api.get(f"/v1/cases/{case_id}/evidence/{f['id']}", headers=tokens["rv.own"])
    assert got.status_code == 200 and got.content == PNG
    assert got.headers["x-content-sha256"] == f["sha256"]
    for who in ("rv.other", "rv.higher", "op"):
        r = api.get(f"/v1/cases/{case_id}/evidence/{f['id']}", headers=tokens[who])
        assert r.status_code == 403, who
    assert api.get(f"/v1/cases/{case_id}/evidence/{f['id']}", headers=AUTH).status_code == 401


def test_notices_use_the_registry_s_name(reg: Registry) -> None:
    """A later record names Wang otherwise: accepted with a warning, and his notice about it
    still greets him by the registry's name."""
    ingest(
        reg,
        [
            {
                "authority": "CAAC",
                "case_number": "CAAC-2026-0999",
                "category": "air.smoking_or_devices",
                "subject_id": WANG,
                "subject_name": "王 玮",
                "decision_date": "2026-09-25",
                "legal_basis": "NDRC et al. 2018 No. 385, category A (8)",
            }
        ],
        "2026-10-09",
    )
    outbox.plan(reg)
    with reg.engine.connect() as conn:
        bodies = (
            conn.execute(select(notices.c.body_text).where(notices.c.subject_id == WANG))
            .scalars()
            .all()
        )
    assert len(bodies) == 2 and all("王伟" in b and "王 玮" not in b for b in bodies)


def test_letters_a_person_can_act_on(reg: Registry, sink: SmtpSink) -> None:
    """Chinese by default: the registry's name, an address block, what happened and why, the
    measures and their end, the portal and a code, deadlines as dates, whom to contact; a PDF
    with CJK fonts; mail with a Message-ID. English when the registry is set to it."""
    from socialcredit.dueprocess import delivery, letters

    outbox.plan(reg)
    (wang,) = outbox.notices_for_subject(reg, WANG)
    text = wang["body_text"]
    for part in (
        "王伟",  # the registry's name
        "110108*******0584"[:6],  # the ID, masked, in the address block
        "由 CAAC 送达",
        "CAAC-2026-0923",
        "NDRC et al. 2018 No. 385, category A (8)",
        "乘坐民航飞机",
        "2027年",  # the measure's end, as a date
        "2026年10月16日",  # the objection deadline that holds the start
        "http://127.0.0.1:8000/me",
        "联系方式",
    ):
        assert part in text, part
    assert "POST /v1" not in text
    n = outbox.get_notice(reg, wang["id"])
    printed_text, printed_html = outbox.issue_copy(reg, n)  # as the authority prints it
    code = re.search(r"验证码登录：\s*(\d{6})", printed_text)
    assert code is not None
    assert Browser(reg).sign_in(WANG, code.group(1)).status_code == 303

    assert '<html lang="zh-Hans">' in printed_html and "王伟" in printed_html
    pdf = letters.pdf(printed_html)
    assert pdf.startswith(b"%PDF") and embeds_noto_cjk(pdf)

    assert delivery.deliver_due(reg, "w")["delivered"] == 2
    (m,) = [m for m in sink.accepted if m["To"] == "chen@example.test"]
    assert re.fullmatch(r"<notice-[0-9a-f]{32}@socialcredit\.registry>", m["Message-ID"])
    assert "陈静" in sink.text(m)
    mailed = re.search(r"验证码登录：\s*(\d{6})", sink.text(m))
    assert mailed is not None  # minted as the mail went out
    assert Browser(reg).sign_in(CHEN, mailed.group(1)).status_code == 303

    reg.settings = reg.settings.model_copy(update={"letter_locale": "en"})
    from socialcredit.dueprocess.letters import record_letter
    from socialcredit.registry import subject_file

    f = subject_file(reg, WANG)
    en = record_letter(
        reg,
        "王伟",
        f.assessment,
        "CAAC",
        "CAAC-2026-0923",
        "you have been listed",
        subject_id=WANG,
        locale="en",
    )
    with reg.engine.begin() as conn:
        outbox.queue(conn, reg, subject_id=WANG, kind="listed", letter=en, dedupe_key="en-test")
    body = en.text()
    assert body.startswith("王伟") and "Dear 王伟," in body and "2026-10-16" in body
    assert "How to object, and by when" in body and "one-time code" in body


def test_the_portal_serves_my_notice_as_pdf_and_not_another_s(
    reg: Registry, sink: SmtpSink
) -> None:
    outbox.plan(reg)
    (mine,) = outbox.notices_for_subject(reg, WANG)
    (theirs,) = outbox.notices_for_subject(reg, ZHOU)
    b = Browser(reg)
    b.sign_in(WANG, letter_code(reg, WANG))
    r = b.get(f"/me/notices/{mine['id']}.pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert b.get(f"/me/notices/{theirs['id']}.pdf").status_code == 404


def test_the_demo_citizen_has_a_letter_code_that_signs_in(reg: Registry) -> None:
    from socialcredit.dueprocess.demo import demo_citizen

    c = demo_citizen(reg)
    assert c is not None and c.subject_id == WANG and c.name == "王伟"
    assert Browser(reg).sign_in(c.subject_id, c.code).status_code == 303


def test_a_rejected_objection_goes_to_reconsideration_and_the_file_prints_as_pdf(
    reg: Registry, clock: Clock
) -> None:
    api = TestClient(create_app(reg))
    for level in ("first", "higher"):
        rv = {"id": f"rv-{level}", "name": level, "body": "registry", "level": level}
        assert api.post("/v1/reviewers", json=rv, headers=AUTH).status_code == 201
    b = Browser(reg)
    b.sign_in(WANG, letter_code(reg, WANG))
    b.get("/me/object?authority=CAAC&case_number=CAAC-2026-0923")
    r = b.post(
        "/me/object",
        {
            "authority": "CAAC",
            "case_number": "CAAC-2026-0923",
            "grounds": "wrong_data",
            "statement": "日期不对",
        },
    )
    case_url = r.headers["location"].split("?")[0]
    case_id = int(case_url.rsplit("/", 1)[1])
    r = api.post(
        f"/v1/cases/{case_id}/decision",
        headers=AUTH,
        json={"reviewer": "rv-first", "outcome": "rejected", "reasons": "The date is right."},
    )
    assert r.status_code == 200, r.text
    page = b.get(case_url)
    assert 'id="case-state">已驳回' in page.text and "申请复核" in page.text
    r = b.post(f"{case_url}/reconsider", {"statement": "请上级机关复核。"})
    assert r.status_code == 303, r.text
    page = b.get(r.headers["location"])
    assert "复核" in page.text and "2026年" not in page.text  # the page shows ISO dates
    # Only one's own case can be taken further.
    zhou = Browser(reg)
    zhou.sign_in(ZHOU, letter_code(reg, ZHOU))
    zhou.get("/me/file")
    assert zhou.post(f"{case_url}/reconsider", {"statement": "x"}).status_code == 404

    pdf = b.get("/me/export.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert embeds_noto_cjk(pdf.content)
