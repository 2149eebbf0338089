"""The relying parties' use cases: screen one subject, screen a manifest.

:class:`ScreeningRuntime` is what a server process runs: a :class:`Screener` kept fresh by a
:class:`Watcher`, a :class:`LogWriter`, rate limits and the API keys. Every answer is logged;
every refusal before a lookup (unknown or revoked key, a sector the party does not serve, a
name that does not match) is logged as a refusal, with no answer about the subject.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from socialcredit.domain.normalise import normalise_identifier
from socialcredit.errors import Forbidden, InvalidInput, RateLimited, RegistryError
from socialcredit.rulepacks.scoring_config import scoring_document
from socialcredit.runtime.registry import Registry
from socialcredit.screening import batch
from socialcredit.screening.batch import Request as Request
from socialcredit.screening.grades import published_benefit
from socialcredit.screening.guard import AlertWriter, NameChecksExhausted, NameGuard
from socialcredit.screening.ids import FastId
from socialcredit.screening.limits import rate_limiter
from socialcredit.screening.logproc import ProcessLogWriter
from socialcredit.screening.parties import KeyInfo, hash_key
from socialcredit.screening.runtime import LogWriter, Row
from socialcredit.screening.service import Screener, default_snapshot
from socialcredit.screening.watcher import Watcher

log = logging.getLogger(__name__)
audit = logging.getLogger("socialcredit.screening.audit")

SNAPSHOT_AFTER = 50_000  # subjects redone in one round: snapshot, so a restart need not replay
READY_MAX_LAG_S = 30.0  # a round longer than this, or no round for this long: not ready


class Unauthorized(RegistryError):
    status = 401
    code = "unauthorized"


_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


class ScreeningIds:
    """Screening ids: UUIDs in the RFC 9562 version 7 layout, 48 bits of Unix milliseconds then
    74 random bits from the OS.

    Time-ordered ids land at the right edge of the log's unique index, where a random UUID 4
    lands anywhere: a log insert cost half as much with them at 200,000 rows, and the gap
    grows with the log. The random bits still make an id unguessable. They are drawn 4 KB at
    a time: ``os.urandom`` releases the GIL, and a per-request call let a background thread
    take it from the event loop.
    """

    POOL = 4000

    def __init__(self) -> None:
        self._pool = ""  # hex digits, 20 an id
        self._at = 0
        self._lock = threading.Lock()  # batch screenings draw from worker threads

    def __call__(self) -> str:
        with self._lock:
            at = self._at
            if at + 20 > len(self._pool):
                self._pool, at = os.urandom(self.POOL).hex(), 0
            self._at = at + 20
            r = self._pool[at : at + 20]
        ms = (time.time_ns() // 1_000_000) & 0xFFFF_FFFF_FFFF
        h = f"{ms:012x}"
        return f"{h[:8]}-{h[8:12]}-7{r[1:4]}-{_VARIANT[r[4]]}{r[5:8]}-{r[8:]}"


class ScreeningRuntime:
    def __init__(
        self,
        reg: Registry,
        screener: Screener,
        snapshot: Path | None = None,
        poll: float = 0.1,
        log_interval: float = 0.2,
        log_process: bool = False,
        save_snapshot: bool = True,
    ) -> None:
        self.reg = reg
        self.screener = screener
        self.snapshot = snapshot
        # A server writes its log from a process of its own (``log_process``): the SQL then
        # takes no GIL time from the event loop. In-process (a thread) for the CLI and tests.
        self.writer: LogWriter | ProcessLogWriter = (
            ProcessLogWriter(reg.engine, interval=log_interval)
            if log_process
            else LogWriter(reg.engine, interval=log_interval)
        )
        replica = reg.read_engine is not reg.engine  # no NOTIFY there: probe the feed
        self.watcher = Watcher(
            reg.read_engine,
            self._refresh,
            poll=reg.settings.read_poll_s if replica else poll,
            probe=replica,
        )
        self.caught_up_at: float | None = None  # monotonic: the last round with nothing new
        self.round_started: float | None = None
        self.last_round: float | None = None
        self.limiter = rate_limiter(reg.settings.rate_limit_url)
        self.save_snapshot = save_snapshot  # False in forked workers: the parent owns the file
        s = reg.settings
        self.alerts = AlertWriter(reg.engine)
        self.guard = NameGuard(
            s.limits_storage_url, s.name_check_failures, s.name_refusal_alert, on_alert=self.alerts
        )
        self.new_id = ScreeningIds()
        self.started = False
        self._keys_seen: object = None
        self._known: dict[str, KeyInfo] = {}

    @classmethod
    def open(cls, reg: Registry, snapshot: Path | None = None, **kw: Any) -> ScreeningRuntime:
        snap = snapshot if snapshot is not None else default_snapshot(reg)
        screener = Screener.open(reg, snap)
        screener.refresh(reg, force_keys=True)
        if snap is not None and screener.source == "built" and kw.get("save_snapshot", True):
            try:
                screener.save(snap)
            except OSError:
                log.exception("could not write the screening snapshot to %s", snap)
        log.info("screening index ready: %s", screener.stats())
        return cls(reg, screener, snap, **kw)

    def _refresh(self) -> int:
        """One watcher round: catch up, note readiness, snapshot after a large delta."""
        self.round_started = time.monotonic()
        try:
            n = self.screener.refresh(self.reg)
        finally:
            self.round_started = None
        now = time.monotonic()
        self.last_round = now
        if n == 0:
            self.caught_up_at = now
        elif n >= SNAPSHOT_AFTER and self.snapshot is not None and self.save_snapshot:
            try:  # a restart then restores this and replays only what came after
                self.screener.save(self.snapshot)
                log.info("screening snapshot after %d subjects redone", n)
            except OSError:
                log.exception("could not write the screening snapshot to %s", self.snapshot)
        return n

    def readiness(self) -> tuple[bool, str]:
        """Whether a load balancer should send screenings here, and why not."""
        now = time.monotonic()
        if not self.started:
            return False, "starting"
        if self.caught_up_at is None:
            return False, "catching up with the change feed"
        if self.round_started is not None and now - self.round_started > READY_MAX_LAG_S:
            return False, "a large change is being applied"
        if self.last_round is None or now - self.last_round > READY_MAX_LAG_S:
            return False, "the index is not being refreshed"
        return True, "caught up"

    def start(self) -> None:
        self.writer.start()
        self.watcher.start()
        self.started = True

    def stop(self) -> None:
        self.watcher.close()
        self.writer.close()
        self.alerts.join()
        if self.snapshot is not None and self.save_snapshot:
            try:
                self.screener.refresh(self.reg)
                self.screener.save(self.snapshot)
            except Exception:
                log.exception("could not write the screening snapshot on shutdown")

    # --- who is asking ---------------------------------------------------------------------

    def authenticate(self, api_key: str | None) -> KeyInfo:
        # A key that authenticated is remembered until the key table is reloaded (every
        # KEYS_RELOAD_S), so a revocation takes effect exactly as soon as before; hashing it
        # per request cost a sixth of a screening in the server. Unknown keys are not kept.
        keys = self.screener.keys
        if keys is not self._keys_seen:
            self._keys_seen, self._known = keys, {}
        info = self._known.get(api_key) if api_key else None
        if info is None and api_key:
            info = keys.get(hash_key(api_key))
            if info is not None and len(self._known) < 4096:
                self._known[api_key] = info
        if info is None:
            raise Unauthorized(
                "screening needs a valid API key: `Authorization: Bearer <key>` or `X-API-Key`"
            )
        if not self.limiter.allow(info.prefix, info.rate_per_minute):
            raise self._rate_limited(info)
        return info

    @staticmethod
    def _rate_limited(info: KeyInfo) -> RateLimited:
        return RateLimited(
            f"rate limit of {info.rate_per_minute} screenings a minute reached for key "
            f"{info.prefix}; retry shortly",
            retry_after=max(1, -(-60 // info.rate_per_minute)),
        )

    def _refuse(
        self,
        who: KeyInfo,
        sector: str,
        req: Request | None,
        reason: str,
        subject_id: str | None = None,
    ) -> None:
        audit.warning("refused %s for %s (key %s): %s", sector, who.party.code, who.prefix, reason)
        self.writer.refusal(  # in the order of REFUSAL_COLUMNS
            (
                time.time(),  # Unix time: the log writer makes it a datetime
                who.party.code,
                who.prefix,
                sector[:64],
                None if req is None else req.purpose,
                None if req is None else req.reference,
                reason,
                subject_id,
            )
        )

    def authorise_sector(self, who: KeyInfo, sector: str, req: Request | None = None) -> int:
        if sector not in who.party.sectors:
            self._refuse(who, sector, req, "sector_not_served")
            raise Forbidden(f"relying party {who.party.code} does not serve sector {sector!r}")
        return self.screener.sector_bit(sector)

    # --- one screening ---------------------------------------------------------------------

    def identify(self, who: KeyInfo, req: Request) -> FastId:
        """The subject's key with the name confirmed, within the party's budget of failed
        name checks for this ID; every refused name is logged under the subject's ID."""
        raw = normalise_identifier(req.subject_id)
        party = who.party.code
        wait = self.guard.blocked(party, raw)
        if wait is not None:
            self._refuse(who, req.sector, req, "name_checks_exhausted", raw[:18])
            self.guard.refused(party)
            raise NameChecksExhausted(wait)
        try:
            return self.screener.identify(raw, req.name)
        except InvalidInput as e:
            if e.problems and e.problems[0].field == "name":
                self._refuse(who, req.sector, req, "name_mismatch", raw[:18])
                self.guard.failed(party, raw)
            raise

    def screen(self, who: KeyInfo, req: Request) -> dict[str, Any]:
        bit = self.authorise_sector(who, req.sector, req)
        fid = self.identify(who, req)
        day = self.reg.today()
        v, benefit = self.screener.verdict(fid, bit, day)
        if not v.deny and benefit is None and req.sector in self._incentive_sectors():
            benefit = self._grade_benefit(fid.value, req.sector, day)
        a = self.screener.answer(req.sector, v, benefit, day)
        sid = self.new_id()
        self.writer.screening(self._row(sid, who, fid.value, req, a.decision, a.reason_code))
        return {
            "screening_id": sid,
            "decision": a.decision,
            "sector": a.sector,
            "reason_code": a.reason_code,
            "until": None if a.until is None else a.until.isoformat(),
            "until_condition": a.until_condition,
            "benefit": a.benefit,
            "explanation": a.explanation,
            "rulepack_version": self.screener.pack.version,
        }

    def _incentive_sectors(self) -> frozenset[str]:
        """The sectors some scoring incentive names (the scoring document is read once per
        rule pack): only these reach the published grades, so ticket sales never do."""
        return scoring_document(self.reg.pack).incentive_sectors

    def _grade_benefit(self, subject_id: str, sector: str, day: dt.date) -> str | None:
        """An incentive the subject's published grade earns in this sector, if any."""
        cfg = scoring_document(self.reg.pack)
        return published_benefit(self.reg.read_engine, cfg, subject_id, sector, day)

    def _row(
        self, sid: str, who: KeyInfo, subject: str, req: Request, decision: str, reason: str | None
    ) -> Row:
        return (  # in the order of SCREENING_COLUMNS
            sid,
            time.time(),  # Unix time: the log writer makes it a datetime
            who.party.code,
            subject,
            req.sector,
            req.purpose,
            req.reference,
            decision,
            reason,
            self.screener.pack.version,
        )

    # --- a manifest (socialcredit.screening.batch) ----------------------------------------

    def screen_rows(
        self,
        who: KeyInfo | None,
        rows: Iterable[Request | RegistryError],
        log_rows: bool = True,
        start: int = 1,
    ) -> Iterator[dict[str, Any]]:
        """Answers in the order of ``rows``; a bad row (or an error given in its place) gets
        ``{"row": n, "error": ..., "message": ...}`` and the rest are screened. ``who`` None
        is the operator's offline screening: every sector, the name checked when given."""
        return batch.screen_rows(self, who, rows, log_rows, start)
