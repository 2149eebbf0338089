"""The transparency log: leaf runs, leaf-hash tiles, stored subtree hashes, signed heads.

A branch of its own off 0001, like screening (0002), due process (0003) and scoring (0004):
``migrate`` upgrades to every head.

Revision ID: 0006
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0001"
branch_labels = ("integrity",)
depends_on = None

LeafIndex = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "log_leaves",
        sa.Column("idx", LeafIndex, autoincrement=False, nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("ref", sa.String(128), nullable=False),
        sa.Column("ref_num", sa.BigInteger(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("idx", name="pk_log_leaves"),
    )
    op.create_index("ix_log_leaves_kind_ref", "log_leaves", ["kind", "ref"])
    op.create_index("ix_log_leaves_kind_ref_num", "log_leaves", ["kind", "ref_num"])
    op.create_table(
        "log_tiles",
        sa.Column("idx", LeafIndex, autoincrement=False, nullable=False),
        sa.Column("hashes", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("idx", name="pk_log_tiles"),
    )
    op.create_table(
        "log_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name="pk_log_nodes"),
    )
    op.create_table(
        "log_heads",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("signed_at", sa.DateTime(), nullable=False),
        sa.Column("checkpoint", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_log_heads"),
    )
    op.create_index("ix_log_heads_size", "log_heads", ["size"])


def downgrade() -> None:
    op.drop_index("ix_log_heads_size", table_name="log_heads")
    op.drop_table("log_heads")
    op.drop_table("log_nodes")
    op.drop_table("log_tiles")
    op.drop_index("ix_log_leaves_kind_ref_num", table_name="log_leaves")
    op.drop_index("ix_log_leaves_kind_ref", table_name="log_leaves")
    op.drop_table("log_leaves")
