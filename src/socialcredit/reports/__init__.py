"""The transparency report: the year's figures computed set-wise from the raw events, one
module a figure (``screenings``: blocked purchases; ``records``: records collected, and the
records and events the listings start from; ``listings``: listings, removals and payments after
listing, with the rail repeat rule in ``repeat``; ``due_process``: cases and notices;
``scores``: score distributions), on the period and tables of ``period``, assembled into one
document by ``figures``; rendered as JSON, HTML with charts and CSV (``render``), served over
HTTP (``routes``) and written by the CLI (``commands``).
"""
