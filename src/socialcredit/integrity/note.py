"""Signed notes and checkpoints, as the transparency-log community writes them (C2SP
``signed-note``, ``tlog-checkpoint``, ``tlog-cosignature``), with Ed25519 keys.

A checkpoint is the text ``origin\\nsize\\nbase64(root)\\n``; a signed note is that text, a
blank line, then one line per signature: ``\\u2014 <key name> base64(key id || signature)``.
The key id is the first 4 bytes of ``SHA-256(name || "\\n" || 0x01 || public key)``, and a
verifier key is written ``name+hex(key id)+base64(0x01 || public key)``. A witness's
cosignature (algorithm byte 0x04) signs ``cosignature/v1\\ntime <t>\\n`` followed by the
checkpoint text, and carries the 8-byte time before its signature.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from socialcredit.errors import InvalidInput

ALG_ED25519 = 0x01
ALG_COSIGNATURE = 0x04
DASH = "\u2014 "


class NoteError(InvalidInput):
    """A note or checkpoint that does not parse or whose signature does not verify."""

    code = "bad_signed_note"


def _raw_public(pub: Ed25519PublicKey) -> bytes:
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(name: str, alg: int, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public).digest()[:4]


@dataclass(frozen=True)
class SigningKey:
    """A named Ed25519 key: the log's (``alg`` 0x01) or a witness's (``alg`` 0x04)."""

    name: str
    private: Ed25519PrivateKey
    alg: int = ALG_ED25519

    @property
    def public(self) -> bytes:
        return _raw_public(self.private.public_key())

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.alg, self.public)

    def vkey(self) -> str:
        """The verifier key, as published: ``name+keyid+base64(alg || public key)``."""
        blob = base64.b64encode(bytes([self.alg]) + self.public).decode()
        return f"{self.name}+{self.key_id.hex()}+{blob}"


@dataclass(frozen=True)
class VerifierKey:
    name: str
    key_id: bytes
    alg: int
    public: Ed25519PublicKey

    @classmethod
    def parse(cls, vkey: str) -> VerifierKey:
        try:
            name, hexid, blob = vkey.strip().split("+", 2)
            raw = base64.b64decode(blob, validate=True)
            kid = bytes.fromhex(hexid)
            pub = Ed25519PublicKey.from_public_bytes(raw[1:])
        except ValueError as e:
            raise NoteError.one("key", f"not a verifier key ({e})", vkey[:80]) from None
        if len(kid) != 4 or raw[0] not in (ALG_ED25519, ALG_COSIGNATURE):
            raise NoteError.one("key", "not an Ed25519 verifier key", vkey[:80])
        if key_id(name, raw[0], raw[1:]) != kid:
            raise NoteError.one("key", "the key id does not match the key", vkey[:80])
        return cls(name, kid, raw[0], pub)

    def vkey(self) -> str:
        blob = base64.b64encode(bytes([self.alg]) + _raw_public(self.public)).decode()
        return f"{self.name}+{self.key_id.hex()}+{blob}"


def load_or_create_key(path: Path, name: str, alg: int = ALG_ED25519) -> SigningKey:
    """The key in ``path`` (PKCS#8 PEM), generated there with mode 0600 if absent; its
    verifier key is written beside it as ``<path>.pub``."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: read theirs
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise NoteError.one("key file", "is not an Ed25519 private key", str(path))
    sk = SigningKey(name, key, alg)
    pub = path.with_name(path.name + ".pub")
    if not pub.exists() or pub.read_text().strip() != sk.vkey():
        pub.write_text(sk.vkey() + "\n")
    return sk


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        lines = body.split("\n")
        try:
            origin, size_s, root_s = lines[0], lines[1], lines[2]
            size = int(size_s)
            root = base64.b64decode(root_s, validate=True)
        except (IndexError, ValueError):
            raise NoteError.one("checkpoint", "not a checkpoint", body[:200]) from None
        if not origin or size < 0 or len(root) != 32 or not size_s.isdigit():
            raise NoteError.one("checkpoint", "not a checkpoint", body[:200])
        return cls(origin, size, root)


def sign_note(body: str, key: SigningKey) -> str:
    sig = key.private.sign(body.encode())
    return f"{body}\n{DASH}{key.name} {base64.b64encode(key.key_id + sig).decode()}\n"


@dataclass(frozen=True)
class Signature:
    name: str
    key_id: bytes
    blob: bytes  # what follows the key id: the signature (after a time, for cosignatures)


def split_note(text: str) -> tuple[str, list[Signature]]:
    """The signed text and the signature lines of a note."""
    body, sep, sigs = text.rpartition("\n\n")
    if not sep or not sigs.endswith("\n"):
        raise NoteError.one("note", "no signature block", text[:200])
    out: list[Signature] = []
    for line in sigs[:-1].split("\n"):
        if not line.startswith(DASH):
            raise NoteError.one("note", "malformed signature line", line[:200])
        name, _, blob_s = line[len(DASH) :].rpartition(" ")
        try:
            blob = base64.b64decode(blob_s, validate=True)
        except ValueError:
            raise NoteError.one("note", "malformed signature", line[:200]) from None
        if len(blob) < 5:
            raise NoteError.one("note", "malformed signature", line[:200])
        out.append(Signature(name, blob[:4], blob[4:]))
    return body + "\n", out


def open_checkpoint(text: str, vkey: str) -> Checkpoint:
    """The checkpoint in a signed note, if ``vkey`` signed it; else :class:`NoteError`."""
    v = VerifierKey.parse(vkey)
    body, sigs = split_note(text)
    for s in sigs:
        if s.name == v.name and s.key_id == v.key_id:
            try:
                v.public.verify(s.blob, body.encode())
            except InvalidSignature:
                raise NoteError.one("note", f"bad signature by {v.name}") from None
            return Checkpoint.parse(body)
    raise NoteError.one("note", f"not signed by the key {v.name}+{v.key_id.hex()}")


def _cosigned_message(body: str, when: int) -> bytes:
    return f"cosignature/v1\ntime {when}\n{body}".encode()


def cosign(text: str, witness: SigningKey, when: int) -> str:
    """A witness's cosignature line over the checkpoint in ``text`` at Unix time ``when``."""
    body, _ = split_note(text)
    sig = witness.private.sign(_cosigned_message(body, when))
    blob = base64.b64encode(witness.key_id + struct.pack(">Q", when) + sig).decode()
    return f"{DASH}{witness.name} {blob}"


def verify_cosignature(text: str, vkey: str) -> int:
    """The time of ``vkey``'s valid cosignature on the note ``text``; else NoteError."""
    v = VerifierKey.parse(vkey)
    body, sigs = split_note(text)
    for s in sigs:
        if s.name == v.name and s.key_id == v.key_id and len(s.blob) == 72:
            when = struct.unpack(">Q", s.blob[:8])[0]
            try:
                v.public.verify(s.blob[8:], _cosigned_message(body, when))
            except InvalidSignature:
                raise NoteError.one("note", f"bad cosignature by {v.name}") from None
            return int(when)
    raise NoteError.one("note", f"not cosigned by {v.name}")
