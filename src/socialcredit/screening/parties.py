"""Relying parties and their API keys: registered, listed, rotated, revoked.

A key is ``sc_<prefix>_<secret>``: the prefix (public, shown in lists and logs) names the key,
the secret is 32 random bytes. Only the SHA-256 of the whole key is stored: a key has 256 bits
of entropy, so a slow password hash would add latency to every screening and no security.
Servers hold the table of active key hashes in memory (:func:`load_keys`) and reload it each
second, so a revocation takes effect on every server within about a second, without a SQL
query per screening.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from socialcredit.domain.rules import RulePack
from socialcredit.errors import Conflict, InvalidInput, NotFound
from socialcredit.integrity import log_rows
from socialcredit.runtime.registry import Registry
from socialcredit.store.tables_screening import api_keys, relying_parties

DEFAULT_RATE_PER_MINUTE = 600_000  # 10,000 screenings a second per key


@dataclass(frozen=True)
class RelyingParty:
    code: str
    name: str
    sectors: frozenset[str]
    active: bool
    rate_per_minute: int | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "name": self.name,
            "sectors": sorted(self.sectors),
            "active": self.active,
            "rate_per_minute": self.rate_per_minute or DEFAULT_RATE_PER_MINUTE,
        }


@dataclass(frozen=True)
class KeyInfo:
    """What a server knows about one active key: whose it is and what it may do."""

    prefix: str
    party: RelyingParty

    @property
    def rate_per_minute(self) -> int:
        return self.party.rate_per_minute or DEFAULT_RATE_PER_MINUTE


@dataclass(frozen=True)
class IssuedKey:
    party: str
    prefix: str
    key: str  # shown once, never stored


# Demo relying parties (`socialcredit init` / `serve` create them when there are none).
DEMO_PARTIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("CAAC-AIR", "CAAC-licensed airline booking (demo)", ("flight",)),
    ("CHINA-RAILWAY", "China Railway 12306 ticketing (demo)", ("rail.standard", "rail.high_class")),
    (
        "DEMO-BANK",
        "A commercial bank (demo)",
        ("finance.loan", "finance.investment_product", "deposit.waiver"),
    ),
)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _new_key(party: str) -> tuple[str, str]:
    prefix = secrets.token_hex(6)  # 12 hex characters
    return prefix, f"sc_{prefix}_{secrets.token_urlsafe(32)}"


def _check_sectors(pack: RulePack, sectors: Iterable[str]) -> frozenset[str]:
    got = frozenset(s.strip() for s in sectors if s.strip())
    if not got:
        raise InvalidInput.one("sectors", "a relying party serves at least one sector")
    unknown = sorted(got - set(pack.sectors))
    if unknown:
        raise InvalidInput.one(
            "sectors", f"not a sector of rule pack {pack.version}", ", ".join(unknown)
        )
    return got


def _issue(conn: Connection, party: str) -> IssuedKey:
    prefix, key = _new_key(party)
    res = conn.execute(
        insert(api_keys).values(
            relying_party=party, key_prefix=prefix, key_hash=hash_key(key), created_at=_now()
        )
    )
    assert res.inserted_primary_key is not None
    log_rows(conn, "api_key", [int(res.inserted_primary_key[0])])
    return IssuedKey(party, prefix, key)


def _party(row: object) -> RelyingParty:
    m = row._mapping  # type: ignore[attr-defined]
    return RelyingParty(
        m["code"], m["name"], frozenset(m["sectors"]), bool(m["active"]), m["rate_per_minute"]
    )


def add_party(
    reg: Registry,
    code: str,
    name: str,
    sectors: Iterable[str],
    rate_per_minute: int | None = None,
) -> IssuedKey:
    """Register a relying party for ``sectors`` and issue its first API key."""
    code = code.strip().upper()
    if not code or len(code) > 64:
        raise InvalidInput.one("code", "1 to 64 characters", code)
    if rate_per_minute is not None and rate_per_minute < 1:
        raise InvalidInput.one("rate_per_minute", "must be at least 1", str(rate_per_minute))
    got = _check_sectors(reg.pack, sectors)
    with reg.engine.begin() as conn:
        exists = conn.execute(select(relying_parties.c.code).where(relying_parties.c.code == code))
        if exists.first() is not None:
            raise Conflict(f"relying party {code} is already registered")
        conn.execute(
            insert(relying_parties).values(
                code=code,
                name=name,
                sectors=sorted(got),
                active=True,
                created_at=_now(),
                rate_per_minute=rate_per_minute,
            )
        )
        log_rows(conn, "relying_party", [code])
        return _issue(conn, code)


def list_parties(reg: Registry) -> list[dict[str, object]]:
    """Every relying party with its keys (prefixes and dates only)."""
    with reg.engine.connect() as conn:
        parties = [_party(r) for r in conn.execute(select(relying_parties).order_by("code"))]
        keys = conn.execute(select(api_keys).order_by(api_keys.c.id)).all()
    out = []
    for p in parties:
        d = p.to_dict()
        d["keys"] = [
            {
                "prefix": k.key_prefix,
                "created_at": k.created_at.isoformat(),
                "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
            }
            for k in keys
            if k.relying_party == p.code
        ]
        out.append(d)
    return out


def rotate_key(reg: Registry, code: str, revoke_old: bool = True) -> IssuedKey:
    """Issue a new key; with ``revoke_old`` (default) the party's other keys stop working."""
    code = code.strip().upper()
    with reg.engine.begin() as conn:
        found = conn.execute(select(relying_parties.c.code).where(relying_parties.c.code == code))
        if found.first() is None:
            raise NotFound(f"relying party {code} is not registered")
        if revoke_old:
            live = (api_keys.c.relying_party == code) & api_keys.c.revoked_at.is_(None)
            ids = [int(i) for i in conn.execute(select(api_keys.c.id).where(live)).scalars()]
            conn.execute(update(api_keys).where(live).values(revoked_at=_now()))
            log_rows(conn, "api_key", ids)
        return _issue(conn, code)


