"""One background-loop shape for the inbox worker, the outbox sender and the SLA courier
(the wake-ups between processes are in ``bot/wake.py``)."""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger("bot.loop")


class WakeableLoop:
    """Calls ``run_once()`` until it finds nothing to do, then sleeps until ``wake()`` or
    ``poll_seconds`` (for work that became due by time alone: backoffs, pacing windows)."""

    poll_seconds: float = 1.0
    name = "loop"

    def __init__(self) -> None:
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> int:
        raise NotImplementedError

    def wake(self, *_: object) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Finish the round in hand; what is not started stays queued in the database.
        Nothing is cancelled: a stop that cancelled the SLA courier's loop and awaited it hung
        on PostgreSQL when the cancellation was lost inside the driver's wait (psycopg before
        3.3 waited with ``asyncio.wait_for``, which on Python 3.11 can swallow a cancellation
        arriving as its wait completes; 1 stop in 60 in a stress of two bots). scheduler/timers.py
        ``tick`` says what a transaction cancelled mid-way leaves behind."""
        self._stopping = True
        self._wake.set()
        if self._task:
            await self._task

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                done = await self.run_once()
            except Exception:
                log.exception("%s round failed; will try again", self.name)
                done = 0
            if done == 0 and not self._stopping:
                try:
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
                except asyncio.TimeoutError:
                    pass
