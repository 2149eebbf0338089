"""One spelling of an identifier everywhere: the key the log, the index and the file share.

An ID typed with full-width digits (``１１０…``), Arabic-Indic or other Unicode decimal digits,
or a full-width ``Ｘ`` is the same ID as its ASCII spelling. Every entry point (API, batch,
CLI, ingest) calls :func:`normalise_identifier` first, so a screening is logged, and shown to
the subject, under the key their file is kept under. Identity parsing will fold this in.
"""

from __future__ import annotations

import unicodedata


def _ascii_digit(c: str) -> str:
    d = unicodedata.decimal(c, None)
    return c if d is None else str(d)


def normalise_identifier(raw: str) -> str:
    """NFKC, any Unicode decimal digit as its ASCII digit, surrounding space stripped, upper
    case. Plain ASCII input costs one ``isascii`` check more than ``strip().upper()``."""
    if raw.isascii():
        return raw.strip().upper()
    s = unicodedata.normalize("NFKC", raw)
    if not s.isascii():
        # NFKC leaves Arabic-Indic, Devanagari, ... digits alone; they are still digits
        s = "".join(_ascii_digit(c) if c.isdigit() else c for c in s)
    return s.strip().upper()
