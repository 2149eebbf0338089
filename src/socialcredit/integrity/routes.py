"""The transparency log over HTTP (public, read-only): the verifier key, the latest signed
head, inclusion and consistency proofs. Hashes travel in standard base64, as in checkpoints.

Numbers are checked by the query model (0 .. 2**63-1; anything else, a 20-digit number or a
word alike, is a 422 from the app's one validation handler) and against the tree's size by
the store (a 422 naming the field).
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query

from socialcredit.errors import NotFound
from socialcredit.integrity import heads, store
from socialcredit.integrity.schemas import ConsistencyProof, InclusionProof, LogHead, LogKey
from socialcredit.runtime.deps import RegistryDep
from socialcredit.runtime.registry import Registry


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The server signs a head at most once a minute while the log grows."""
    reg: Registry = app.state.registry
    timer = heads.HeadTimer(reg.engine, lambda: heads.log_key(reg.settings), reg.now)
    timer.start()
    try:
        yield
    finally:
        timer.stop()


router = APIRouter(tags=["transparency log"], lifespan=lifespan)

MAX_INDEX = 2**63 - 1
NO_HEAD: dict[int | str, dict[str, Any]] = {404: {"description": "No signed tree head yet"}}
Index = Annotated[int, Query(ge=0, le=MAX_INDEX, description="a leaf index or tree size")]
OptIndex = Annotated[
    int | None, Query(ge=0, le=MAX_INDEX, description="a tree size; default the latest head's")
]


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


@router.get("/v1/log/key", response_model=LogKey)
def log_key(reg: RegistryDep) -> dict[str, Any]:
    """The log's verifier key (signed-note format): checks every head it signed."""
    key = heads.log_key(reg.settings)
    return {"origin": key.name, "vkey": key.vkey(), "algorithm": "Ed25519"}


@router.get("/v1/log/head", response_model=LogHead, responses=NO_HEAD)
def log_head(reg: RegistryDep) -> dict[str, Any]:
    """The latest signed tree head, with its checkpoint exactly as signed."""
    with reg.engine.connect() as conn:
        head = heads.latest_head(conn)
    if head is None:
        raise NotFound("no signed tree head yet")
    return head.to_dict()


def _default_size(reg: RegistryDep) -> int:
    with reg.engine.connect() as conn:
        head = heads.latest_head(conn)
    if head is None:
        raise NotFound("no signed tree head yet: give size")
    return head.size


@router.get("/v1/log/proof/inclusion", response_model=InclusionProof, responses=NO_HEAD)
def inclusion(reg: RegistryDep, leaf: Index, size: OptIndex = None) -> dict[str, Any]:
    """The inclusion proof of leaf ``leaf`` in the tree of ``size`` leaves (default: the
    latest signed head's size)."""
    n = _default_size(reg) if size is None else size
    with reg.engine.connect() as conn:
        proof = store.inclusion_proof(conn, leaf, n)
        leaf_hash = store.leaf_hash_at(conn, leaf)
    return {"leaf": leaf, "size": n, "leaf_hash": _b64(leaf_hash), "proof": list(map(_b64, proof))}


@router.get("/v1/log/proof/consistency", response_model=ConsistencyProof, responses=NO_HEAD)
def consistency(reg: RegistryDep, first: Index, second: OptIndex = None) -> dict[str, Any]:
    """The proof that the tree of ``second`` leaves (default: the latest signed head's size)
    extends the tree of ``first`` leaves."""
    n = _default_size(reg) if second is None else second
    with reg.engine.connect() as conn:
        proof = store.consistency_proof(conn, first, n)
    return {"first": first, "second": n, "proof": list(map(_b64, proof))}
