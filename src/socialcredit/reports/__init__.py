"""The transparency report: the year's figures computed set-wise from the raw events
(``figures``, with the rail repeat rule in ``repeat``), rendered as JSON, HTML with charts and
CSV (``render``), served over HTTP (``routes``) and written by the CLI.
"""
