"""Scoring at scale: programme documents validated into domain objects (``schema``) and the
vectorised recomputation of a whole region (``bulk``). The per-subject rules live in
``socialcredit.domain.scoring``; this package must agree with them exactly.
"""
