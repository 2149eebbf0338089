"""Rule packs: categories of record, the lists they put a subject on, and the memoranda
whose measures turn a list membership into restrictions (or incentives) per sector.

Pure data plus validation. :func:`rulepack_from_dict` checks a parsed document and raises
:class:`InvalidRulePack` naming the path of each bad field (``categories[3].term.years``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from socialcredit.errors import InvalidRulePack, Problem


class TermKind(StrEnum):
    UNTIL_REMOVED = "until_removed"  # no fixed term: until a removal condition is met
    FIXED = "fixed"  # a fixed number of years or days
    UNTIL_PAID = "until_paid"  # until the obligation is fulfilled (fare, fine, tax)
    PUBLICATION = "publication"  # as long as the record may be published (repair tiers)


class Start(StrEnum):
    ON_DECISION = "on_decision"  # effective on issue (court listings)
    AFTER_PUBLICITY = "after_publicity"  # after publication and the publicity period


class Effect(StrEnum):
    DENY = "deny"
    BENEFIT = "benefit"


class ListKind(StrEnum):
    BLACKLIST = "blacklist"
    REDLIST = "redlist"


@dataclass(frozen=True)
class Sector:
    code: str
    name: str


@dataclass(frozen=True)
class Repeat:
    """Rail types 4-6: the n-th record within ``window_days`` of the first one's payment
    means sales resume only ``after_payment_days`` after paying."""

    count: int
    window_days: int
    after_payment_days: int


@dataclass(frozen=True)
class Term:
    kind: TermKind
    years: int = 0
    days: int = 0
    extension_max_years: int = 0
    max_total_years: int = 0
    repeat: Repeat | None = None
    min_publication_months: int = 0  # credit repair: earliest repair
    max_publication_months: int = 0  # credit repair: publication ends


@dataclass(frozen=True)
class Publicity:
    working_days: int
    monthly_publication: bool  # published on the first working day of each month


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    list_id: str
    authority_kinds: frozenset[str]
    subject_kinds: frozenset[str]
    legal_basis: str
    reason_code: str
    term: Term
    start: Start
    publicity: Publicity | None
    ends_on_fulfilment: bool
    repairable: bool
    tier: str | None = None


@dataclass(frozen=True)
class ListDef:
    id: str
    name: str
    kind: ListKind
    public: bool


@dataclass(frozen=True)
class Measure:
    id: str
    sector: str
    effect: Effect
    description: str
    binds_legal_representative: bool = False


@dataclass(frozen=True)
class Memorandum:
    id: str
    title: str
    reference: str
    signatories: tuple[str, ...]
    lists: frozenset[str]
    measures: tuple[Measure, ...]


@dataclass(frozen=True)
class RulePack:
    version: str
    name: str
    published: dt.date
    sectors: Mapping[str, Sector]
    lists: Mapping[str, ListDef]
    categories: Mapping[str, Category]
    memoranda: tuple[Memorandum, ...]
    objection_days: int
    reconsideration_filing_days: int
    reconsideration_decision_days: int
    correction_review_days: int

    def category(self, cid: str) -> Category:
        return self.categories[cid]

    def measures_for_list(self, list_id: str) -> list[tuple[Memorandum, Measure]]:
        return [(m, x) for m in self.memoranda if list_id in m.lists for x in m.measures]


class _Reader:
    """Walks a parsed document, collecting every problem with its path."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def bad(self, path: str, reason: str, value: object = None) -> None:
        self.problems.append(Problem(path, reason, None if value is None else repr(value)))

    def get(self, d: Mapping[str, Any], path: str, key: str, typ: type, default: Any = ...) -> Any:
        if key not in d:
            if default is ...:
                self.bad(f"{path}.{key}" if path else key, "is required")
                return None
            return default
        v = d[key]
        if typ is int and isinstance(v, bool):
            self.bad(f"{path}.{key}", "must be an integer", v)
            return None
        if not isinstance(v, typ):
            self.bad(f"{path}.{key}" if path else key, f"must be {typ.__name__}", v)
            return None
        return v


