"""The technician pool kept between placements: read once per process, then kept current from
the database's change feed (models/pool_feed.py), so a placement reads no technician rows.

* **What moves a technician** — their staff row (import, location, shifts, leave, skills,
  active), a ticket they hold (accept, completion, hand-back: load; a customer's score:
  rating) and an accepted offer (response speed, jobs today) — is recorded by database triggers
  under a new ``pool_version``, whichever process or command made the change. Before each
  placement the cache compares its version with the database's (one single-row query): equal,
  nothing is read; else the technicians changed since are read again (their row and their
  counters, ``IN (…)`` of just them) and updated in place in the engine's index.
* **What moves with time alone** is derived here from what was read: the response median
  counts accepts of the last ``RESPONSE_DAYS`` (an accept leaving that window re-derives that
  technician only, from a heap of expiries) and jobs today restart at midnight in Shanghai.
  Shifts and leave are checked by the engine at ranking time, so a shift's edge needs nothing.
* The cache reads the **committed** state on its own short session, never the handler's
  transaction: what it holds is never something that may still roll back. The engine's scoring
  weights are passed to each ranking, so a config change needs no rebuild; the whole pool is
  read again only on first use, when this process fell more than ``KEEP`` changes behind, or
  when the database's version went back (a restore, a truncate).

One cache per engine (a process may hold several databases); placements share it under one
lock, so a burst of placements costs one refresh.
"""

from __future__ import annotations

import asyncio
import gc
import heapq
import logging
import weakref
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from handlers.dispatch.engine import TechnicianIndex
from handlers.dispatch.engine.model import Technician
from handlers.dispatch.pool import RESPONSE_DAYS, YIELD_EVERY, Pool, _windows, technician_of
from models.pool_feed import (accepts_of, changed_since, counters_of, pool_version, staff_rows,
                              warm)

log = logging.getLogger("handlers.dispatch.pool_cache")

FREEZE_FROM = 2_000  # technicians: a pool read this large is frozen out of the collector's sight

Accept = tuple[datetime, float, bool]  # answered_at, seconds to accept, counts for the median


