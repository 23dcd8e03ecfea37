"""The inbox worker: events leave the inbox in arrival order per conversation.

The worker knows no use case: it is handed a ``Feed`` (main.py wires the handlers' dispatcher)
with two steps per event — ``prepare`` outside any transaction (network reads, text analysis,
reading what the handlers need), then ``handle`` inside the event's one database transaction.
That transaction first claims the event's row (on PostgreSQL ``FOR UPDATE SKIP LOCKED``, so
several bot processes can share one inbox): the handler's changes, the outbox rows of its
replies, the internal events it raised and the event's ``done`` mark commit together, or not at
all. A failing handler's error is recorded on the event and retried with backoff; after
``max_attempts`` the event is parked for a person and the conversation moves on.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
import logging
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.logs import event_id_var
from bot.loop import WakeableLoop
from bot.metrics import Metrics
from bot.outbox import distinct_rows, reply_rows
from models.db import WriteGate, write_session
from models.messages import Event, Handled, inbox_row
from models.queues import (backoff, inbox_claim, inbox_due_heads, inbox_insert, inbox_mark_done,
                           inbox_record_failure, outbox_add)
from models.tables import InboxEvent
from scheduler.clock import Clock

log = logging.getLogger("bot.worker")


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
                 concurrency: int = 8,
                 poll_seconds: float = 1.0, on_outbox: Callable[[], None] | None = None,
                 gate: WriteGate | None = None) -> None:
        super().__init__()
        self.sm = sessionmaker
        self.gate = gate
        self.feed = feed
        self.clock = clock
        self.metrics = metrics
        self.agent_id = agent_id
        self.max_attempts = max_attempts
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self.on_outbox = on_outbox
        self.processed = 0
        # Events whose failure could not even be recorded (the database refused writes): held
        # here for their backoff so a locked database does not turn into a hot retry loop.
        self._held: dict[int, datetime] = {}

    async def run_once(self) -> int:
        """Process the due head of every conversation once. Returns events attempted."""
        now = self.clock.now()
        self._held = {i: t for i, t in self._held.items() if t > now}
        async with self.sm() as session:
            heads = [r for r in await inbox_due_heads(session, now, self.concurrency * 4)
                     if r.id not in self._held]
        sem = asyncio.Semaphore(self.concurrency)

        async def one(row: InboxEvent) -> None:
            async with sem:
                if not self._stopping:
                    await self.process(row)

        await asyncio.gather(*(one(r) for r in heads))
        return len(heads)

    async def drain(self, max_rounds: int = 1000) -> int:
        """Run until nothing is due (tests and shutdown). Returns events attempted."""
        total = 0
        for _ in range(max_rounds):
            n = await self.run_once()
            total += n
            if n == 0:
                break
        return total

    async def process(self, row: InboxEvent) -> None:
        event = Event.from_row(row)
        token = event_id_var.set(f"in{row.id}")
        try:
            try:
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