def _term(r: _Reader, d: Any, path: str) -> Term:
    if not isinstance(d, Mapping):
        r.bad(path, "must be a mapping")
        return Term(TermKind.UNTIL_REMOVED)
    raw_kind = r.get(d, path, "kind", str)
    try:
        kind = TermKind(raw_kind)
    except ValueError:
        r.bad(f"{path}.kind", f"must be one of {[k.value for k in TermKind]}", raw_kind)
        kind = TermKind.UNTIL_REMOVED
    years = r.get(d, path, "years", int, 0) or 0
    days = r.get(d, path, "days", int, 0) or 0
    ext = r.get(d, path, "extension_max_years", int, 0) or 0
    max_total = r.get(d, path, "max_total_years", int, 0) or 0
    min_pub = r.get(d, path, "min_publication_months", int, 0) or 0
    max_pub = r.get(d, path, "max_publication_months", int, 0) or 0
    repeat = None
    if "repeat" in d:
        rd = d["repeat"]
        if isinstance(rd, Mapping):
            repeat = Repeat(
                r.get(rd, f"{path}.repeat", "count", int) or 0,
                r.get(rd, f"{path}.repeat", "window_days", int) or 0,
                r.get(rd, f"{path}.repeat", "after_payment_days", int) or 0,
            )
            if repeat.count < 2:
                r.bad(f"{path}.repeat.count", "must be at least 2", repeat.count)
        else:
            r.bad(f"{path}.repeat", "must be a mapping")
    if kind is TermKind.FIXED and years <= 0 and days <= 0:
        r.bad(path, "a fixed term needs years or days > 0")
    if kind is not TermKind.FIXED and (years or days):
        r.bad(path, f"a {kind.value} term takes no years or days")
    if ext and max_total and years + ext > max_total:
        r.bad(
            f"{path}.extension_max_years", f"years + extension exceeds max_total_years {max_total}"
        )
    if kind is TermKind.PUBLICATION and max_pub <= 0:
        r.bad(f"{path}.max_publication_months", "a publication term needs it > 0")
    if min_pub > max_pub and max_pub:
        r.bad(f"{path}.min_publication_months", "exceeds max_publication_months", min_pub)
    return Term(kind, years, days, ext, max_total, repeat, min_pub, max_pub)


