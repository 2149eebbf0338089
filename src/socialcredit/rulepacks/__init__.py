"""Rule packs as YAML: the packaged reference pack and operator-supplied ones."""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from socialcredit.domain.rules import RulePack, rulepack_from_dict
from socialcredit.errors import InvalidRulePack

REFERENCE = "reference.yaml"


def _parse(text: str, source: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InvalidRulePack(f"{source}: not valid YAML{where}: {e}") from None


def load_rulepack(path: Path | None = None) -> RulePack:
    """Load and validate a rule pack: ``path`` if given, else the packaged reference pack."""
    if path is None:
        text = resources.files(__package__).joinpath(REFERENCE).read_text("utf-8")
        source = f"packaged {REFERENCE}"
    else:
        try:
            text = path.read_text("utf-8")
        except OSError as e:
            raise InvalidRulePack(f"rule pack {path}: cannot read: {e.strerror}") from None
        source = str(path)
    doc = _parse(text, source)
    if isinstance(doc, dict) and isinstance(doc.get("published"), str):
        try:
            doc["published"] = dt.date.fromisoformat(doc["published"])
        except ValueError:
            pass
    return rulepack_from_dict(doc, source)


# Appended with the scoring loader rather than merged into the imports above: this file is
# shared, and the scoring side only adds to it.
from socialcredit.domain.scoring import ScoringPack  # noqa: E402
from socialcredit.rulepacks.scoring_schema import scoring_from_dict  # noqa: E402

SCORING = "scoring.yaml"


def load_scoring(path: Path | None = None, rulepack: RulePack | None = None) -> ScoringPack:
    """Load and validate the scoring programmes: ``path`` if given, else the packaged ones.

    Rules may score categories of ``rulepack`` (default: the packaged reference pack).
    """
    if path is None:
        text = resources.files(__package__).joinpath(SCORING).read_text("utf-8")
        source = f"packaged {SCORING}"
    else:
        try:
            text = path.read_text("utf-8")
        except OSError as e:
            raise InvalidRulePack(f"scoring pack {path}: cannot read: {e.strerror}") from None
        source = str(path)
    pack = rulepack if rulepack is not None else load_rulepack()
    return scoring_from_dict(_parse(text, source), set(pack.categories), source)
