"""Regional scoring pilots (switchable off per programme): the vectorised recomputation of a
whole region (``bulk``), programme switches, residences, per-subject scores and history and the
grade-benefit table the screening index reads (``service``), following record changes
(``follow``), HTTP (``routes``) and the CLI (``commands``).

The per-subject rules live in ``socialcredit.domain.scoring``; the programme documents are
loaded by ``socialcredit.rulepacks``. This package must agree with the domain exactly.
"""

from socialcredit.scoring.service import *  # noqa: F403  (the face: service.__all__)
from socialcredit.scoring.service import __all__ as __all__
