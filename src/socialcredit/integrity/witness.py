"""A witness: keeps the last head it verified, accepts a new head only if it is signed by the
key it pinned and is consistent with that head, then cosigns it.

The witness's state lives outside the registry's database (a JSON file), so a database
whose leaves and heads were cut back or rewritten and re-signed still fails here: a smaller
tree is a truncation, a consistency proof that does not verify is a rewritten history, and a
head under another key is a history someone else signed. On any of these the state is left
as it was and :class:`WitnessAlarm` says what was seen.
"""

from __future__ import annotations

import base64
import json
import os
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from socialcredit.errors import RegistryError
from socialcredit.integrity.merkle import verify_consistency
from socialcredit.integrity.note import (
    ALG_COSIGNATURE,
    Checkpoint,
    NoteError,
    SigningKey,
    cosign,
    load_or_create_key,
    open_checkpoint,
)


class WitnessAlarm(RegistryError):
    """The log showed the witness something that contradicts what it saw before."""

    status = 409
    code = "log_inconsistent"


@dataclass(frozen=True)
class WitnessState:
    log_vkey: str
    size: int
    root: bytes
    checkpoint: str

    def to_json(self) -> str:
        d = {
            "log_vkey": self.log_vkey,
            "size": self.size,
            "root": base64.b64encode(self.root).decode(),
            "checkpoint": self.checkpoint,
        }
        return json.dumps(d, indent=2)

    @classmethod
    def from_json(cls, text: str) -> WitnessState:
        d = json.loads(text)
        return cls(str(d["log_vkey"]), int(d["size"]), base64.b64decode(d["root"]), d["checkpoint"])


class Witness:
    def __init__(self, state_path: Path, key: SigningKey) -> None:
        self.state_path = state_path
        self.key = key

    @classmethod
    def open(cls, state_path: Path, name: str = "socialcredit-witness") -> Witness:
        """A witness whose own key lives beside its state file (``<state>.key``, 0600)."""
        key_file = state_path.with_name(state_path.name + ".key")
        return cls(state_path, load_or_create_key(key_file, name, ALG_COSIGNATURE))

    def state(self) -> WitnessState | None:
        if not self.state_path.exists():
            return None
        return WitnessState.from_json(self.state_path.read_text())

    def observe(
        self,
        note: str,
        proof: Sequence[bytes] = (),
        *,
        log_vkey: str | None = None,
        now: int | None = None,
    ) -> str:
        """Check the signed head ``note`` against the last one seen; return it cosigned.

        ``proof`` is the consistency proof from the last size seen to the note's size;
        ``log_vkey`` the key the log presents (pinned on first use, compared after that).
        """
        st = self.state()
        pinned = st.log_vkey if st is not None else log_vkey
        if pinned is None:
            raise WitnessAlarm("no log key to trust: give the log's verifier key the first time")
        if st is not None and log_vkey is not None and log_vkey.strip() != st.log_vkey:
            raise WitnessAlarm(
                f"the log now presents the key {log_vkey.strip()}, not {st.log_vkey} that "
                "this witness pinned: its history is signed by someone else"
            )
        try:
            cp = open_checkpoint(note, pinned)
        except NoteError as e:
            raise WitnessAlarm(f"the head is not signed by the pinned log key: {e.message}") from e
        if st is not None:
            self._check(st, cp, proof)
        cosigned = note + cosign(note, self.key, int(time.time() if now is None else now)) + "\n"
        if st is None or cp.size > st.size:
            new = WitnessState(pinned.strip(), cp.size, cp.root, note)
            tmp = self.state_path.with_name(self.state_path.name + ".tmp")
            tmp.write_text(new.to_json())
            os.replace(tmp, self.state_path)
        return cosigned

    @staticmethod
    def _check(st: WitnessState, cp: Checkpoint, proof: Sequence[bytes]) -> None:
        if cp.size < st.size:
            raise WitnessAlarm(
                f"the log shrank from {st.size} to {cp.size} leaves: it was truncated or "
                "rolled back"
            )
        if not verify_consistency(st.size, cp.size, st.root, cp.root, proof):
            raise WitnessAlarm(
                f"the head of size {cp.size} is not consistent with the head of size "
                f"{st.size} this witness saw: the history was rewritten"
            )


def _get(url: str, timeout: float) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 - operator's URL
        return json.loads(r.read())


def monitor(base_url: str, witness: Witness, *, timeout: float = 10.0) -> dict[str, Any]:
    """One round of a witness against a registry's HTTP API: fetch the key and head, and the
    consistency proof from the last head seen; check, cosign and remember."""
    base = base_url.rstrip("/")
    key = _get(f"{base}/v1/log/key", timeout)["vkey"]
    head = _get(f"{base}/v1/log/head", timeout)
    st = witness.state()
    proof: list[bytes] = []
    if st is not None and 0 < st.size < int(head["size"]):
        q = urllib.parse.urlencode({"first": st.size, "second": head["size"]})
        got = _get(f"{base}/v1/log/proof/consistency?{q}", timeout)
        proof = [base64.b64decode(h) for h in got["proof"]]
    cosigned = witness.observe(head["checkpoint"], proof, log_vkey=key)
    return {
        "size": int(head["size"]),
        "previous_size": None if st is None else st.size,
        "cosigned": cosigned,
    }