def revoke_key(reg: Registry, prefix: str) -> str:
    """Revoke the key with this prefix; returns its relying party."""
    with reg.engine.begin() as conn:
        row = conn.execute(select(api_keys).where(api_keys.c.key_prefix == prefix)).first()
        if row is None:
            raise NotFound(f"no API key with prefix {prefix}")
        if row.revoked_at is None:
            conn.execute(update(api_keys).where(api_keys.c.id == row.id).values(revoked_at=_now()))
            log_rows(conn, "api_key", [int(row.id)])
        return str(row.relying_party)


def load_keys(conn: Connection) -> dict[str, KeyInfo]:
    """{sha256 of key: KeyInfo} for every unrevoked key of an active party."""
    parties = {
        p.code: p for p in (_party(r) for r in conn.execute(select(relying_parties))) if p.active
    }
    rows = conn.execute(
        select(api_keys.c.key_hash, api_keys.c.key_prefix, api_keys.c.relying_party).where(
            api_keys.c.revoked_at.is_(None)
        )
    )
    return {h: KeyInfo(prefix, parties[party]) for h, prefix, party in rows if party in parties}


def ensure_demo_parties(reg: Registry, keep: Mapping[str, str] | None = None) -> list[IssuedKey]:
    """Register the demo relying parties that are missing and issue each a fresh key (their
    old keys are revoked: the hashes cannot be shown again), except a party whose key in
    ``keep`` ({party: key}, kept by the caller from an earlier run) still works: that key is
    returned as it is, so keys a user exported go on working. Returns the keys, to print."""
    with reg.engine.connect() as conn:
        known = set(conn.execute(select(relying_parties.c.code)).scalars())
        working = load_keys(conn)
    out = []
    for code, name, sectors in DEMO_PARTIES:
        kept = (keep or {}).get(code)
        info = working.get(hash_key(kept)) if kept else None
        if kept and info is not None and info.party.code == code:
            out.append(IssuedKey(code, info.prefix, kept))
            continue
        served = [s for s in sectors if s in reg.pack.sectors]
        out.append(rotate_key(reg, code) if code in known else add_party(reg, code, name, served))
    return out
