"""Point-of-sale screening: the index built from the store, kept fresh, and asked.

:class:`Screener` owns what a screening server holds in memory: the deny index, the benefit
index, the name table and the API keys. It is built by assessing, with the pure restriction
engine, every subject that has records (and every legal representative bound by an
enterprise's record), or restored from a snapshot and caught up from the change feeds. The
web routes, ``socialcredit check`` and ``socialcredit screen`` all answer through
:meth:`Screener.decide` / :meth:`Screener.decide_many`, so the three paths cannot disagree.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from socialcredit.domain.identity import SubjectKind, id_key, parse_subject_id
from socialcredit.domain.records import RecordEvent
from socialcredit.domain.restrictions import UNTIL_PAID, UNTIL_REMOVED
from socialcredit.domain.rules import Effect, RulePack, TermKind
from socialcredit.errors import InvalidInput
from socialcredit.registry import (
    Feed,
    all_subject_names,
    events_by_subject,
    subject_names,
)
from socialcredit.runtime.registry import Registry
from socialcredit.screening import (
    IndexHolder,
    Schema,
    ScreeningIndex,
    Verdict,
    load_index,
    save_index,
    subject_ref,
)
from socialcredit.screening.benefits import benefit_schema
from socialcredit.screening.bulk import BulkAssessor, collector_paused, compile_entries, parse_many
from socialcredit.screening.ids import FastId, fast_id
from socialcredit.screening.names import NameTable
from socialcredit.screening.parties import KeyInfo, load_keys

log = logging.getLogger(__name__)

SNAPSHOT_FORMAT = 3  # 2: the name table a retrieval filter; 3: its names hashed by namehash
# Stored IDs are parsed again and again (every delta re-assesses its subjects): trusted,
# fast, as arrays (screening/bulk.py, stored_ids.py), the full parse only for what does not fit.
KEYS_RELOAD_S = 1.0
LOG_DELTA_AT = 10_000  # subjects in one delta: its timings are logged


@dataclass(frozen=True)
class Answer:
    """One screening decision, as much as a relying party may learn."""

    decision: str  # allow | deny
    sector: str
    reason_code: str | None
    until: dt.date | None
    until_condition: str | None
    benefit: str | None
    explanation: str


def _stored_kind(kind: str) -> SubjectKind:
    return SubjectKind.ENTERPRISE if kind == SubjectKind.ENTERPRISE.value else SubjectKind.PERSON


def _conditions(pack: RulePack) -> dict[str, str]:
    """Reason code -> the condition that ends an open-ended restriction with it."""
    out: dict[str, set[str]] = {}
    for c in pack.categories.values():
        if c.term.kind is TermKind.UNTIL_PAID:
            out.setdefault(c.reason_code, set()).add(UNTIL_PAID)
        elif c.term.kind is TermKind.UNTIL_REMOVED:
            out.setdefault(c.reason_code, set()).add(UNTIL_REMOVED)
    return {k: "; ".join(sorted(v)) for k, v in out.items()}


def _list_names(pack: RulePack) -> dict[str, str]:
    return {c.reason_code: pack.lists[c.list_id].name for c in pack.categories.values()}


@dataclass
class Screener:
    pack: RulePack
    deny: IndexHolder
    benefits: IndexHolder
    names: NameTable
    feed: Feed
    built_on: dt.date
    build_seconds: float = 0.0
    source: str = "built"  # built | snapshot
    keys: Mapping[str, KeyInfo] = field(default_factory=dict)
    keys_loaded: float = 0.0
    _conditions: dict[str, str] = field(default_factory=dict)
    _lists: dict[str, str] = field(default_factory=dict)
    _allowed: dict[tuple[str, dt.date], Answer] = field(default_factory=dict)
    last_delta: tuple[int, int] = (0, 0)  # subjects redone, engine runs (distinct shapes)

    def __post_init__(self) -> None:
        self._conditions = _conditions(self.pack)
        self._lists = _list_names(self.pack)
        self.schema = self.deny.current.schema
        self.bschema = self.benefits.current.schema
        # The sectors an incentive can apply in: the rule pack's benefit measures. Any other
        # sector (a ticket sale) skips the benefits index.
        self._benefit_bits = 0
        for memo in self.pack.memoranda:
            for m in memo.measures:
                if m.effect is Effect.BENEFIT:
                    self._benefit_bits |= 1 << self.bschema.bit(m.sector)

    # --- building -------------------------------------------------------------------------

    @classmethod
    def build(cls, reg: Registry, on: dt.date | None = None) -> Screener:
        """Assess every subject with records on ``on`` (default today) and compile."""
        t = time.perf_counter()
        day = on or reg.today()
        with collector_paused():
            with reg.read_engine.connect() as conn:
                feed = Feed.current(conn)  # marks first: what commits meanwhile is replayed
                events = events_by_subject(conn)
                names = NameTable.build(
                    (id_key(i, _stored_kind(k)), n) for i, k, n in all_subject_names(conn)
                )
            deny, ben = compile_entries(reg, events, day)
            del events
        s = cls(
            reg.pack,
            IndexHolder(ScreeningIndex.from_entries(Schema.from_pack(reg.pack), deny)),
            IndexHolder(ScreeningIndex.from_entries(benefit_schema(reg.pack), ben)),
            names,
            feed,
            day,
        )
        s.build_seconds = time.perf_counter() - t
        return s

    @classmethod
    def open(cls, reg: Registry, snapshot: Path | None = None) -> Screener:
        """Restore ``snapshot`` and catch up from the change feeds, or build from scratch."""
        if snapshot is not None and (snapshot / "state.json").is_file():
            try:
                s = cls.restore(reg, snapshot)
                s.refresh(reg)
                return s
            except Exception:
                log.exception("screening snapshot %s unusable; rebuilding", snapshot)
        return cls.build(reg)

    def save(self, path: Path) -> Path:
        """Snapshot the indexes, the name table and the feed marks (written then renamed)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        save_index(self.deny.current, path / "deny")
        save_index(self.benefits.current, path / "benefits")
        names = self.names.compacted()
        for k, v in names.arrays().items():
            np.save(path / f"names_{k}.npy", v, allow_pickle=False)
        state = {
            "format": SNAPSHOT_FORMAT,
            "rulepack_version": self.pack.version,
            "built_on": self.built_on.isoformat(),
            "feed": self.feed.to_dict(),
            "names": names.meta(),
            "name_arrays": sorted(names.arrays()),
        }
        tmp = path / "state.json.tmp"
        tmp.write_text(json.dumps(state), "utf-8")
        tmp.replace(path / "state.json")
        return path

    @classmethod
    def restore(cls, reg: Registry, path: Path) -> Screener:
        t = time.perf_counter()
        state = json.loads((path / "state.json").read_text("utf-8"))
        if state["format"] != SNAPSHOT_FORMAT or state["rulepack_version"] != reg.pack.version:
            raise ValueError("snapshot is for another format or rule pack")
        built_on = dt.date.fromisoformat(state["built_on"])
        if reg.today() < built_on:
            raise ValueError("snapshot was built on a later day than today")
        deny, ben = load_index(path / "deny"), load_index(path / "benefits")
        if deny.schema != Schema.from_pack(reg.pack) or ben.schema != benefit_schema(reg.pack):
            raise ValueError("snapshot schema differs from the rule pack's")
        # Mapped like the index: every worker process on the host shares the page cache.
        arrays = {
            k: np.load(path / f"names_{k}.npy", mmap_mode="r").view(np.ndarray)
            for k in state["name_arrays"]
        }
        names = NameTable.from_arrays(state["names"], arrays)
        s = cls(
            reg.pack,
            IndexHolder(deny),
            IndexHolder(ben),
            names,
            Feed.from_dict(state["feed"]),
            built_on,
            source="snapshot",
        )
        s.build_seconds = time.perf_counter() - t
        return s

    # --- staying fresh --------------------------------------------------------------------

    def refresh(self, reg: Registry, force_keys: bool = False) -> int:
        """Apply what changed since the last call; returns the number of subjects redone."""
        with collector_paused():
            return self._refresh(reg, force_keys)

    def _refresh(self, reg: Registry, force_keys: bool) -> int:
        t0 = time.perf_counter()
        with reg.read_engine.connect() as conn:
            if force_keys or time.monotonic() - self.keys_loaded >= KEYS_RELOAD_S:
                self.keys = load_keys(conn)
                self.keys_loaded = time.monotonic()
            changed = self.feed.changed_subjects(conn)
            fresh = self.feed.new_subjects(conn)
            if changed:
                events = events_by_subject(conn, changed)
                # Subject rows are written once: those new_subjects read need no second read.
                fresh += subject_names(conn, changed.difference(i for i, _, _ in fresh))
        # A subject can come by both reads: the last of each (key, name) is enough (the
        # latest name per key wins either way), then one vectorised pass over the table.
        t1 = time.perf_counter()
        pairs = dict.fromkeys((id_key(i, _stored_kind(k)), n) for i, k, n in reversed(fresh))
        news = self.names.renamed(list(pairs)[::-1])
        if news:
            self.names = self.names.with_hashes(news)
        if not changed:
            return 0
        t2 = time.perf_counter()
        self.apply(reg, changed, events)
        if len(changed) >= LOG_DELTA_AT:
            t3 = time.perf_counter()
            log.info(
                "delta of %d subjects in %.2f s: read %.2f s, names %.2f s, assessed and "
                "swapped in %.2f s (%d distinct shapes assessed)",
                len(changed), t3 - t0, t1 - t0, t2 - t1, t3 - t2, self.last_delta[1],
            )  # fmt: skip
        return len(changed)

    def apply(
        self, reg: Registry, subjects: Iterable[str], events: Mapping[str, list[RecordEvent]]
    ) -> None:
        """Re-assess ``subjects`` today and swap their entries in (or out)."""
        bulk = BulkAssessor(reg.pack, reg.calendar, reg.today(), self.schema, self.bschema)
        deny_up, ben_up, removals = [], [], []
        raws = list(subjects)
        for raw, sid in zip(raws, parse_many(raws), strict=True):
            if sid is None:
                log.warning("change feed names %r, not a valid subject id; skipped", raw)
                continue
            d, b = bulk.entries(sid, events.get(sid.value, []))
            removals.append(subject_ref(sid))
            if d is not None:
                deny_up.append(d)
            if b is not None:
                ben_up.append(b)
        # Removing then upserting the same subject in one delta: with_changes applies
        # removals first, so an upsert wins and a subject with nothing left goes away.
        self.deny.apply(deny_up, removals)
        self.benefits.apply(ben_up, removals)
        self.last_delta = (bulk.hits + bulk.misses, bulk.misses)

    # --- answering ------------------------------------------------------------------------

    def name_ok(self, fid: FastId, name: str) -> bool:
        return self.names.matches(fid.key, name)

    def verdict(self, fid: FastId, bit: int, day: dt.date | int) -> tuple[Verdict, str | None]:
        v = self.deny.current.check(fid.key, bit, day, fid.code)
        if v.deny or not (self._benefit_bits >> bit) & 1:
            return v, None
        b = self.benefits.current.check(fid.key, bit, day, fid.code)
        return v, b.reason_code if b.deny else None

    def answer(self, sector: str, v: Verdict, benefit: str | None, day: dt.date) -> Answer:
        if not v.deny and benefit is None:  # most answers: one (frozen) object a sector a day
            got = self._allowed.get((sector, day))
            if got is None:
                if len(self._allowed) > 4096:
                    self._allowed.clear()
                text = f"Allowed: no restriction applies in {sector} on {day.isoformat()}."
                got = self._allowed[(sector, day)] = Answer(
                    "allow", sector, None, None, None, None, text
                )
            return got
        if not v.deny:
            text = f"Allowed: no restriction applies in {sector} on {day.isoformat()}."
            if benefit:
                text += f" Incentive applies: {benefit}."
            return Answer("allow", sector, None, None, None, benefit, text)
        reason = v.reason_code or "restricted"
        cond = None if v.until is not None else self._conditions.get(reason, UNTIL_REMOVED)
        until = f"until {v.until.isoformat()}" if v.until is not None else cond
        listed = self._lists.get(reason, reason)
        text = (
            f"Denied in {sector} ({reason}: {listed}) {until}; the subject may object to the "
            "registry quoting the screening id."
        )
        return Answer("deny", sector, reason, v.until, cond, None, text)

    def decide(self, raw_id: str, name: str | None, sector: str, day: dt.date) -> Answer:
        """The decision for one subject; ``name`` None skips the name check (operator use)."""
        bit = self.sector_bit(sector)
        fid = self.identify(raw_id, name)
        v, b = self.verdict(fid, bit, day)
        return self.answer(sector, v, b, day)

    def sector_bit(self, sector: str, field_name: str = "sector") -> int:
        try:
            return self.schema.bit(sector)
        except KeyError:
            raise InvalidInput.one(
                field_name, f"not a sector of rule pack {self.pack.version}", sector
            ) from None

    def identify(self, raw_id: str, name: str | None, field_name: str = "subject_id") -> FastId:
        """The subject's key, with its name confirmed; 422 for a bad ID or a wrong name.

        An unknown ID and a wrong name get the same answer: the reply says nothing about
        whether the ID is registered, let alone listed.
        """
        fid = fast_id(raw_id)
        if fid is not None and (name is None or self.name_ok(fid, name)):
            return fid
        sid = parse_subject_id(raw_id, field=field_name)  # raises the precise ID error
        fid = FastId(sid.value, sid.key, subject_ref(sid)[1])
        if name is None or self.name_ok(fid, name):
            return fid
        raise InvalidInput.one(
            "name", "does not match the registry's name for this subject_id", name
        )

    def stats(self) -> dict[str, Any]:
        idx = self.deny.current
        return {
            "source": self.source,
            "build_seconds": round(self.build_seconds, 4),
            "built_on": self.built_on.isoformat(),
            "restricted_subjects": idx.size + len(idx.changes),
            "index_bytes": idx.nbytes,
            "names": self.names.size,
            "name_table_bytes": self.names.nbytes,
            "benefit_subjects": self.benefits.current.size + len(self.benefits.current.changes),
            "feed": self.feed.to_dict()["marks"],
        }


def default_snapshot(reg: Registry) -> Path | None:
    """``SOCIALCREDIT_SNAPSHOT_DIR`` if set; else beside a SQLite file: ``<db>.screening/``;
    none for PostgreSQL or in-memory SQLite."""
    if reg.settings.snapshot_dir is not None:
        return Path(reg.settings.snapshot_dir)
    url = reg.engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).with_name(Path(url.database).name + ".screening")
