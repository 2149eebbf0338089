"""Tables of the transparency log (``integrity/``).

- ``log_leaves``: one row per leaf, in commit order: its index in the tree (0, 1, 2 ... with
  no gaps), what kind of row it stands for and that row's key (``ref``), the RFC 9162 leaf
  hash of the row's canonical payload, and when it was appended (UTC).
- ``log_nodes``: hashes of complete subtrees of ``2**level`` leaves, ``level >= 8`` only
  (``integrity.store.STORED_LEVEL``). A subtree below that is hashed from at most 256 leaf
  hashes read in one range scan, so the table holds about n/128 rows for n leaves and an
  append writes one row per 256 leaves, while any proof costs O(log n) lookups.
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
    Column("kind", String(32), nullable=False),
    Column("ref", String(128), nullable=False),
    Column("hash", LargeBinary(32), nullable=False),
    Column("at", DateTime, nullable=False),  # UTC
    Index("ix_log_leaves_kind_ref", "kind", "ref"),
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
