"""Response models of the transparency log's routes. Hashes are standard base64."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from socialcredit.runtime.schemas import Out


class LogKey(Out):
    origin: str
    vkey: str = Field(description="the verifier key, signed-note format")
    algorithm: Literal["Ed25519"]


class LogHead(Out):
    size: int
    root: str
    signed_at: str
    checkpoint: str = Field(description="the checkpoint exactly as signed")


class InclusionProof(Out):
    leaf: int
    size: int
    leaf_hash: str
    proof: list[str]


class ConsistencyProof(Out):
    first: int
    second: int
    proof: list[str]
