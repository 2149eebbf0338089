"""The registry of records: authorities and what each may submit, ingest (read, validate,
plan, one durable transaction per batch), a subject's file, and the change feed that the
screening index and the scoring follower read.

Public face: ``ingest`` (the package), ``subjects`` (a subject's file), ``feed`` (changes since
a mark), ``seed`` (the reference authorities) and ``commands`` (the CLI).
"""