class PoolCache:
    def __init__(self, engine: AsyncEngine) -> None:
        self.bind(engine)
        self.lock = asyncio.Lock()
        self.version = -1  # nothing read yet
        self.rows: dict[str, Any] = {}  # staff rows by userid
        self.order: dict[str, int] = {}  # userid -> staff id (the index's order)
        self.loads: dict[str, int] = {}
        self.scores: dict[str, tuple[float, int]] = {}
        self.accepts: dict[str, list[Accept]] = {}
        self.techs: dict[str, Technician] = {}
        self.index: TechnicianIndex | None = None
        self.floor: datetime | None = None  # accepts are held from this moment on
        self.at: datetime | None = None  # the moment the counters are derived for
        self.expiries: list[tuple[datetime, str]] = []  # when a held accept leaves the window
        self.expiry_of: dict[str, datetime] = {}  # the live entry of each technician's in it
        self.full_reads = 0
        self.refreshed = 0  # technicians read again since the full read (for tests and bench)

    # -- the one entry point ------------------------------------------------------------------

    async def current(self, now: datetime, session: Any = None) -> Pool:
        """The pool as committed now, its time-derived counters as of ``now``.

        ``session``: the event's own (open) transaction, where the version is checked at no
        extra connection's cost. It may see its own uncommitted changes, so it only decides
        whether anything is new: what is read then, and the version the cache records, come
        from a connection of the cache's own, which sees committed rows only."""
        if (session is not None and self.version >= 0 and not self.lock.locked()
                and not self._behind(now) and await pool_version(session) == self.version
                and not self.lock.locked()):
            self._advance(now)
            return self._pool()
        async with self.lock:
            async with self.engine.connect() as s:  # committed state; rolled back on exit
                if self.version < 0 or self._behind(now):
                    await self._read_all(s, now)
                else:
                    feed = await changed_since(s, self.version)
                    if feed is None:
                        await self._read_all(s, now)
                    elif feed[1]:
                        await self._read_some(s, feed[1], now)
                        self.version = feed[0]
            self._advance(now)
            return self._pool()

    def bind(self, engine: AsyncEngine) -> None:
        """Read through ``engine``, held weakly: the process's registry (``cache_for``) is
        keyed weakly on the engine, and a strong reference from its value would keep every
        engine a process ever opened (with its compiled statements) alive for good."""
        self._engine = weakref.ref(engine)

    @property
    def engine(self) -> AsyncEngine:
        engine = self._engine()
        if engine is None:
            raise RuntimeError("the pool cache's database engine is gone")
        return engine

    def _pool(self) -> Pool:
        assert self.index is not None
        return Pool(self.index.technicians, self.rows, self.index)

    # -- reading ------------------------------------------------------------------------------

    def _behind(self, now: datetime) -> bool:
        """Time went back before what is held (a test's clock, a restored database)."""
        return self.floor is None or min(_windows(now)) < self.floor

    async def _read_all(self, s: AsyncConnection, now: datetime) -> None:
        self.full_reads += 1
        version = await pool_version(s)  # first: a change meanwhile is read again next time
        floor = min(_windows(now))
        staff = await staff_rows(s)
        counters = await counters_of(s)
        await warm(s, floor)
        self.loads = {who: load for who, (load, _) in counters.items()}
        self.scores = {who: score for who, (_, score) in counters.items() if score}
        self.accepts = {}
        for who, offered, answered, mode in await accepts_of(s, floor):
            self._hold(who, offered, answered, mode)
        self.rows = {r.userid: r for r in staff}
        self.order = {r.userid: r.id for r in staff}
        self.floor, self.at, self.techs = floor, now, {}
        self.expiries, self.expiry_of = [], {}
        for i, r in enumerate(staff):
            if i and not i % YIELD_EVERY:
                await asyncio.sleep(0)  # let other events run between chunks of the conversion
            self._convert(r.userid, now)
        self.index = TechnicianIndex.build(self._ordered())
        self.version = version
        if len(self.techs) >= FREEZE_FROM:
            _freeze()
        log.info("technician pool read: %d technicians, version %d", len(self.techs), version)

    async def _read_some(self, s: AsyncConnection, who: set[str], now: datetime) -> None:
        rows = {r.userid: r for r in await staff_rows(s, who)}
        counters = await counters_of(s, who)
        accepts = await accepts_of(s, self.floor, who)  # type: ignore[arg-type]
        for u in who:
            self.accepts.pop(u, None)
        for w, offered, answered, mode in accepts:
            self._hold(w, offered, answered, mode)
        member_change = False
        for u in who:
            load, score = counters.get(u, (0, None))
            self.loads[u] = load
            self.scores.pop(u, None)
            if score:
                self.scores[u] = score
            if u in rows:
                self.rows[u] = rows[u]
                member_change |= self.order.get(u) != rows[u].id
                self.order[u] = rows[u].id
            elif u in self.rows:
                del self.rows[u], self.order[u]
                member_change = True
            was = u in self.techs
            self._convert(u, now)
            member_change |= was != (u in self.techs)
            self.refreshed += 1
        assert self.index is not None
        if member_change:  # joined, left or renumbered: rebuild from what is held (no SQL)
            self.index = TechnicianIndex.build(self._ordered())
        else:
            for u in who:
                if u in self.techs:
                    self.index.replace(self.techs[u])

    def _hold(self, who: str, offered: datetime, answered: datetime, mode: str) -> None:
        wait = (answered - offered).total_seconds()
        self.accepts.setdefault(who, []).append((answered, wait, mode != "manual"))

    def _ordered(self) -> list[Technician]:
        return [self.techs[u] for u in sorted(self.techs, key=self.order.__getitem__)]

    # -- deriving -----------------------------------------------------------------------------

    def _counters(self, who: str, now: datetime) -> tuple[float | None, int]:
        """(median seconds to accept, jobs today) as ``accept_stats`` derives them at ``now``;
        and the moment this technician's median next changes by time alone is queued."""
        since, day_start = _windows(now)
        held = self.accepts.get(who, ())
        waits = [w for at, w, timed in held if timed and at >= since]
        today = sum(1 for at, _, _ in held if at >= day_start)
        leaving = [at for at, _, timed in held if timed and at >= since]
        if leaving:
            expiry = min(leaving) + timedelta(days=RESPONSE_DAYS)
            if self.expiry_of.get(who) != expiry:
                self.expiry_of[who] = expiry
                heapq.heappush(self.expiries, (expiry, who))
        else:
            self.expiry_of.pop(who, None)
        return (float(median(waits)) if waits else None), today

    def _convert(self, who: str, now: datetime) -> None:
        """Technician ``who`` as the engine sees them at ``now`` (or out of the pool)."""
        row = self.rows.get(who)
        self.techs.pop(who, None)
        if row is None:
            return
        med, today = self._counters(who, now)
        tech = technician_of(row, self.loads.get(who, 0), med, today, self.scores.get(who))
        if tech is not None:
            self.techs[who] = tech

    def _advance(self, now: datetime) -> None:
        """Bring the counters time alone moves to ``now``."""
        assert self.at is not None and self.index is not None
        if now < self.at or _windows(now)[1] != _windows(self.at)[1]:
            # a new day (jobs today restart) or time went back: every technician with accepts
            self.expiries, self.expiry_of = [], {}
            moved = set(self.accepts)
        else:
            moved = set()
            while self.expiries and self.expiries[0][0] <= now:
                at, who = heapq.heappop(self.expiries)
                if self.expiry_of.get(who) == at:  # else a later entry replaced it
                    del self.expiry_of[who]
                    moved.add(who)
        self.at = now
        rebuild = False
        for who in moved:
            before = self.techs.get(who)
            self._convert(who, now)
            after = self.techs.get(who)
            if (before is None) != (after is None):
                rebuild = True
            elif after is not None and after != before:
                self.index.replace(after)
        if rebuild:
            self.index = TechnicianIndex.build(self._ordered())
        floor = min(_windows(now)) - timedelta(days=1)
        if self.floor is not None and floor > self.floor + timedelta(days=1):
            self._forget(floor)

    def _forget(self, floor: datetime) -> None:
        """Drop accepts older than any window still needed (the clock only moves on)."""
        self.floor = floor
        for who in list(self.accepts):
            kept = [a for a in self.accepts[who] if a[0] >= floor]
            if kept:
                self.accepts[who] = kept
            else:
                del self.accepts[who]


def _freeze() -> None:
    """Move everything alive now, the pool just read above all, out of the cyclic garbage
    collector's passes (``gc.freeze``). 100,000 technicians are millions of tracked objects
    (rows, their JSON, the engine's values) that each older-generation pass walked: 40-60 ms
    pauses, the placements' p99 (bench/dispatch_live.py). Nothing in the pool is cyclic, so
    reference counting still frees it when a later full read replaces it. The young
    generations' garbage is collected first (a full collection first would walk the whole heap:
    seconds at 100,000); a cycle that became garbage since the last full pass stays, once."""
    gc.collect(1)
    gc.freeze()


_caches: "weakref.WeakKeyDictionary[Any, PoolCache]" = weakref.WeakKeyDictionary()


def cache_for(engine: AsyncEngine) -> PoolCache:
    """The process's pool cache for this database engine."""
    key = engine.sync_engine
    cache = _caches.get(key)
    if cache is None:
        cache = _caches[key] = PoolCache(engine)
    elif cache._engine() is not engine:
        cache.bind(engine)  # another handle on the same database
    return cache


async def current_pool(session: Any, now: datetime) -> Pool:
    """The kept pool of ``session``'s database, current as committed (see the module)."""
    return await cache_for(session.bind).current(now, session)
