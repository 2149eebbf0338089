"""The scoring side of a running registry: the programmes in force, their incentives, the
operator's switches, and the scoring-only categories the registry must accept.

* :func:`load_config` reads the scoring document once: the programmes (validated by
  :mod:`socialcredit.rulepacks.scoring_schema`) and each programme's ``incentives`` (validated here
  against the rule pack's sectors).
* :func:`with_switches` applies the operator's per-jurisdiction switches: a switch can turn
  a programme (or ``*``, all of them) off, and back on only what the document enables.
* :func:`with_scoring_categories` adds the scoring-only categories to a rule pack so that
  ingestion accepts them like any other record: each keeps its legal basis and deciding
  authority kinds, applies to persons only, and sits on a list with no memorandum, so it
  can never restrict anything. Only categories an enabled programme scores are added: with
  scoring switched off the registry does not collect them at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from socialcredit.domain.rules import (
    Category,
    ListDef,
    ListKind,
    RulePack,
    Start,
    Term,
    TermKind,
)
from socialcredit.domain.scoring import Programme, ScoringPack
from socialcredit.errors import InvalidRulePack, Problem

ALL = "*"
DEDUCTIONS_LIST = "scoring.deductions"
REWARDS_LIST = "scoring.rewards"
SCORING_LISTS = frozenset({DEDUCTIONS_LIST, REWARDS_LIST})


@dataclass(frozen=True)
class Incentive:
    """A benefit a relying party may grant to a resident holding one of ``grades``."""

    programme_id: str
    grades: frozenset[str]
    measure_id: str
    sector: str
    description: str


@dataclass(frozen=True)
class ScoringConfig:
    pack: ScoringPack
    incentives: tuple[Incentive, ...]

    def programme(self, programme_id: str) -> Programme | None:
        return next((p for p in self.pack.programmes if p.id == programme_id), None)

    @property
    def incentive_sectors(self) -> frozenset[str]:
        return frozenset(i.sector for i in self.incentives)


def _incentives(doc: Any, pack: ScoringPack, rulepack: RulePack, source: str) -> list[Incentive]:
    problems: list[Problem] = []
    out: list[Incentive] = []
    seen: set[str] = set()
    raw_progs = doc.get("programmes", []) if isinstance(doc, Mapping) else []
    for i, raw in enumerate(raw_progs if isinstance(raw_progs, list) else []):
        if not isinstance(raw, Mapping) or "incentives" not in raw:
            continue
        prog = next((p for p in pack.programmes if p.id == raw.get("id")), None)
        grades = {g.name for g in prog.grades} if prog else set()
        items = raw["incentives"]
        path = f"programmes[{i}].incentives"
        if not isinstance(items, list):
            problems.append(Problem(path, "must be a list"))
            continue
        for j, inc in enumerate(items):
            p = f"{path}[{j}]"
            if not isinstance(inc, Mapping):
                problems.append(Problem(p, "must be a mapping"))
                continue
            unknown = sorted(set(inc) - {"grades", "measures"})
            problems += [Problem(f"{p}.{k}", "is not a known field") for k in unknown]
            want = inc.get("grades")
            if not isinstance(want, list) or not want:
                problems.append(Problem(f"{p}.grades", "must be a non-empty list of grades"))
                want = []
            for g in want:
                if g not in grades:
                    problems.append(Problem(f"{p}.grades", "is not a grade of the programme", g))
            measures = inc.get("measures")
            if not isinstance(measures, list) or not measures:
                problems.append(Problem(f"{p}.measures", "must be a non-empty list"))
                continue
            for k, m in enumerate(measures):
                q = f"{p}.measures[{k}]"
                if not isinstance(m, Mapping):
                    problems.append(Problem(q, "must be a mapping"))
                    continue
                mid, sector = m.get("id"), m.get("sector")
                if not isinstance(mid, str) or not mid:
                    problems.append(Problem(f"{q}.id", "is required", repr(mid)))
                    continue
                if mid in seen:
                    problems.append(Problem(f"{q}.id", "is duplicated", mid))
                seen.add(mid)
                if sector not in rulepack.sectors:
                    problems.append(
                        Problem(f"{q}.sector", "names no sector of the rule pack", repr(sector))
                    )
                    continue
                if prog is not None:
                    out.append(
                        Incentive(
                            prog.id,
                            frozenset(str(g) for g in want),
                            mid,
                            str(sector),
                            str(m.get("description") or mid),
                        )
                    )
    if problems:
        lines = "\n".join(f"  - {x}" for x in problems)
        raise InvalidRulePack(f"{source} is invalid:\n{lines}", tuple(problems))
    return out


def load_config(rulepack: RulePack, path: Path | None = None) -> ScoringConfig:
    """The scoring document (``path``, else the packaged ``scoring.yaml``), validated.

    ``rulepack`` is the reference pack *without* scoring categories (the document adds them).
    """
    from socialcredit.rulepacks import SCORING, load_scoring

    pack = load_scoring(path, rulepack)
    if path is None:
        text = resources.files("socialcredit.rulepacks").joinpath(SCORING).read_text("utf-8")
        source = f"packaged {SCORING}"
    else:
        text, source = path.read_text("utf-8"), str(path)
    doc = yaml.safe_load(text)
    return ScoringConfig(pack, tuple(_incentives(doc, pack, rulepack, source)))


def with_switches(config: ScoringConfig, switches: Mapping[str, bool]) -> ScoringConfig:
    """The config with the operator's switches applied (they can only turn things off, or
    back on what the document itself enables)."""
    pack = config.pack
    on_all = pack.enabled and switches.get(ALL, True)
    programmes = tuple(
        replace(p, enabled=p.enabled and on_all and switches.get(p.id, True))
        for p in pack.programmes
    )
    return ScoringConfig(replace(pack, enabled=on_all, programmes=programmes), config.incentives)


def scored_categories(pack: ScoringPack) -> dict[str, bool]:
    """Categories some enabled programme scores -> True when every such rule rewards."""
    out: dict[str, bool] = {}
    for p in pack.programmes:
        if not (pack.enabled and p.enabled):
            continue
        for r in p.rules:
            for c in r.categories:
                out[c] = out.get(c, True) and r.points > 0
    return out


def with_scoring_categories(rulepack: RulePack, pack: ScoringPack) -> RulePack:
    """``rulepack`` plus the scoring-only categories enabled programmes score (see above)."""
    scored = scored_categories(pack)
    extra: dict[str, Category] = {}
    for cid, sc in pack.categories.items():
        if cid not in scored or cid in rulepack.categories:
            continue
        rules = [r for p in pack.programmes if p.enabled for r in p.rules if cid in r.categories]
        longest = max(rules, key=lambda r: (r.counts_for.years, r.counts_for.days))
        term = Term(TermKind.FIXED, longest.counts_for.years, longest.counts_for.days)
        extra[cid] = Category(
            id=cid,
            name=sc.name,
            list_id=REWARDS_LIST if scored[cid] else DEDUCTIONS_LIST,
            authority_kinds=sc.authority_kinds,
            subject_kinds=frozenset({"person"}),  # scoring is of natural persons only
            legal_basis=sc.legal_basis,
            reason_code=f"scoring.{cid}",
            term=term,
            start=Start.ON_DECISION,
            publicity=None,
            ends_on_fulfilment=any(r.ends_on_fulfilment for r in rules),
            repairable=False,
        )
    if not extra:
        return rulepack
    lists = dict(rulepack.lists)
    lists[DEDUCTIONS_LIST] = ListDef(
        DEDUCTIONS_LIST,
        "Records counted only by regional scoring programmes (deductions); no sanctions",
        ListKind.BLACKLIST,
        False,
    )
    lists[REWARDS_LIST] = ListDef(
        REWARDS_LIST,
        "Records counted only by regional scoring programmes (rewards); no benefits",
        ListKind.REDLIST,
        False,
    )
    return replace(rulepack, lists=lists, categories={**rulepack.categories, **extra})


def registry_rulepack(rulepack: RulePack) -> RulePack:
    """The rule pack a registry runs with: ``rulepack`` plus the scoring-only categories of the
    packaged scoring document's enabled programmes (so ingestion accepts them)."""
    return with_scoring_categories(rulepack, load_config(rulepack).pack)


def base_rulepack(pack: RulePack) -> RulePack:
    """``pack`` without the scoring-only categories the registry added to it."""
    cats = {k: c for k, c in pack.categories.items() if c.list_id not in SCORING_LISTS}
    if len(cats) == len(pack.categories):
        return pack
    lists = {k: v for k, v in pack.lists.items() if k not in SCORING_LISTS}
    return replace(pack, categories=cats, lists=lists)


_CONFIGS: dict[int, tuple[RulePack, ScoringConfig]] = {}


def scoring_document(pack: RulePack) -> ScoringConfig:
    """The scoring document as written (switches not applied), loaded once per rule pack
    (the registry's pack, which carries the scoring-only categories, or the base pack)."""
    hit = _CONFIGS.get(id(pack))
    if hit is None or hit[0] is not pack:
        hit = (pack, load_config(base_rulepack(pack)))
        _CONFIGS[id(pack)] = hit
    return hit[1]
