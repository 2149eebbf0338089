"""One spelling of an identifier everywhere: the key the log, the index and the file share.

An ID typed with full-width digits (``１１０…``), Arabic-Indic or other Unicode decimal digits,
a full-width ``Ｘ``, a lower-case ``x``, spaces or hyphens is the same ID as its plain ASCII
spelling. Every entry point (API, batch, CLI, ingest) calls :func:`normalise_identifier`
first, so a screening is logged, and shown to the subject, under the key their file is kept
under. It is the identity parser's own normalisation, so the two can never disagree.
"""

from __future__ import annotations

from socialcredit.domain.identity import normalise_id as normalise_identifier

__all__ = ["normalise_identifier"]
