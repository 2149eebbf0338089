"""The synthetic population for the demo and the benchmarks: regions, residents and
enterprises (``population``), a year of records at the national rates (``records``), scoring
pilots' residences and local records (``scoring``), file writers (``writers``), and loading it
all through the ingest service (``populate``). Nothing here is real data.
"""