def rulepack_from_dict(doc: Any, source: str = "rule pack") -> RulePack:
    """Validate a parsed rule pack document; raise InvalidRulePack listing every problem."""
    r = _Reader()
    if not isinstance(doc, Mapping):
        raise InvalidRulePack(f"{source}: the document must be a mapping")
    version = r.get(doc, "", "version", str)
    name = r.get(doc, "", "name", str)
    published_raw = r.get(doc, "", "published", dt.date)
    deadlines = r.get(doc, "", "deadlines", Mapping, {}) or {}

    sectors: dict[str, Sector] = {}
    for i, s in enumerate(r.get(doc, "", "sectors", list) or []):
        p = f"sectors[{i}]"
        if not isinstance(s, Mapping):
            r.bad(p, "must be a mapping")
            continue
        code = r.get(s, p, "code", str)
        if code in sectors:
            r.bad(f"{p}.code", "is duplicated", code)
        if code:
            sectors[code] = Sector(code, r.get(s, p, "name", str) or "")

    lists: dict[str, ListDef] = {}
    for i, ld in enumerate(r.get(doc, "", "lists", list) or []):
        p = f"lists[{i}]"
        if not isinstance(ld, Mapping):
            r.bad(p, "must be a mapping")
            continue
        lid = r.get(ld, p, "id", str)
        raw_kind = r.get(ld, p, "kind", str)
        try:
            kind = ListKind(raw_kind)
        except ValueError:
            r.bad(f"{p}.kind", "must be blacklist or redlist", raw_kind)
            kind = ListKind.BLACKLIST
        if lid in lists:
            r.bad(f"{p}.id", "is duplicated", lid)
        if lid:
            lists[lid] = ListDef(
                lid, r.get(ld, p, "name", str) or "", kind, bool(r.get(ld, p, "public", bool, True))
            )

    categories: dict[str, Category] = {}
    for i, c in enumerate(r.get(doc, "", "categories", list) or []):
        p = f"categories[{i}]"
        if not isinstance(c, Mapping):
            r.bad(p, "must be a mapping")
            continue
        cid = r.get(c, p, "id", str)
        list_id = r.get(c, p, "list", str)
        if list_id and list_id not in lists:
            r.bad(f"{p}.list", "names no list in `lists`", list_id)
        raw_start = r.get(c, p, "start", str, "on_decision")
        try:
            start = Start(raw_start)
        except ValueError:
            r.bad(f"{p}.start", f"must be one of {[s.value for s in Start]}", raw_start)
            start = Start.ON_DECISION
        publicity = None
        if "publicity" in c:
            pd = c["publicity"]
            if isinstance(pd, Mapping):
                wd = r.get(pd, f"{p}.publicity", "working_days", int) or 0
                if wd <= 0:
                    r.bad(f"{p}.publicity.working_days", "must be > 0", wd)
                publicity = Publicity(wd, bool(r.get(pd, f"{p}.publicity", "monthly", bool, False)))
            else:
                r.bad(f"{p}.publicity", "must be a mapping")
        if start is Start.AFTER_PUBLICITY and publicity is None:
            r.bad(f"{p}.publicity", "is required when start is after_publicity")
        subject_kinds = frozenset(
            r.get(c, p, "subject_kinds", list, ["person", "enterprise"]) or []
        )
        if not subject_kinds <= {"person", "enterprise"} or not subject_kinds:
            r.bad(f"{p}.subject_kinds", "must be a non-empty subset of [person, enterprise]")
        term = _term(r, c.get("term"), f"{p}.term")
        if cid in categories:
            r.bad(f"{p}.id", "is duplicated", cid)
        if cid:
            categories[cid] = Category(
                id=cid,
                name=r.get(c, p, "name", str) or "",
                list_id=list_id or "",
                authority_kinds=frozenset(r.get(c, p, "authority_kinds", list) or []),
                subject_kinds=subject_kinds,
                legal_basis=r.get(c, p, "legal_basis", str) or "",
                reason_code=r.get(c, p, "reason_code", str) or "",
                term=term,
                start=start,
                publicity=publicity,
                ends_on_fulfilment=bool(r.get(c, p, "ends_on_fulfilment", bool, True)),
                repairable=bool(r.get(c, p, "repairable", bool, False)),
                tier=r.get(c, p, "tier", str, None),
            )

    memoranda: list[Memorandum] = []
    seen_measures: set[str] = set()
    for i, m in enumerate(r.get(doc, "", "memoranda", list) or []):
        p = f"memoranda[{i}]"
        if not isinstance(m, Mapping):
            r.bad(p, "must be a mapping")
            continue
        m_lists = frozenset(r.get(m, p, "lists", list) or [])
        for lid in sorted(m_lists - set(lists)):
            r.bad(f"{p}.lists", "names no list in `lists`", lid)
        measures = []
        for j, x in enumerate(r.get(m, p, "measures", list) or []):
            q = f"{p}.measures[{j}]"
            if not isinstance(x, Mapping):
                r.bad(q, "must be a mapping")
                continue
            sector = r.get(x, q, "sector", str)
            if sector and sector not in sectors:
                r.bad(f"{q}.sector", "names no sector in `sectors`", sector)
            raw_eff = r.get(x, q, "effect", str, "deny")
            try:
                eff = Effect(raw_eff)
            except ValueError:
                r.bad(f"{q}.effect", "must be deny or benefit", raw_eff)
                eff = Effect.DENY
            mid = r.get(x, q, "id", str) or ""
            if mid in seen_measures:
                r.bad(f"{q}.id", "is duplicated", mid)
            seen_measures.add(mid)
            measures.append(
                Measure(
                    mid,
                    sector or "",
                    eff,
                    r.get(x, q, "description", str) or "",
                    bool(r.get(x, q, "binds_legal_representative", bool, False)),
                )
            )
        for lid in m_lists & set(lists):
            want = Effect.BENEFIT if lists[lid].kind is ListKind.REDLIST else Effect.DENY
            for x in measures:
                if x.effect is not want:
                    r.bad(
                        f"{p}.measures",
                        f"a {lists[lid].kind.value} triggers only {want.value} measures",
                        x.id,
                    )
        memoranda.append(
            Memorandum(
                id=r.get(m, p, "id", str) or "",
                title=r.get(m, p, "title", str) or "",
                reference=r.get(m, p, "reference", str) or "",
                signatories=tuple(r.get(m, p, "signatories", list) or []),
                lists=m_lists,
                measures=tuple(measures),
            )
        )

    def deadline(key: str, default: int) -> int:
        v = deadlines.get(key, default)
        if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
            r.bad(f"deadlines.{key}", "must be a positive integer", v)
            return default
        return int(v)

    pack = RulePack(
        version=version or "",
        name=name or "",
        published=published_raw or dt.date(1970, 1, 1),
        sectors=sectors,
        lists=lists,
        categories=categories,
        memoranda=tuple(memoranda),
        objection_days=deadline("objection_days", 15),
        reconsideration_filing_days=deadline("reconsideration_filing_days", 10),
        reconsideration_decision_days=deadline("reconsideration_decision_days", 15),
        correction_review_days=deadline("correction_review_days", 15),
    )
    if r.problems:
        lines = "\n".join(f"  - {p}" for p in r.problems)
        raise InvalidRulePack(f"{source} is invalid:\n{lines}", tuple(r.problems))
    return pack
