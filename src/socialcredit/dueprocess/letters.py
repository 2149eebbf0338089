"""A notice's content, rendered by the page catalogue's templates (``web/templates/letters/``)
in the letter's language: Simplified Chinese unless asked otherwise.

A :class:`Letter` is titled sections of lines already in its language (the composers mark their
strings with ``_`` from :func:`gettext_for`, so ``make messages`` extracts them) plus what every
letter carries around them: the registry's name for the subject and an address block, the date,
the portal's address and a one-time sign-in code (``outbox.queue`` adds it), and whom to
contact. :func:`record_letter` composes the notice about one record; cases compose theirs with
:func:`dueprocess.cases.case_letter`. :func:`pdf` prints one with WeasyPrint.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from socialcredit.domain.dueprocess import add_months
from socialcredit.domain.restrictions import Assessment, Restriction, Status
from socialcredit.dueprocess.portal_labels import SECTORS, category_name
from socialcredit.runtime.registry import Registry
from socialcredit.web import i18n

DEFAULT_LOCALE = "zh_Hans"
# Where a notice's one-time code goes. The stored body keeps this slot; the code is minted when
# the notice leaves the registry (mail sent, letter printed: ``outbox.issue_copy``), so nobody
# who can read stored notices can sign in as the subject.
CODE_SLOT = "[[sign-in-code]]"
HIDDEN_CODE = "······"  # the slot as the signed-in subject sees it: they need no code


def gettext_for(locale: str) -> Callable[[str], str]:
    """``_`` for strings composed in Python, in ``locale`` (the page catalogues)."""
    return i18n.translations(locale if locale in i18n.LOCALES else DEFAULT_LOCALE).gettext


def day(d: dt.date | None, locale: str = DEFAULT_LOCALE) -> str:
    """A date as a reader of ``locale`` writes it: 2026年10月16日, or 2026-10-16."""
    if d is None:
        return ""
    return f"{d.year}年{d.month}月{d.day}日" if locale == "zh_Hans" else d.isoformat()


def masked(subject_id: str) -> str:
    """An ID as printed on a letter: enough to recognise, not enough to reuse."""
    if len(subject_id) < 10:
        return subject_id
    return subject_id[:6] + "*" * (len(subject_id) - 10) + subject_id[-4:]


@dataclass
class Letter:
    """A notice: titled sections in the letter's language, and the frame every letter has."""

    subject_line: str
    greeting: str = ""  # unused: the template greets by ``name``; kept for old callers
    sections: list[tuple[str, list[str]]] = field(default_factory=list)
    name: str = ""  # the registry's name for the subject, never the record's
    subject_id: str = ""
    locale: str = DEFAULT_LOCALE
    authority: str = ""  # whose decision; it serves paper letters
    contact: str = ""  # the registry's contact (settings.registry_contact)
    dated: dt.date | None = None
    sign_in: tuple[str, str] | None = None  # (portal address, one-time code)

    def add(self, title: str, *lines: str) -> None:
        self.sections.append((title, [x for x in lines if x]))

    def _render(self, template: str) -> str:
        from socialcredit.web.pages import environment

        ctx: dict[str, Any] = {
            "letter": self,
            "lang": i18n.HTML_LANG.get(self.locale, "zh-Hans"),
            "masked_id": masked(self.subject_id),
            "dated": day(self.dated, self.locale),
        }
        return environment(self.locale).get_template(template).render(ctx)

    def text(self) -> str:
        return self._render("letters/notice.txt")

    def html(self) -> str:
        return self._render("letters/notice.html")


def with_code(body: str, code: str) -> str:
    """A stored body with its code slot filled."""
    return body.replace(CODE_SLOT, code)


def pdf(html: str) -> bytes:
    """A letter's HTML printed to PDF (WeasyPrint; CJK from Debian's fonts-noto-cjk)."""
    from weasyprint import HTML

    out: bytes = HTML(string=html).write_pdf()
    return out


def new_letter(
    reg: Registry, *, title: str, name: str, subject_id: str, authority: str, locale: str
) -> Letter:
    """A letter with the frame filled in from the registry (date, contact)."""
    return Letter(
        title,
        name=name,
        subject_id=subject_id,
        locale=locale,
        authority=authority,
        contact=reg.settings.registry_contact,
        dated=reg.today(),
    )


