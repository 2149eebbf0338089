"""Due process: notices and letters (with their outbox and worker), objections,
reconsideration and their review, credit repair, the subject's own access to their file
(including who screened them), and the audit trail of every step.

Modules:

- notices: ``outbox`` (queueing, the planner that notices record events, reading notices),
  ``letters`` (a notice's content as text and HTML), ``delivery`` (the mail worker, and
  letters served by the authority);
- cases: ``cases`` (what every case shares: the record it is about, the events and change
  marks it writes, the case row and its letter), ``objections``, ``reconsideration``,
  ``assignment`` (reviewers and who decides), ``decisions`` (written decisions),
  ``case_queue`` (the operator's queue);
- ``repair``, ``subject_access``, ``audit``; ``clock`` (timestamps as stored);
- HTTP in ``case_routes`` and ``subject_routes``; the CLI in ``commands``; the demo's
  ``mailcatcher``;
- the citizen portal (``/me`` pages, issue 11): ``portal`` with ``portal_labels``,
  ``evidence`` (uploads checked by magic bytes, kept with their SHA-256) and
  ``evidence_routes`` (for the case's reviewers), ``letter_codes`` (sign-in codes minted as
  notices go out), ``demo`` (the demo citizen ``serve --demo-keys`` prints). See
  ``docs/portal.md``.
"""
