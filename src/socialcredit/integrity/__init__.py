"""The transparency log: every change a leaf of an RFC 9162 Merkle tree, signed heads,
inclusion and consistency proofs, verification from the rows, and a witness.

Writers call :func:`append_leaves` inside the transaction that makes the change, with
payloads from :func:`leaf_payload` / :func:`leaf_payloads`; a timer calls
:func:`maybe_sign_head`. Readers use the proofs, :func:`verify_log` and :class:`Witness`.
"""

from socialcredit.integrity.heads import (
    Head,
    HeadTimer,
    all_heads,
    head_before,
    head_before_day,
    key_path,
    latest_head,
    log_key,
    maybe_sign_head,
    sign_head,
)
from socialcredit.integrity.leaves import (
    KIND_COLUMNS,
    KIND_TABLES,
    RANGE_KINDS,
    TableRows,
    columns_range_payload,
    json_column,
    leaf_payload,
    leaf_payloads,
    range_ref,
)
from socialcredit.integrity.merkle import leaf_hashes, verify_consistency, verify_inclusion
from socialcredit.integrity.note import Checkpoint, SigningKey, open_checkpoint
from socialcredit.integrity.places import LogPlace, log_place
from socialcredit.integrity.store import (
    append_hashes,
    append_leaves,
    block_roots,
    consistency_proof,
    inclusion_proof,
    leaf_hash_at,
    leaf_index,
    log_range,
    log_rows,
    root_at,
    tree_size,
)
from socialcredit.integrity.store import lock as lock_log
from socialcredit.integrity.verify import LogVerdict, verify_log, verify_stored
from socialcredit.integrity.witness import Witness, WitnessAlarm, monitor

__all__ = [
    "KIND_COLUMNS",
    "KIND_TABLES",
    "RANGE_KINDS",
    "Checkpoint",
    "Head",
    "HeadTimer",
    "LogPlace",
    "LogVerdict",
    "SigningKey",
    "TableRows",
    "Witness",
    "WitnessAlarm",
    "all_heads",
    "head_before",
    "head_before_day",
    "append_hashes",
    "append_leaves",
    "block_roots",
    "columns_range_payload",
    "consistency_proof",
    "inclusion_proof",
    "json_column",
    "key_path",
    "latest_head",
    "leaf_hash_at",
    "leaf_hashes",
    "leaf_index",
    "leaf_payload",
    "leaf_payloads",
    "lock_log",
    "log_key",
    "log_place",
    "log_range",
    "log_rows",
    "maybe_sign_head",
    "monitor",
    "open_checkpoint",
    "range_ref",
    "root_at",
    "sign_head",
    "tree_size",
    "verify_consistency",
    "verify_inclusion",
    "verify_log",
    "verify_stored",
]
