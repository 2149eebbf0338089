"""A rule pack as plain data for `rules show --json` and the API: what the rules say, in words."""

from __future__ import annotations

from typing import Any

from socialcredit.domain.rules import Category, RulePack, TermKind


def term_text(c: Category) -> str:
    t = c.term
    if t.kind is TermKind.UNTIL_REMOVED:
        text = "no fixed term: until a removal condition is met"
    elif t.kind is TermKind.UNTIL_PAID:
        text = "until paid"
        if t.repeat:
            text += (
                f"; the {t.repeat.count}rd record within {t.repeat.window_days} days of the "
                f"first payment: {t.repeat.after_payment_days} days after paying"
            )
    elif t.kind is TermKind.PUBLICATION:
        text = (
            f"published {t.min_publication_months}-{t.max_publication_months} months; "
            "repairable after the minimum"
        )
    else:
        span = f"{t.years} years" if t.years else f"{t.days} days"
        text = span + (
            f" (+ up to {t.extension_max_years}, {t.max_total_years} at most)"
            if t.extension_max_years
            else ""
        )
    if c.ends_on_fulfilment and t.kind is not TermKind.UNTIL_PAID:
        text += "; ends on fulfilment"
    return text


def rulepack_dict(pack: RulePack) -> dict[str, Any]:
    return {
        "version": pack.version,
        "name": pack.name,
        "published": pack.published.isoformat(),
        "deadlines": {
            "objection_days": pack.objection_days,
            "correction_review_days": pack.correction_review_days,
            "reconsideration_filing_days": pack.reconsideration_filing_days,
            "reconsideration_decision_days": pack.reconsideration_decision_days,
        },
        "sectors": [{"code": s.code, "name": s.name} for s in pack.sectors.values()],
        "lists": [
            {"id": x.id, "name": x.name, "kind": x.kind.value, "public": x.public}
            for x in pack.lists.values()
        ],
        "categories": [
            {
                "id": c.id,
                "name": c.name,
                "list": c.list_id,
                "authority_kinds": sorted(c.authority_kinds),
                "subject_kinds": sorted(c.subject_kinds),
                "legal_basis": c.legal_basis,
                "reason_code": c.reason_code,
                "start": c.start.value
                + (
                    f" ({c.publicity.working_days} working days"
                    + (", monthly publication" if c.publicity.monthly_publication else "")
                    + ")"
                    if c.publicity
                    else ""
                ),
                "term": {
                    "kind": c.term.kind.value,
                    "years": c.term.years,
                    "days": c.term.days,
                    "extension_max_years": c.term.extension_max_years,
                    "max_total_years": c.term.max_total_years,
                    "min_publication_months": c.term.min_publication_months,
                    "max_publication_months": c.term.max_publication_months,
                },
                "term_text": term_text(c),
                "ends_on_fulfilment": c.ends_on_fulfilment,
                "repairable": c.repairable,
                "tier": c.tier,
            }
            for c in pack.categories.values()
        ],
        "memoranda": [
            {
                "id": m.id,
                "title": m.title,
                "reference": m.reference,
                "signatories": list(m.signatories),
                "lists": sorted(m.lists),
                "measures": [
                    {
                        "id": x.id,
                        "sector": x.sector,
                        "effect": x.effect.value,
                        "description": x.description,
                        "binds_legal_representative": x.binds_legal_representative,
                    }
                    for x in m.measures
                ],
            }
            for m in pack.memoranda
        ],
    }
