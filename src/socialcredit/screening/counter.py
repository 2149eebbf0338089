"""The counter page: a relying party's clerk screens one ID and name, in one of their party's
sectors, and reads the answer in plain words.

It is the screening API by another door: the same :meth:`ScreeningRuntime.screen` (the name
confirmed, the index probed, the screening logged for the subject to see, a sector the party
does not serve refused and logged), the same per-key rate limit — the clerk's account stands in
for the key (``user:<id>``). The page shows the decision, what ends a deny and the screening
id to hand the traveller for an objection; nothing else about the subject.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from socialcredit.accounts import PartyClerk, RoleRefused, User
from socialcredit.errors import InvalidInput, NotFound
from socialcredit.runtime.deps import RegistryDep
from socialcredit.runtime.registry import Registry
from socialcredit.screening import api
from socialcredit.screening.parties import KeyInfo, RelyingParty, _party
from socialcredit.screening.routes import get_runtime_now
from socialcredit.store.tables_screening import relying_parties
from socialcredit.web.pages import page_router, render

router = page_router()
PURPOSE = "counter sale"


def clerk_key(reg: Registry, user: User) -> KeyInfo:
    """The clerk's party as a key would name it; 403 unless the party exists and is active."""
    code = user.scope.party
    if not code or not user.may_screen_for(code):
        raise RoleRefused("this account screens for no relying party")
    with reg.engine.connect() as conn:
        row = conn.execute(select(relying_parties).where(relying_parties.c.code == code)).first()
    if row is None:
        raise NotFound(f"relying party {code} does not exist")
    party: RelyingParty = _party(row)
    if not party.active:
        raise RoleRefused(f"relying party {code} is not active")
    return KeyInfo(f"user:{user.id}"[:16], party)


def _page(request: Request, who: KeyInfo, **extra: Any) -> HTMLResponse:
    ctx = {"party": who.party, "sectors": sorted(who.party.sectors), **extra}
    return render(request, "screening/counter.html", ctx, extra.pop("status_code", 200))


@router.get("/counter")
def counter(request: Request, reg: RegistryDep, user: PartyClerk) -> HTMLResponse:
    return _page(request, clerk_key(reg, user))


@router.post("/counter")
async def counter_screen(request: Request, reg: RegistryDep, user: PartyClerk) -> HTMLResponse:
    who = clerk_key(reg, user)
    rt = get_runtime_now(request)
    form = await request.form()

    def field(name: str) -> str:
        v = form.get(name)
        return v.strip() if isinstance(v, str) else ""

    sid, name, sector = field("subject_id"), field("name"), field("sector")
    if not rt.limiter.allow(who.prefix, who.rate_per_minute):
        raise api.RateLimited("too many screenings a minute from this counter; retry shortly")
    try:
        if not sid or not name:
            raise InvalidInput.one("subject_id" if not sid else "name", "is required")
        req = api.Request(sid, name, sector, PURPOSE)
        answer = await run_in_threadpool(rt.screen, who, req)
    except InvalidInput as e:
        field_name = e.problems[0].field if e.problems else "subject_id"
        return _page(
            request,
            who,
            problem=field_name,
            sector=sector,
            subject_id=sid,
            name=name,
            status_code=422,
        )
    return _page(request, who, answer=answer, sector=sector)
