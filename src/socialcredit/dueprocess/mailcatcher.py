"""A local mail catcher for the demo and the tests: an SMTP server on loopback (aiosmtpd) that
stores every message it accepts as ``.eml`` in a directory, one file per Message-ID.

A message whose Message-ID was already stored is acknowledged but not stored again (and is
counted in ``duplicates.log``): the registry's worker re-sends with the same Message-ID after a
crash between the server's reply and its own commit, and a mailbox should show it once.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

_SAFE = re.compile(r"[^A-Za-z0-9._@-]+")


class StoreHandler:
    """aiosmtpd handler: write each accepted message to ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        data: bytes = envelope.original_content or envelope.content
        msg = email.message_from_bytes(data, policy=email.policy.default)
        mid = (
            str(msg.get("Message-ID", "")).strip("<> ")
            or f"no-id-{len(list(self.dir.glob('*.eml')))}"
        )
        key = _SAFE.sub("_", mid)[:150]
        if list(self.dir.glob(f"*-{key}.eml")):
            with (self.dir / "duplicates.log").open("a", encoding="utf-8") as f:
                f.write(mid + "\n")
            return "250 OK (duplicate Message-ID, already stored)"
        n = len(list(self.dir.glob("*.eml"))) + 1
        tmp = self.dir / f".{key}.tmp"
        tmp.write_bytes(data)
        tmp.rename(self.dir / f"{n:06d}-{key}.eml")
        return "250 OK"


def serve(directory: Path, host: str = "127.0.0.1", port: int = 1025) -> Any:
    """Start the catcher in a background thread; returns the aiosmtpd Controller (``stop()``)."""
    from aiosmtpd.controller import Controller

    ctl = Controller(StoreHandler(directory), hostname=host, port=port)
    ctl.start()
    return ctl


@dataclass(frozen=True)
class Mail:
    path: Path
    message_id: str
    to: str
    subject: str
    body: str


def read_mailbox(directory: Path, *, to: str | None = None, last: int | None = None) -> list[Mail]:
    """The stored messages, oldest first, decoded (plain-text part): only those whose To
    contains ``to``, and only the ``last`` newest of them.

    Decoding a message with the modern policy costs about a millisecond (its structured
    headers), which made a mailbox of the demo's tens of thousands of notices take 10-20 s:
    the newest files are looked at first, ``to`` is matched on the raw To header alone, and
    only the messages shown are decoded."""
    paths = sorted(directory.glob("*.eml")) if directory.is_dir() else []
    picked: list[Path] = []
    for p in reversed(paths):
        if last is not None and len(picked) >= last:
            break
        if to is None or to in _raw_to(p):
            picked.append(p)
    return [_decode(p) for p in reversed(picked)]


def _raw_to(path: Path) -> str:
    with path.open("rb") as f:
        head = f.read(16384).split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    headers = BytesHeaderParser(policy=email.policy.compat32).parsebytes(head)
    return " ".join(str(v) for v in headers.get_all("To", []))


def _decode(p: Path) -> Mail:
    msg = email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    part = msg.get_body(preferencelist=("plain",))
    body = part.get_content() if part is not None else ""
    return Mail(
        p,
        str(msg.get("Message-ID", "")),
        str(msg.get("To", "")),
        str(msg.get("Subject", "")),
        str(body),
    )
