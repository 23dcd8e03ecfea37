"""The inbox worker: events leave the inbox in arrival order per conversation.

The worker knows no use case: it is handed a ``Feed`` (main.py wires the handlers' dispatcher)
with two steps per event — ``prepare`` outside any transaction (network reads, text analysis,
reading what the handlers need), then ``handle`` inside the event's one database transaction.
That transaction first claims the event's row (on PostgreSQL ``FOR UPDATE SKIP LOCKED``, so
several bot processes can share one inbox): the handler's changes, the outbox rows of its
replies, the internal events it raised and the event's ``done`` mark commit together, or not at
all. A failing handler's error is recorded on the event and retried with backoff; after
``max_attempts`` the event is parked for a person and the conversation moves on.

**Several events per transaction.** The due heads of different conversations are handled
``batch`` at a time in one write transaction (their prepare steps run first, concurrently),
one after the other: one claim, one ``done`` mark and one commit for the batch instead of one
each. Failures are rare, so no SAVEPOINT is paid per event: when a handler fails, the batch
rolls back whole, that event's failure is recorded (retried with backoff, as alone), and the
rest of the batch goes again (prepared data reused). Events of one conversation are
never in the same batch (only heads are taken), so order per conversation holds. On SQLite,
where write transactions take turns, this is what lets handlers keep up with a burst (a timer
burst drained at ≈135 events/s one per transaction; bench/timer_drain.py).

**A batch gives the write lock up to a waiting ingest after ``hold_seconds``** (SQLite:
main.py sets both): once the transaction has held it that long and ``writer_waiting()`` says
an ingest writer waits (``models.db.writer_waiting``), what is handled commits and the rest
goes on in the next transaction. The ingest — which must store a callback before it may ack —
then waits for one short transaction, not for 32 ticket creations (bench/e2e.py measured
worker transactions of p50 0.3 s, up to 1 s); with nobody waiting the batch goes on (a timer
burst drained at 794 events/s unbounded, 623 with an unconditional 20 ms bound).

**Each round first runs ``intake``** (main.py: the SQLite spool's move, models/spool.py): an
ingest process beside this one stores callbacks in a file of its own, so its acks never wait
for these transactions, and the round moves them into the inbox before it reads the heads.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.logs import event_id_var
from bot.loop import WakeableLoop
from bot.metrics import Metrics
from bot.outbox import distinct_rows, reply_rows
from models.db import WriteGate, write_session
from models.messages import Event, Handled, inbox_row
from models.queues import (backoff, inbox_claim, inbox_claim_many, inbox_due_heads, inbox_insert,
                           inbox_mark_done, inbox_mark_done_many, inbox_record_failure, outbox_add,
                           unwritten_outbox)
from models.tables import InboxEvent
from scheduler.clock import Clock

log = logging.getLogger("bot.worker")
_UNPREPARED = object()  # process(): prepare the event first


class Feed(Protocol):
    """Where events go (the handlers' dispatcher)."""

    async def prepare(self, event: Event) -> Any:
        """Reads and CPU work, before the event's transaction opens (no database held)."""

    async def handle(self, event: Event, session: AsyncSession, prepared: Any) -> Handled:
        """Handle ``event`` in ``session`` (its one transaction); what it said and raised."""


class InboxWorker(WakeableLoop):
    name = "inbox-worker"

    def __init__(self, sessionmaker: async_sessionmaker, feed: Feed, clock: Clock,
                 metrics: Metrics, *, agent_id: int | None = None, max_attempts: int = 5,
                 concurrency: int = 8, batch: int = 32,
                 poll_seconds: float = 1.0, on_outbox: Callable[[], None] | None = None,
                 gate: WriteGate | None = None, hold_seconds: float | None = None,
                 writer_waiting: Callable[[], bool] | None = None,
                 intake: Callable[[], Awaitable[int]] | None = None) -> None:
        super().__init__()
        self.sm = sessionmaker
        self.gate = gate
        self.feed = feed
        self.clock = clock
        self.metrics = metrics
        self.agent_id = agent_id
        self.max_attempts = max_attempts
        self.concurrency = concurrency
        self.batch = batch  # events per write transaction (1: each its own)
        # Held this long, a transaction gives way to a writer waiting (None: nobody can wait).
        self.hold_seconds = hold_seconds
        self.writer_waiting = writer_waiting
        self.poll_seconds = poll_seconds
        self.on_outbox = on_outbox
        # Before each round: what the ingest stored elsewhere moves into the inbox (the SQLite
        # spool, models/spool.py); returns how many events it moved.
        self.intake = intake
        self._intake_failing = False
        self.processed = 0
        # Events whose failure could not even be recorded (the database refused writes): held
        # here for their backoff so a locked database does not turn into a hot retry loop.
        self._held: dict[int, datetime] = {}

    async def run_once(self) -> int:
        """Move what the ingest spooled, then process the due head of every conversation once.
        Returns events moved and attempted."""
        moved = await self._take_in() if self.intake is not None else 0
        now = self.clock.now()
        self._held = {i: t for i, t in self._held.items() if t > now}
        async with self.sm() as session:
            heads = [r for r in await inbox_due_heads(
                session, now, self.concurrency * max(4, min(self.batch, 32)))
                     if r.id not in self._held]
        size = max(1, self.batch)
        # On SQLite write transactions take turns at the gate: more than two batches in flight
        # (one preparing, one writing) only queues them ahead of the timer sweep and the sender.
        single_writer = size > 1 and self.gate is not None and self.gate.enabled
        sem = asyncio.Semaphore(min(self.concurrency, 2) if single_writer else self.concurrency)

        async def one(rows: list[InboxEvent]) -> None:
            async with sem:
                if self._stopping:
                    return
                if len(rows) == 1:
                    await self.process(rows[0])
                else:
                    await self.process_batch(rows)

        await asyncio.gather(*(one(heads[i:i + size]) for i in range(0, len(heads), size)))
        return moved + len(heads)

    async def _take_in(self) -> int:
        """Run ``intake`` once (more waits for the next round); a failure is logged once per
        outage (what it could not move stays where it is and is moved at a later round)."""
        try:
            moved = await self.intake()  # type: ignore[misc]
        except Exception as exc:
            if not self._intake_failing:  # the first line: the rest may quote what people wrote
                log.error("could not move spooled callbacks into the inbox (%s: %s); they stay "
                          "spooled and are moved when this works again", type(exc).__name__,
                          (str(exc).splitlines() or [""])[0][:200])
            self._intake_failing = True
            return 0
        if self._intake_failing:
            log.warning("spooled callbacks are moving into the inbox again")
        self._intake_failing = False
        return moved

    async def drain(self, max_rounds: int = 1000) -> int:
        """Run until nothing is due (tests and shutdown). Returns events attempted."""
        total = 0
        for _ in range(max_rounds):
            n = await self.run_once()
            total += n
            if n == 0:
                break
        return total

    async def process(self, row: InboxEvent, prepared: Any = _UNPREPARED) -> None:
        event = Event.from_row(row)
        token = event_id_var.set(f"in{row.id}")
        try:
            try:
                if prepared is _UNPREPARED:
                    prepared = await self.feed.prepare(event)  # outside the write transaction
                async with write_session(self.sm, self.gate) as session:
                    if await inbox_claim(session, row.id) is None:
                        return  # another bot process is handling it, or already has
                    done = await self.feed.handle(event, session, prepared)
                    now = self.clock.now()
                    out = await distinct_rows(session, reply_rows(
                        event, done.outgoing, agent_id=self.agent_id, now=now), now)
                    await outbox_add(session, out)
                    if done.emitted:  # internal events raised by the handler, same transaction
                        await inbox_insert(session, [inbox_row(e, now) for e in done.emitted])
                    await inbox_mark_done(session, row.id, now)
            except Exception as exc:
                await self._failed(row, exc)
                return
            self.processed += 1
            if out and self.on_outbox:
                self.on_outbox()
            if done.emitted:
                self.wake()
        finally:
            event_id_var.reset(token)

    async def process_batch(self, rows: list[InboxEvent]) -> None:
        """Several conversations' head events in one write transaction (see the module)."""
        events = [Event.from_row(r) for r in rows]
        prepared: list[Any] = list(await asyncio.gather(
            *(self._prepare(r, e) for r, e in zip(rows, events)), return_exceptions=True))
        todo = []
        for r, e, p in zip(rows, events, prepared):
            if isinstance(p, Exception):
                await self._failed(r, p)
            elif isinstance(p, BaseException):
                raise p
            else:
                todo.append((r, e, p))
        while todo:
            todo = await self._handle_batch(todo)

    async def _handle_batch(self, todo: list[tuple[InboxEvent, Event, Any]]
                            ) -> list[tuple[InboxEvent, Event, Any]]:
        """Handle ``todo`` in one transaction. When a handler fails, everything rolls back,
        that event's failure is recorded, and the rest is returned to go again; so is what is
        left when the transaction has held the lock ``hold_seconds`` and a writer waits."""
        handled: list[tuple[InboxEvent, list, Any]] = []
        culprit: InboxEvent | None = None
        left: list[tuple[InboxEvent, Event, Any]] = []
        # What the batch's handlers said and raised, written once after the last of them (in
        # event order): one duplicate check, one outbox INSERT and one inbox INSERT per
        # batch, not per event. A handler that counts the outbox (微信客服's allowance) counts
        # the batch's unwritten rows too (models.queues.unwritten_outbox); none reads the
        # internal events raised in this transaction.
        raised: list[dict[str, Any]] = []
        try:
            async with write_session(self.sm, self.gate) as session:
                said = unwritten_outbox(session)
                started = time.perf_counter()
                mine = await inbox_claim_many(session, [r.id for r, _, _ in todo])
                for i, (row, event, prep) in enumerate(todo):
                    if (handled and self.writer_waiting is not None
                            and time.perf_counter() - started >= (self.hold_seconds or 0)
                            and self.writer_waiting()):
                        left = todo[i:]
                        break
                    if row.id not in mine:
                        continue  # another bot process is handling it, or already has
                    token = event_id_var.set(f"in{row.id}")
                    culprit = row
                    try:
                        done = await self.feed.handle(event, session, prep)
                        now = self.clock.now()
                        out = reply_rows(event, done.outgoing, agent_id=self.agent_id, now=now)
                        said += out
                        raised += [inbox_row(e, now) for e in done.emitted]
                    finally:
                        event_id_var.reset(token)
                    handled.append((row, out, done))
                culprit = None
                if handled:
                    now = self.clock.now()
                    await outbox_add(session, await distinct_rows(session, said, now))
                    said.clear()  # written: the outbox itself counts them now
                    await inbox_insert(session, raised)
                    await inbox_mark_done_many(session, [r.id for r, _, _ in handled], now)
        except Exception as exc:
            if culprit is None:  # the claim or the commit: each event on its own
                log.warning("a batch of %d events could not commit (%s: %s); handling them "
                            "one by one", len(todo), type(exc).__name__, exc)
                for row, _, prep in todo:
                    await self.process(row, prep)
                return []
            await self._failed(culprit, exc)
            return [t for t in todo if t[0] is not culprit]
        self.processed += len(handled)
        if any(out for _, out, _ in handled) and self.on_outbox:
            self.on_outbox()
        if any(done.emitted for _, _, done in handled):
            self.wake()
        return left

    async def _prepare(self, row: InboxEvent, event: Event) -> Any:
        token = event_id_var.set(f"in{row.id}")
        try:
            return await self.feed.prepare(event)
        finally:
            event_id_var.reset(token)

    async def _failed(self, row: InboxEvent, exc: Exception) -> None:
        attempts = row.attempts + 1
        now = self.clock.now()
        retry_at = now + backoff(attempts) if attempts < self.max_attempts else None
        error = f"{type(exc).__name__}: {exc}"
        self.metrics.handler_failures.labels(row.type).inc()
        if retry_at is None:
            log.error("event %s (%s/%s) parked after %d failures: %s — needs a person",
                      row.id, row.channel, row.type, attempts, error, exc_info=exc)
        else:
            log.warning("event %s (%s/%s) failed (attempt %d), retry at %s: %s", row.id,
                        row.channel, row.type, attempts, retry_at.isoformat(), error)
        try:
            async with write_session(self.sm, self.gate) as session:
                await inbox_record_failure(session, row.id, error, now, retry_at)
        except Exception:
            self._held[row.id] = now + backoff(attempts)
            log.exception("could not record the failure of event %s; it stays pending and is "
                          "held back until %s", row.id, self._held[row.id].isoformat())
