"""Validate a parsed scoring document into a :class:`ScoringPack`.

Every problem is collected with its path (``programmes[0].rules[2].cap``) and raised together
as one :class:`InvalidRulePack`, as the rule pack loader does. Pure: standard library only.

Category references in a rule may be exact ids or a prefix pattern ending in ``.*``
(``court.defaulter.*``); both must name categories that exist, in the reference rule pack or in
the document's own ``categories`` (scoring-only categories, each with the legal basis and the
authority kinds that decide such records, so nothing without a legal decision can count).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from socialcredit.domain.scoring import (
    Eligibility,
    Grade,
    Programme,
    ScoreRule,
    ScoringCategory,
    ScoringPack,
    Window,
)
from socialcredit.errors import InvalidRulePack, Problem

_TOP = {"version", "enabled", "categories", "programmes"}
_CATEGORY = {"id", "name", "authority_kinds", "legal_basis"}
_PROGRAMME = {
    "id",
    "name",
    "region_prefix",
    "region_name",
    "enabled",
    "illustrative",
    "note",
    "base",
    "eligibility",
    "grades",
    "rules",
    "incentives",  # validated by rulepacks.scoring_config (sectors live in the rule pack)
}
_RULE = {
    "id",
    "name",
    "points",
    "categories",
    "counts_for",
    "cap",
    "ends_on_fulfilment",
    "every_days",
    "illustrative",
}


class _Reader:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def bad(self, path: str, reason: str, value: object = None) -> None:
        self.problems.append(Problem(path, reason, None if value is None else repr(value)))

    def mapping(self, v: Any, path: str, allowed: set[str]) -> Mapping[str, Any]:
        if not isinstance(v, Mapping):
            self.bad(path, "must be a mapping", v)
            return {}
        for k in sorted(set(v) - allowed, key=str):
            self.bad(f"{path}.{k}" if path else str(k), "is not a known field")
        return v

    def get(self, d: Mapping[str, Any], path: str, key: str, typ: type, default: Any = ...) -> Any:
        where = f"{path}.{key}" if path else key
        if key not in d:
            if default is ...:
                self.bad(where, "is required")
                return None
            return default
        v = d[key]
        if (typ is int and isinstance(v, bool)) or not isinstance(v, typ):
            self.bad(where, f"must be {'an integer' if typ is int else typ.__name__}", v)
            return None if default is ... else default
        return v

    def strings(self, d: Mapping[str, Any], path: str, key: str) -> list[str]:
        v = self.get(d, path, key, list) or []
        if not v:
            if key in d:
                self.bad(f"{path}.{key}", "must not be empty")
            return []
        bad = [x for x in v if not isinstance(x, str) or not x]
        if bad:
            self.bad(f"{path}.{key}", "must be a list of non-empty strings", bad[0])
        return [x for x in v if isinstance(x, str) and x]


def _expand(r: _Reader, refs: list[str], known: Collection[str], path: str) -> set[str]:
    out: set[str] = set()
    for i, ref in enumerate(refs):
        if ref.endswith(".*"):
            hits = {c for c in known if c.startswith(ref[:-1])}
        else:
            hits = {ref} if ref in known else set()
        if not hits:
            r.bad(f"{path}[{i}]", "names no category of the rule pack or of `categories`", ref)
        out |= hits
    return out


def _rule(r: _Reader, d: Any, path: str, known: Collection[str]) -> ScoreRule | None:
    d = r.mapping(d, path, _RULE)
    rid = r.get(d, path, "id", str)
    points = r.get(d, path, "points", int)
    if points == 0:
        r.bad(f"{path}.points", "must not be 0", points)
    cats = _expand(r, r.strings(d, path, "categories"), known, f"{path}.categories")
    win = r.mapping(d.get("counts_for"), f"{path}.counts_for", {"years", "days"})
    years = r.get(win, f"{path}.counts_for", "years", int, 0)
    days = r.get(win, f"{path}.counts_for", "days", int, 0)
    if years < 0 or days < 0 or years + days <= 0:
        r.bad(f"{path}.counts_for", "needs years or days > 0 (none negative)", dict(win))
    cap = r.get(d, path, "cap", int, None)
    if cap is not None and points and (cap * points <= 0 or abs(cap) < abs(points)):
        r.bad(f"{path}.cap", "must have the sign of points and be at least as large", cap)
    ends = r.get(d, path, "ends_on_fulfilment", bool, False)
    every = r.get(d, path, "every_days", int, 0)
    if every < 0:
        r.bad(f"{path}.every_days", "must not be negative", every)
    if every > 0 and not ends:
        r.bad(f"{path}.ends_on_fulfilment", "must be true when points accrue (every_days)")
    if rid is None or points is None:
        return None
    return ScoreRule(
        id=rid,
        name=r.get(d, path, "name", str) or rid,
        points=points,
        categories=frozenset(cats),
        counts_for=Window(max(years, 0), max(days, 0)),
        cap=cap,
        ends_on_fulfilment=ends,
        every_days=max(every, 0),
        illustrative=r.get(d, path, "illustrative", bool, False),
    )


def _grades(r: _Reader, v: Any, path: str) -> tuple[Grade, ...]:
    if not isinstance(v, list) or len(v) < 2:
        r.bad(path, "must be a list of at least two grades, best first")
        return ()
    out: list[Grade] = []
    for i, g in enumerate(v):
        p = f"{path}[{i}]"
        g = r.mapping(g, p, {"name", "min"})
        name = r.get(g, p, "name", str)
        last = i == len(v) - 1
        low = r.get(g, p, "min", int, None)
        if last and low is not None:
            r.bad(f"{p}.min", "the lowest grade takes every score below the others: no min", low)
        if not last and low is None:
            r.bad(f"{p}.min", "is required for every grade but the lowest")
        if out and low is not None and out[-1].min_score is not None and low >= out[-1].min_score:
            r.bad(f"{p}.min", f"must be below the grade above ({out[-1].min_score})", low)
        if name in {x.name for x in out}:
            r.bad(f"{p}.name", "is duplicated", name)
        out.append(Grade(name or "", low))
    return tuple(out)


def _programme(
    r: _Reader, d: Any, path: str, known: Collection[str], version: str, on: bool
) -> Programme | None:
    d = r.mapping(d, path, _PROGRAMME)
    pid = r.get(d, path, "id", str)
    prefix = r.get(d, path, "region_prefix", str)
    if prefix is not None and not (prefix.isdigit() and 2 <= len(prefix) <= 6):
        r.bad(f"{path}.region_prefix", "must be 2 to 6 digits of a GB/T 2260 code", prefix)
    base = r.get(d, path, "base", int)
    el = r.mapping(
        d.get("eligibility", {}), f"{path}.eligibility", {"min_age", "min_residence_years"}
    )
    min_age = r.get(el, f"{path}.eligibility", "min_age", int, 18)
    if min_age < 18:
        r.bad(
            f"{path}.eligibility.min_age", "must be at least 18: minors are never scored", min_age
        )
    min_res = r.get(el, f"{path}.eligibility", "min_residence_years", int, 1)
    if min_res < 0:
        r.bad(f"{path}.eligibility.min_residence_years", "must not be negative", min_res)
    grades = _grades(r, d.get("grades"), f"{path}.grades")
    rules: list[ScoreRule] = []
    owner: dict[str, str] = {}
    raw_rules = r.get(d, path, "rules", list) or []
    for i, x in enumerate(raw_rules):
        p = f"{path}.rules[{i}]"
        rule = _rule(r, x, p, known)
        if rule is None:
            continue
        if rule.id in {y.id for y in rules}:
            r.bad(f"{p}.id", "is duplicated", rule.id)
        for c in sorted(rule.categories):
            if c in owner:
                r.bad(f"{p}.categories", f"category already scored by rule {owner[c]}", c)
            owner.setdefault(c, rule.id)
        rules.append(rule)
    if pid is None or prefix is None or base is None:
        return None
    return Programme(
        id=pid,
        name=r.get(d, path, "name", str) or pid,
        region_prefix=prefix,
        region_name=r.get(d, path, "region_name", str, "") or "",
        version=version,
        enabled=on and bool(r.get(d, path, "enabled", bool, False)),
        base=base,
        grades=grades,
        rules=tuple(rules),
        eligibility=Eligibility(max(min_age, 18), max(min_res, 0)),
        illustrative=r.get(d, path, "illustrative", bool, False),
        note=r.get(d, path, "note", str, "") or "",
    )


def scoring_from_dict(
    doc: Any, rulepack_categories: Collection[str], source: str = "scoring pack"
) -> ScoringPack:
    """Validate a parsed scoring document; raise InvalidRulePack listing every problem.

    ``rulepack_categories`` are the category ids of the rule pack in force, so a programme can
    score its records and a scoring-only category cannot shadow one of them.
    """
    r = _Reader()
    if not isinstance(doc, Mapping):
        raise InvalidRulePack(f"{source}: the document must be a mapping")
    r.mapping(doc, "", _TOP)
    version = r.get(doc, "", "version", str) or ""
    # Off unless switched on: a missing switch must never start scoring people.
    on = bool(r.get(doc, "", "enabled", bool, False))
    cats: dict[str, ScoringCategory] = {}
    for i, c in enumerate(r.get(doc, "", "categories", list, []) or []):
        p = f"categories[{i}]"
        c = r.mapping(c, p, _CATEGORY)
        cid = r.get(c, p, "id", str)
        if cid in rulepack_categories:
            r.bad(f"{p}.id", "is already a category of the rule pack", cid)
        elif cid in cats:
            r.bad(f"{p}.id", "is duplicated", cid)
        basis = r.get(c, p, "legal_basis", str)
        if basis is not None and not basis.strip():
            r.bad(f"{p}.legal_basis", "must name the law or decision behind such records")
        kinds = r.strings(c, p, "authority_kinds")
        if cid and basis and kinds:
            cats[cid] = ScoringCategory(
                cid, r.get(c, p, "name", str) or cid, frozenset(kinds), basis
            )
    known = set(rulepack_categories) | set(cats)
    programmes: list[Programme] = []
    for i, x in enumerate(r.get(doc, "", "programmes", list, []) or []):
        p = f"programmes[{i}]"
        prog = _programme(r, x, p, known, version, on)
        if prog is None:
            continue
        if prog.id in {y.id for y in programmes}:
            r.bad(f"{p}.id", "is duplicated", prog.id)
        if prog.region_prefix in {y.region_prefix for y in programmes}:
            r.bad(f"{p}.region_prefix", "already has a programme", prog.region_prefix)
        programmes.append(prog)
    if r.problems:
        lines = "\n".join(f"  - {p}" for p in r.problems)
        raise InvalidRulePack(f"{source} is invalid:\n{lines}", tuple(r.problems))
    return ScoringPack(version, on, cats, tuple(programmes))
