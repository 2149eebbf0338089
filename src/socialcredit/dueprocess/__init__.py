"""Due process: notices and letters (with their outbox and worker), objections,
reconsideration and their review, credit repair, the subject's own access to their file
(including who screened them), and the audit trail of every step.

Modules: ``notices``, ``cases``, ``repair``, ``subject_access``, ``audit``; HTTP in
``case_routes`` and ``subject_routes``; the CLI in ``commands``.
"""
