"""One background-loop shape for the inbox worker and the outbox sender, and the wake-up a
separate ingest process sends a worker process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable

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
        on PostgreSQL when the cancellation was lost inside the driver's wait (psycopg waits
        with ``asyncio.wait_for``, which on Python 3.11 can swallow a cancellation arriving as
        its wait completes; 1 stop in 60 in a stress of two bots). scheduler/timers.py
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


class WakeSocket:
    """Wake-ups between the ingest process and a worker process on one machine (SQLite).

    The worker-only process otherwise finds new events by polling (``WORKER_POLL_SECONDS``),
    which adds up to a poll interval to every message's answer. Instead, the ingest process
    sends one datagram on a Unix socket beside the database file after each commit of the
    inbox writer, and the worker's loop wakes on it. Best effort: a lost datagram (no worker
    yet, a full buffer) only leaves the poll to find the events, as before.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._sock: socket.socket | None = None
        self._out: socket.socket | None = None

    @classmethod
    def for_url(cls, url: str) -> "WakeSocket | None":
        """Beside a SQLite database file; None for anything else (PostgreSQL replicas poll)."""
        from sqlalchemy.engine import make_url

        u = make_url(url)
        if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
            return None
        path = os.path.abspath(u.database) + ".wake"
        return cls(path) if len(path.encode()) < 100 else None  # sun_path is 108 bytes

    def listen(self, on_wake: "Callable[[], None]") -> None:
        """In the worker process: call ``on_wake`` whenever the ingest process stored events."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(self.path)
        sock.setblocking(False)
        self._sock = sock

        def readable() -> None:
            with contextlib.suppress(BlockingIOError, InterruptedError):
                while sock.recv(64):
                    pass
            on_wake()

        asyncio.get_running_loop().add_reader(sock.fileno(), readable)

    def notify(self, *_: object) -> None:
        """In the ingest process: tell a listening worker (if any) that events are stored."""
        if self._out is None:
            self._out = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._out.setblocking(False)
        with contextlib.suppress(OSError):
            self._out.sendto(b"!", self.path)

    wake = notify  # the ingest process's writer calls ``wake`` as it would a worker's

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            self._sock = None
        if self._out is not None:
            self._out.close()
            self._out = None
