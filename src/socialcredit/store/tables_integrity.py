"""Tables of the transparency log (``integrity/``).

- ``log_leaves``: what the leaves stand for, one row per *run* of leaves: leaves ``idx`` ..
  ``idx + length - 1`` stand for rows of one ``kind`` whose keys are ``ref_num``,
  ``ref_num + 1`` ... (consecutive integer keys: a bulk batch of records is one run), or
  one leaf (``length`` 1) whose key is ``ref`` (any text). Leaf indexes run 0, 1, 2 ... with
  no gaps, in commit order; ``at`` is when the run was appended (UTC).
- ``log_tiles``: the leaf hashes, 256 to a row (``idx`` = leaf index // 256, ``hashes`` the
  32-byte RFC 9162 leaf hashes concatenated; the last tile may be partial and grows).
  A row per leaf cost ~5 us a leaf on SQLite, half an ingest's budget by itself; a tile row
  costs ~0.02 us a leaf and a proof reads one or two of them.
- ``log_nodes``: hashes of complete subtrees of ``2**level`` leaves, ``level >= 8`` only
  (``integrity.store.STORED_LEVEL``). A subtree below that is hashed from at most 256 leaf
  hashes (one tile), so the table holds about n/128 rows for n leaves and any proof costs
  O(log n) lookups.
- ``log_heads``: signed tree heads, each the checkpoint text exactly as signed.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
)

from socialcredit.store.tables import metadata

# SQLite makes only INTEGER PRIMARY KEY the rowid: the leaves' index is the table's own key.
LeafIndex = BigInteger().with_variant(Integer(), "sqlite")

log_leaves = Table(
    "log_leaves",
    metadata,
    Column("idx", LeafIndex, primary_key=True, autoincrement=False),
    Column("length", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("ref", String(128), nullable=False),  # the first row's key, as text
    Column("ref_num", BigInteger, nullable=True),  # the same when it is an integer
    Column("at", DateTime, nullable=False),  # UTC
    Index("ix_log_leaves_kind_ref", "kind", "ref"),
    Index("ix_log_leaves_kind_ref_num", "kind", "ref_num"),
)

log_tiles = Table(
    "log_tiles",
    metadata,
    Column("idx", LeafIndex, primary_key=True, autoincrement=False),
    Column("hashes", LargeBinary, nullable=False),
)

log_nodes = Table(
    "log_nodes",
    metadata,
    Column("level", SmallInteger, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
)

log_heads = Table(
    "log_heads",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("size", BigInteger, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("signed_at", DateTime, nullable=False),  # UTC
    Column("checkpoint", Text, nullable=False),
    Index("ix_log_heads_size", "size"),
)
