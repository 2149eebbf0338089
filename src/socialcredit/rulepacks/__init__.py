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
