"""The reviewer's pages: the queue, a case, the written decision (service: ``workbench``)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from socialcredit.accounts import Reviewer
from socialcredit.dueprocess import workbench
from socialcredit.errors import Conflict, Forbidden, InvalidInput
from socialcredit.runtime.deps import RegistryDep
from socialcredit.web.pages import page_router, redirect, render

router = page_router()


@router.get("/review")
def queue(request: Request, reg: RegistryDep, user: Reviewer) -> HTMLResponse:
    ctx = {
        "cases": workbench.queue(reg, user),
        "registered": workbench.reviewer_of(reg, user) is not None,
        "decided": request.query_params.get("decided"),
    }
    return render(request, "dueprocess/queue.html", ctx)


@router.get("/review/cases/{case_id}")
def case_page(case_id: int, request: Request, reg: RegistryDep, user: Reviewer) -> HTMLResponse:
    return render(request, "dueprocess/case.html", workbench.case_view(reg, user, case_id))


@router.post("/review/cases/{case_id}/decision")
async def decide(case_id: int, request: Request, reg: RegistryDep, user: Reviewer) -> Response:
    form = await request.form()
    outcome, reasons = form.get("outcome"), form.get("reasons")
    try:
        workbench.decide(
            reg,
            user,
            case_id,
            outcome if isinstance(outcome, str) else "",
            reasons if isinstance(reasons, str) else "",
        )
    except (InvalidInput, Forbidden, Conflict) as e:
        ctx = {**workbench.case_view(reg, user, case_id), "error": e}
        return render(request, "dueprocess/case.html", ctx, e.status)
    return redirect(f"/review?decided={case_id}")
