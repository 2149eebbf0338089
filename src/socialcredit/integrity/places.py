"""Where a row stands in the log, for the subject: its leaf, and the signed head that
includes it (or that the next one will), said in a notice and shown in their file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from socialcredit.integrity.heads import Head, latest_head
from socialcredit.integrity.store import leaf_index


@dataclass(frozen=True)
class LogPlace:
    kind: str
    ref: str
    leaf: int
    head: Head | None  # the latest signed head, whether or not it includes the leaf yet

    @property
    def included(self) -> bool:
        return self.head is not None and self.head.size > self.leaf

    def to_dict(self) -> dict[str, Any]:
        h = self.head.to_dict() if self.head is not None else None
        return {
            "kind": self.kind,
            "ref": self.ref,
            "leaf": self.leaf,
            "included_in_head": self.included,
            "head": None if h is None else {k: h[k] for k in ("size", "root", "signed_at")},
            "prove": f"/v1/log/proof/inclusion?leaf={self.leaf}",
        }

    def lines(self, what: str) -> list[str]:
        """The notice's paragraph: where ``what`` is logged and how to check it."""
        out = [f"{what} is leaf {self.leaf} of the registry's public transparency log."]
        if self.included and self.head is not None:
            root = self.head.to_dict()["root"]
            out.append(
                f"It is included in the signed tree head of size {self.head.size} "
                f"(root {root}, signed {self.head.signed_at:%Y-%m-%d %H:%M} UTC)."
            )
        else:
            latest = f" (the latest is of size {self.head.size})" if self.head else ""
            out.append(f"The next signed tree head, due within minutes, includes it{latest}.")
        out.append(
            f"Anyone can check that it was not changed since: `socialcredit log prove "
            f"{self.leaf}` or GET /v1/log/proof/inclusion?leaf={self.leaf}, against the "
            "registry's key published at /v1/log/key."
        )
        return out


def log_place(
    conn: Connection, kind: str, ref: str | int, head: Head | None = None
) -> LogPlace | None:
    """Where row ``(kind, ref)`` was last logged, with the latest signed head (``head`` if
    the caller has it already); None if it never was."""
    leaf = leaf_index(conn, kind, ref)
    if leaf is None:
        return None
    return LogPlace(kind, str(ref), leaf, head if head is not None else latest_head(conn))
