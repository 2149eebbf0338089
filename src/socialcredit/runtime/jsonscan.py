"""How deep a JSON text nests, found without parsing it (parsers recurse: Python's ``json``
raises ``RecursionError`` at ~1,000 levels and pyarrow's reader crashed at 20,000). Used on
ingest lines and on screening manifest rows before they reach a parser."""

from __future__ import annotations


def nests_deeper(text: str, limit: int) -> bool:
    """True if the JSON ``text`` nests more than ``limit`` deep (brackets inside strings do
    not count). A text with few brackets is answered by a count alone."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth, in_str, esc = 0, False, False
    for c in text:
        if in_str:
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c in "[{":
            depth += 1
            if depth > limit:
                return True
        elif c in "]}":
            depth -= 1
    return False
