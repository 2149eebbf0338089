"""Regional scoring in the registry, the face other capabilities and the tests use.

* :func:`subject_scores` - a subject's score under the programme of the region they live in,
  explained item by item, with counterfactuals, incentives and history (``subject``).
* :func:`rescore_subject` - the incremental path (``follow`` drives it): one subject
  recomputed with :func:`~socialcredit.domain.scoring.score_subject` after their records
  changed, history written when the score moved (``subject``).
* :func:`recompute` - the bulk path: a whole programme region recomputed over columns
  (:func:`~socialcredit.scoring.bulk.score_bulk`), history written for every resident whose
  score or grade moved since their last row (``regions``).
* :func:`set_switch` - the operator's per-jurisdiction switch. Off deletes every score the
  programme produced, in the same transaction; every view also filters by the switches, so
  a programme switched off in the scoring document is gone from views before any purge
  (``programmes``).
* :func:`set_residence` / :func:`write_residences` - where people live (``residences``).
* :func:`benefits_for` - the incentives a grade earns in one sector, computed afresh (the
  subject's file). The screening servers read the published history instead
  (``socialcredit.screening.grades``), never scoring a subject per request.

History keeps a row per change, not per run: a resident whose score never moves has one row.
"""

from socialcredit.scoring.programmes import (
    config,
    document,
    enabled,
    programmes,
    purge_disabled,
    set_switch,
)
from socialcredit.scoring.regions import (
    RegionScores,
    birth_days,
    history_count,
    month_ends,
    recompute,
    recompute_months,
    region_data,
    region_scores,
)
from socialcredit.scoring.residences import Residence, set_residence, write_residences
from socialcredit.scoring.subject import (
    benefits_for,
    incentives_for,
    rescore_subject,
    subject_scores,
)

__all__ = [
    "RegionScores",
    "Residence",
    "benefits_for",
    "birth_days",
    "config",
    "document",
    "enabled",
    "history_count",
    "incentives_for",
    "month_ends",
    "programmes",
    "purge_disabled",
    "recompute",
    "recompute_months",
    "region_data",
    "region_scores",
    "rescore_subject",
    "set_residence",
    "set_switch",
    "subject_scores",
    "write_residences",
]
