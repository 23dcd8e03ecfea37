"""Durable timers: the database is the source of truth, APScheduler only drives the sweep.

* ``arm(session, key, due_at, kind, …)`` writes (or re-arms) a timer in the caller's transaction,
  so a deadline exists exactly when the state change that set it committed; ``arm_many`` arms
  several in one statement. ``cancel`` is one call too. Timers are addressed by ``key``
  (e.g. ``offer:42``), not by id.
* ``TimerSweep.sweep_once()`` claims due timers (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; the
  write gate makes the process the only writer on SQLite) and, in the same transaction, turns each
  into an inbox event (channel ``timer``, type = the timer's kind). From there a firing is just
  another event for the dispatcher: ordered per conversation, retried, parked if it keeps failing.
* A late timer fires late, never not at all: the sweep takes everything due, however overdue.
* On time, not up to a tick late: after each sweep the earliest armed deadline is read, and if it
  comes before the next tick a one-off sweep is planned for it (no sooner than ``min_gap`` after
  this one, so a burst of deadlines is taken in batches, not one sweep per timer), up to
  ``spread`` seconds after it at random: replicas all read the same deadline, and without it the
  same one won every race for it (40 of 40 offer timeouts in a test of two bot processes).
* The inbox dedupe key ``timer:<id>:<generation>`` makes a firing idempotent even if a claim
  were repeated; ``fire_count`` and ``fired_by`` record who fired it, for audits and tests.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
from datetime import UTC, datetime, timedelta
from typing import Any, Iterable, NamedTuple

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.db import WriteGate, built_once, dialect_insert, write_session
from models.keys import timer_conversation, timer_dedupe
from models.messages import TIMER, Event, inbox_row
from models.queues import inbox_insert
from models.timer import Timer
from scheduler.clock import Clock

log = logging.getLogger("scheduler.timers")

ARMED, FIRED, CANCELLED = "armed", "fired", "cancelled"
_TIMERS = Timer.__table__


class Arming(NamedTuple):
    """One timer to arm: ``arm_many`` takes several in one statement."""
    key: str
    due_at: datetime
    kind: str
    payload: dict[str, Any] | None = None
    conversation_key: str | None = None  # None: ``timer_conversation(key)``, or kept on re-arm


async def arm(session: AsyncSession, key: str, due_at: datetime, kind: str, *,
              payload: dict[str, Any] | None = None, conversation_key: str | None = None,
              now: datetime) -> None:
    """Arm ``key`` to fire at ``due_at`` (re-arming replaces the previous deadline)."""
    await arm_many(session, [Arming(key, due_at, kind, payload, conversation_key)], now=now)


async def arm_many(session: AsyncSession, timers: Iterable[Arming], *, now: datetime) -> None:
    """Arm (or re-arm) each timer: one ``INSERT … ON CONFLICT (key) DO UPDATE`` per kind of
    row (with or without its own conversation key), not a locking read and a write per timer.
    A re-arm takes the new deadline, kind and payload, becomes ``armed`` again and bumps its
    generation (the firing's dedupe key); the upsert is atomic, so two transactions arming the
    same new key cannot both insert it. A key given twice keeps the last."""
    latest = {t.key: t for t in timers}
    for explicit in (True, False):
        rows = [{"key": t.key, "kind": t.kind, "due_at": t.due_at, "payload": t.payload or {},
                 "conversation_key": t.conversation_key or timer_conversation(t.key),
                 "status": ARMED, "generation": 1, "fire_count": 0,
                 "created_at": now, "updated_at": now}
                for t in latest.values() if bool(t.conversation_key) is explicit]
        if rows:
            await session.execute(_upsert(session, explicit), rows)


def _upsert(session: AsyncSession, explicit: bool) -> Any:
    return built_once(session, ("timers-upsert", explicit), lambda: _make_upsert(session, explicit))


def _make_upsert(session: AsyncSession, explicit: bool) -> Any:
    ins = dialect_insert(session, _TIMERS)
    new = ins.excluded
    keep = {"conversation_key": new.conversation_key} if explicit else {}
    return ins.on_conflict_do_update(index_elements=["key"], set_={
        "kind": new.kind, "due_at": new.due_at, "payload": new.payload, **keep,
        "status": ARMED, "generation": _TIMERS.c.generation + 1, "updated_at": new.updated_at})


async def cancel(session: AsyncSession, key: str, *, now: datetime) -> bool:
    """Cancel an armed timer. True if one was armed."""
    res = await session.execute(update(Timer).where(Timer.key == key, Timer.status == ARMED)
                                .values(status=CANCELLED, updated_at=now))
    return bool(res.rowcount)


def timer_event(t: Timer) -> Event:
    return Event(TIMER, "event", t.kind, "", t.conversation_key, timer_dedupe(t.id, t.generation),
                 {"timer_key": t.key, "due_at": t.due_at.isoformat(), "data": t.payload})


def seconds_until_next_sweep(next_due: datetime | None, now: datetime, interval: float,
                             min_gap: float) -> float | None:
    """When to sweep again for ``next_due``, the earliest armed deadline: None when the regular
    tick (every ``interval`` seconds) comes first, else in ``min_gap`` seconds or more."""
    if next_due is None:
        return None
    wait = (next_due - now).total_seconds()
    return None if wait >= interval else max(wait, min_gap)


class TimerSweep:
    min_gap = 0.1  # seconds between two sweeps, at the least
    spread = 0.05  # seconds a planned sweep may come after its deadline (see the module)

    def __init__(self, sessionmaker: async_sessionmaker, clock: Clock, *,
                 gate: WriteGate | None = None, batch: int = 1000,
                 on_fired: Any = None, name: str | None = None) -> None:
        self.sm = sessionmaker
        self.clock = clock
        self.gate = gate
        self.batch = batch
        self.on_fired = on_fired
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.fired = 0
        self._scheduler = None
        self._interval = 1.0
        self._lock = asyncio.Lock()
        self._stopping = False
        self._inflight: set[asyncio.Future[None]] = set()

    async def sweep_once(self) -> int:
        """Fire every due timer (in batches). Returns how many this process fired."""
        total = 0
        async with self._lock:  # one sweep at a time in this process
            while True:
                n = await self._sweep_batch()
                total += n
                if n < self.batch or self._stopping:  # each batch commits: stop between them
                    break
        if total and self.on_fired:
            self.on_fired()
        return total

    async def _sweep_batch(self) -> int:
        """Claim up to ``batch`` due timers and put them into the inbox: three statements for
        the whole batch (select, insert, one ``UPDATE … WHERE id IN``), not one per timer."""
        now = self.clock.now()
        async with write_session(self.sm, self.gate) as session:
            due = list((await session.execute(
                select(Timer).where(Timer.status == ARMED, Timer.due_at <= now)
                .order_by(Timer.due_at, Timer.id).limit(self.batch)
                .with_for_update(skip_locked=True))).scalars())
            if not due:
                return 0
            await inbox_insert(session, [inbox_row(timer_event(t), now) for t in due])
            await session.execute(
                update(Timer).where(Timer.id.in_([t.id for t in due]))
                .values(status=FIRED, fired_at=now, fired_by=self.name,
                        fire_count=Timer.fire_count + 1, updated_at=now)
                .execution_options(synchronize_session=False))
            late = [t for t in due if (now - t.due_at).total_seconds() > 60]
            if late:
                log.warning("%d timer(s) fired late, up to %.0fs (%s …)", len(late),
                            max((now - t.due_at).total_seconds() for t in late), late[0].key)
        self.fired += len(due)
        return len(due)

    async def next_due(self) -> datetime | None:
        """The earliest deadline of an armed timer (None: nothing armed); one indexed read."""
        async with self.sm() as session:
            return (await session.execute(
                select(func.min(Timer.due_at)).where(Timer.status == ARMED))).scalar()

    # -- APScheduler drives the sweep -------------------------------------------------------

    def start(self, interval_seconds: float = 1.0) -> None:
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        self._interval = interval_seconds
        self._stopping = False
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        self._scheduler.add_job(self.tick, "interval", seconds=interval_seconds,
                                id="timer-sweep", max_instances=1, coalesce=True,
                                misfire_grace_time=None)
        self._scheduler.start()

    async def tick(self) -> None:
        """One sweep whose failure is logged, not raised: the next tick tries again. Then,
        if a deadline comes before the next tick, a one-off sweep is planned for it.

        The sweep runs in a task of its own that a stop waits for and nothing cancels. A
        transaction cancelled between statements or in its commit on PostgreSQL leaves its
        connection open inside the transaction (SQLAlchemy: "non-checked-in connection …
        INTRANS … will be dropped"), holding the claimed timers' row locks until the garbage
        collector drops it: whatever waits for one of those rows (an offer's answer cancels
        its timeout) waits until then; and a cancellation can be lost inside the driver's wait
        (bot/loop.py ``WakeableLoop.stop``)."""
        if self._stopping:
            return
        sweep = asyncio.ensure_future(self._tick())
        self._inflight.add(sweep)
        sweep.add_done_callback(self._inflight.discard)
        try:
            await asyncio.shield(sweep)
        except asyncio.CancelledError:
            # APScheduler's shutdown cancels the job that waits here; the sweep goes on and
            # stop() waits for it. Not an error (APScheduler would log it as one).
            log.debug("timer sweep left to finish by shutdown")

    async def _tick(self) -> None:
        try:
            await self.sweep_once()
            if self._scheduler is not None:
                self._plan(seconds_until_next_sweep(await self.next_due(), self.clock.now(),
                                                    self._interval, self.min_gap))
        except Exception:
            log.exception("timer sweep failed; the next tick tries again")

    def _plan(self, seconds: float | None) -> None:
        """Plan the one-off sweep in ``seconds`` (None: the regular tick will do)."""
        if self._scheduler is None:
            return
        if seconds is None:
            if self._scheduler.get_job("timer-sweep-soon") is not None:
                self._scheduler.remove_job("timer-sweep-soon")
            return
        # APScheduler keeps real time
        run_at = datetime.now(UTC) + timedelta(seconds=seconds + random.uniform(0, self.spread))
        self._scheduler.add_job(self.tick, "date", run_date=run_at, id="timer-sweep-soon",
                                replace_existing=True, misfire_grace_time=None)

    async def stop(self) -> None:
        """No sweep starts any more; one in flight finishes (commits or rolls back whole)."""
        self._stopping = True
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        while self._inflight:
            await asyncio.gather(*self._inflight)
