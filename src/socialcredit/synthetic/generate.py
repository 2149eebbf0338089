"""Synthetic data for demos, tests and benchmarks: a population and a year of its records.

Vectorised end to end (NumPy and Arrow, no per-row Python) and deterministic for a seed:

- :func:`generate_population` -> :class:`Population`, whose ``subjects`` table has
  ``subject_id, kind, name, birth_date, region_code, contact_email, legal_representative_id``.
  Individuals carry valid GB 11643 resident IDs on real GB/T 2260 county codes in use in their
  birth year (python-stdnum's ``cn/loc``), an age pyramid close to China's in the mid-2020s
  (about 18% minors), sequence codes odd for men, and ISO 7064 MOD 11-2 check characters.
  Enterprises carry valid GB 32100 codes (registration authority 9, types 1/2/3, a county code,
  a GB 11714 organisation code with its own check character, the 3^i mod 31 check character),
  zh_CN company names and an adult legal representative from the population. About 30% of
  individuals have no e-mail address, to exercise the "no contact address" path of notices.
- :func:`generate_records` -> an Arrow table in exactly the ingest format
  (``docs/ingest-format.md``) at the rates of DOMAIN.md section 7. The category split, the
  later events and the scaling rule are documented in
  :mod:`socialcredit.synthetic.rates`; in short, of 14.21 million dishonest-conduct
  records a year: 2.614M court defaulters (ground 1 at 72%), 0.12M exit restrictions, 0.03M
  air category A, 0.35M rail, 0.21M category B, 10.886M tiered administrative penalties, plus
  0.26M A-grade-taxpayer redlist records for enterprises. About 60% of court listings are
  removed within the year (``fulfilled`` or ``withdrawn``), rail fares are paid after days, and
  0.5% of records are ``corrected``. :func:`generate_record_batches` yields the same lines
  a calendar month at a time, for volumes that should not sit in memory at once.
- :data:`REFERENCE_AUTHORITIES`: the authorities the records come from (one court per province
  plus the national agencies), each allowed the pack categories whose ``authority_kinds``
  include its kind, for seeding a registry.
- :func:`write_records`: .jsonl, .csv or .parquet by extension.

Everything here is synthetic: names are assembled from Faker's zh_CN pools, e-mail addresses
use the reserved ``example.*`` domains, and no identifier is drawn from real people.
"""

from __future__ import annotations

from socialcredit.registry import reference_authorities
from socialcredit.synthetic.lines import SCHEMA
from socialcredit.synthetic.population import (
    SUBJECT_SCHEMA,
    Population,
    Progress,
    generate_population,
)
from socialcredit.synthetic.rates import (
    NATIONAL_ENTERPRISES,
    NATIONAL_INDIVIDUALS,
    NATIONAL_RECORDS,
    PROFILES,
)
from socialcredit.synthetic.records import (
    REFERENCE_AUTHORITIES,
    generate_record_batches,
    generate_records,
)
from socialcredit.synthetic.writers import write_records

RECORD_SCHEMA = SCHEMA

__all__ = [
    "NATIONAL_ENTERPRISES",
    "NATIONAL_INDIVIDUALS",
    "NATIONAL_RECORDS",
    "PROFILES",
    "RECORD_SCHEMA",
    "REFERENCE_AUTHORITIES",
    "SUBJECT_SCHEMA",
    "Population",
    "Progress",
    "generate_population",
    "generate_record_batches",
    "generate_records",
    "reference_authorities",
    "write_records",
]