def _sector_name(reg: Registry, code: str, _: Callable[[str], str]) -> str:
    if code in SECTORS:
        return _(SECTORS[code])
    s = reg.pack.sectors.get(code)
    return s.name if s else code


def measure_lines(reg: Registry, rs: list[Restriction], locale: str = DEFAULT_LOCALE) -> list[str]:
    _ = gettext_for(locale)
    out = []
    for r in rs:
        if r.suspended:
            when = _("not in force: held by your objection until it is decided")
        else:
            until = day(r.end, locale) if r.end else (r.until_condition or "")
            state = {
                "active": _("in force"),
                "pending": _("not yet in force"),
            }.get(r.status.value, _("ended"))
            when = _("%(state)s, from %(start)s until %(until)s") % {
                "state": state,
                "start": day(r.start, locale),
                "until": until,
            }
        out.append(f"{_sector_name(reg, r.sector, _)}: {when}")
    return out or [_("No measure follows from this record now.")]


def record_letter(
    reg: Registry,
    name: str,
    assessment: Assessment,
    authority: str,
    case_number: str,
    what: str,
    *,
    subject_id: str = "",
    locale: str = DEFAULT_LOCALE,
) -> Letter:
    """A notice about one record: what, who, basis, measures and dates, objection, repair.
    ``name`` is the registry's name for the subject; ``what`` is already in ``locale``."""
    _ = gettext_for(locale)
    ref = f"{authority}/{case_number}"
    listing = next((x for x in assessment.listings if str(x.ref) == ref), None)
    rs = [r for r in assessment.restrictions if any(str(x) == ref for x in r.records)]
    cat = reg.pack.categories.get(listing.category) if listing else None
    letter = new_letter(
        reg,
        title=_("Notice on record %(ref)s: %(what)s") % {"ref": ref, "what": what},
        name=name,
        subject_id=subject_id or assessment.subject_id,
        authority=authority,
        locale=locale,
    )
    letter.add(
        _("What was recorded, and why"),
        _("Decision %(case)s of %(authority)s") % {"case": case_number, "authority": authority}
        + (f": {category_name(cat.name, cat.id, _)}" if cat else ""),
        _("Decided on %(day)s") % {"day": day(listing.decision_date, locale)} if listing else "",
        _("Legal basis: %(basis)s") % {"basis": listing.legal_basis} if listing else "",
        _("What changed: %(what)s") % {"what": what},
    )
    letter.add(_("Measures that follow, and when they end"), *measure_lines(reg, rs, locale))
    lines = [
        _(
            "You may object at any time: the record should not concern you, its data are wrong, "
            "it should already have been removed, or the rule does not apply to you (for "
            "example you were a minor). Object on the portal (address below) or write to the "
            "registry."
        ),
        _(
            "An objection is decided within %(days)s days; a rejection can be taken to "
            "reconsideration within %(rdays)s days."
        )
        % {"days": reg.pack.objection_days, "rdays": reg.pack.reconsideration_filing_days},
    ]
    if listing and listing.publicity_ends and listing.status is Status.PENDING:
        lines.append(
            _(
                "Object by %(day)s (the end of the publicity period) and the measures will not "
                "start until your objection is decided."
            )
            % {"day": day(listing.publicity_ends, locale)}
        )
    if listing and listing.weekday_only_years:
        lines.append(
            _(
                "Dates in %(years)s count weekdays only: the official calendar for that year has "
                "not been loaded."
            )
            % {"years": ", ".join(str(y) for y in sorted(listing.weekday_only_years))}
        )
    letter.add(_("How to object, and by when"), *lines)
    if cat and cat.repairable and listing:
        earliest = add_months(listing.decision_date, cat.term.min_publication_months)
        letter.add(
            _("Credit repair"),
            _(
                "Once the obligations are met, you may apply for credit repair from %(day)s with "
                "a public credit commitment, on the portal."
            )
            % {"day": day(earliest, locale)},
        )
    elif cat and cat.ends_on_fulfilment:
        letter.add(
            _("How it ends"),
            _("Performing the obligation ends the measures on the day the authority reports it."),
        )
    return letter
