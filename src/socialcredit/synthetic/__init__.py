"""The synthetic population for the demo and the benchmarks: regions, residents and
enterprises (``population``, with the name pools in ``names``); a year of records
(``records``, which draws and assembles it) at the national rates and per-category profiles
of ``rates``, with each record's columns drawn in ``columns``, its later events (fulfilment,
withdrawal, repair, correction) in ``events`` and the ingest-format lines in ``lines``;
scoring pilots' residences and local records (``scoring``), file writers (``writers``), and
loading it all through the ingest service (``populate``). Nothing here is real data.
"""
