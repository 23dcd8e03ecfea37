"""The durable inbox writer: group commit so that an ack means "on disk".

Each callback hands its event to ``store()`` and waits; one background task writes whatever
has queued up in a single transaction (``INSERT … ON CONFLICT DO NOTHING`` on the dedupe key)
and only then releases the waiting callbacks, which answer WeCom. Under load many callbacks
share one commit; alone, a callback pays one commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.events import Event
from models.db import WriteGate, write_session
from models.queues import inbox_insert
from scheduler.clock import Clock

log = logging.getLogger("bot.inbox")


def inbox_row(event: Event, now) -> dict[str, Any]:
    return {
        "dedupe_key": event.dedupe_key, "channel": event.channel, "kind": event.kind,
        "type": event.type, "conversation_key": event.conversation_key, "sender": event.sender,
        "payload": event.payload, "received_at": now, "status": "pending", "attempts": 0,
        "next_attempt_at": now,
    }


class InboxWriter:
    def __init__(self, sessionmaker: async_sessionmaker, clock: Clock, *, max_batch: int = 500,
                 on_stored: Callable[[int], None] | None = None,
                 gate: WriteGate | None = None) -> None:
        self._sessionmaker = sessionmaker
        self._gate = gate
        self._clock = clock
        self._max_batch = max_batch
        self._on_stored = on_stored
        self._queue: asyncio.Queue[tuple[Event, asyncio.Future[bool]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="inbox-writer")

    async def stop(self) -> None:
        """Write what is queued, then stop."""
        if self._task is None:
            return
        self._queue.put_nowait((None, None))  # type: ignore[arg-type]
        await self._task
        self._task = None

    async def store(self, event: Event) -> bool:
        """Durably store ``event``; True if new, False if a duplicate. Raises if not stored."""
        if self._task is None or self._task.done():
            raise RuntimeError("inbox writer is not running")
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((event, fut))
        return await fut

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            items = [(e, f) for e, f in batch if e is not None]
            stopping = len(items) != len(batch)
            if items:
                await self._write(items)

    async def _write(self, items: list[tuple[Event, asyncio.Future[bool]]]) -> None:
        now = self._clock.now()
        rows: dict[str, dict[str, Any]] = {}
        for event, _ in items:
            rows.setdefault(event.dedupe_key, inbox_row(event, now))
        try:
            async with write_session(self._sessionmaker, self._gate, high=True) as session:
                new = await inbox_insert(session, list(rows.values()))
        except Exception as exc:  # the callbacks answer 503 and WeCom retries
            log.error("inbox write failed; %d callbacks will be retried by WeCom: %s",
                      len(items), type(exc).__name__)
            for _, fut in items:
                if not fut.done():
                    fut.set_exception(exc)
            return
        seen: set[str] = set()
        for event, fut in items:
            fresh = event.dedupe_key in new and event.dedupe_key not in seen
            seen.add(event.dedupe_key)
            if not fut.done():
                fut.set_result(fresh)
        if new and self._on_stored:
            self._on_stored(len(new))
