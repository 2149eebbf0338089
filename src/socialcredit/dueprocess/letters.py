"""A notice's content: titled sections rendered to plain text and to printable HTML.

:func:`record_letter` composes the notice about one record (what was recorded, the measures
that follow and their dates, how to object and by when, credit repair); cases compose theirs
with :func:`dueprocess.cases.case_letter`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from socialcredit.domain.dueprocess import add_months
from socialcredit.domain.restrictions import Assessment, Restriction, Status
from socialcredit.runtime.registry import Registry


@dataclass
class Letter:
    """A notice's content as titled sections, rendered to plain text and to printable HTML."""

    subject_line: str
    greeting: str
    sections: list[tuple[str, list[str]]] = field(default_factory=list)

    def add(self, title: str, *lines: str) -> None:
        self.sections.append((title, [x for x in lines if x]))

    def text(self) -> str:
        out = [self.greeting, ""]
        for title, lines in self.sections:
            out.append(title)
            out.extend(f"  {x}" for x in lines)
            out.append("")
        out.append("National public credit information registry")
        return "\n".join(out)

    def html(self) -> str:
        e = html.escape
        parts = [
            "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>",
            f"<title>{e(self.subject_line)}</title>",
            "<style>body{font-family:serif;max-width:42em;margin:2em auto;line-height:1.5}"
            "h1{font-size:1.3em}h2{font-size:1.05em;margin-top:1.4em}"
            "@media print{body{margin:1cm}}</style></head><body>",
            f"<h1>{e(self.subject_line)}</h1><p>{e(self.greeting)}</p>",
        ]
        for title, lines in self.sections:
            parts.append(f"<h2>{e(title)}</h2><ul>")
            parts.extend(f"<li>{e(x)}</li>" for x in lines)
            parts.append("</ul>")
        parts.append("<p>National public credit information registry</p></body></html>")
        return "".join(parts)


def _sector_name(reg: Registry, code: str) -> str:
    s = reg.pack.sectors.get(code)
    return f"{s.name} ({code})" if s else code


def measure_lines(reg: Registry, rs: list[Restriction]) -> list[str]:
    out = []
    for r in rs:
        if r.suspended:
            when = "not in force: held by your objection until it is decided"
        else:
            until = r.end.isoformat() if r.end else (r.until_condition or "")
            when = f"{r.status.value}, from {r.start.isoformat()} until {until}"
        out.append(f"{_sector_name(reg, r.sector)}: {r.description} - {when}")
    return out or ["No measure follows from this record now."]


def record_letter(
    reg: Registry, name: str, assessment: Assessment, authority: str, case_number: str, what: str
) -> Letter:
    """A notice about one record: what, who, basis, measures and dates, objection, repair."""
    ref = f"{authority}/{case_number}"
    listing = next((x for x in assessment.listings if str(x.ref) == ref), None)
    rs = [r for r in assessment.restrictions if any(str(x) == ref for x in r.records)]
    cat = reg.pack.categories.get(listing.category) if listing else None
    letter = Letter(f"Notice on record {ref}: {what}", f"Dear {name or 'subject'},", [])
    letter.add(
        "What was recorded",
        f"Record {case_number} of authority {authority}"
        + (f": {cat.name}" if cat else "")
        + (f", decided on {listing.decision_date.isoformat()}" if listing else ""),
        f"Legal basis: {listing.legal_basis}" if listing else "",
        f"What changed: {what}",
    )
    letter.add("Measures that follow", *measure_lines(reg, rs))
    lines = [
        "You may object at any time: the record should not concern you, its data are wrong, it "
        "should already have been removed, or the rule does not apply to you (for example you "
        "were a minor). Sign in to your file (POST /v1/me/code, then POST /v1/me/objections) or "
        "write to the registry.",
        f"An objection is decided within {reg.pack.objection_days} days; a rejection can be "
        f"taken to reconsideration within {reg.pack.reconsideration_filing_days} days.",
    ]
    if listing and listing.publicity_ends and listing.status is Status.PENDING:
        lines.append(
            f"Objections filed by {listing.publicity_ends.isoformat()} (the end of the publicity "
            "period) hold the start of the restriction until they are decided."
        )
    if listing and listing.weekday_only_years:
        lines.append(
            f"Dates in {sorted(listing.weekday_only_years)} count weekdays only: the official "
            "calendar for that year has not been loaded."
        )
    letter.add("How to object, and by when", *lines)
    if cat and cat.repairable and listing:
        earliest = add_months(listing.decision_date, cat.term.min_publication_months)
        letter.add(
            "Credit repair",
            f"Once the obligations are met, you may apply for credit repair from "
            f"{earliest.isoformat()} with a public credit commitment (POST /v1/me/repairs).",
        )
    elif cat and cat.ends_on_fulfilment:
        letter.add(
            "How it ends",
            "Performing the obligation ends the measures on the day the authority reports it.",
        )
    return letter
