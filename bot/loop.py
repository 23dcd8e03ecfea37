"""One background-loop shape for the inbox worker and the outbox sender, and the wake-ups
between processes: a separate ingest process wakes the worker processes (channel ``inbox``), a
worker process that does not send wakes the sender process (``outbox``). A datagram beside a
SQLite file, a PostgreSQL ``NOTIFY`` otherwise (``cross_process_wake``)."""

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
        self.path = path  # one listener per path: one worker (one sender) per SQLite file
        self._sock: socket.socket | None = None
        self._out: socket.socket | None = None

    @classmethod
    def for_url(cls, url: str, channel: str = "inbox") -> "WakeSocket | None":
        """Beside a SQLite database file; None for anything else (see ``PgWake``)."""
        from sqlalchemy.engine import make_url

        u = make_url(url)
        if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
            return None
        suffix = ".wake" if channel == "inbox" else f".wake-{channel}"
        path = os.path.abspath(u.database) + suffix
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

    async def stop(self) -> None:
        self.close()

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


class PgWake:
    """``WakeSocket``'s counterpart on PostgreSQL, where ingest and worker processes may run on
    different machines: the ingest process sends ``NOTIFY bot_inbox`` after each commit of the
    inbox writer (or an API call that queued an event), every worker process ``LISTEN``s on a
    connection of its own and wakes its loop. Without it a worker found new events only at its
    next poll (``WORKER_POLL_SECONDS``, 0.2 s): on average half a poll added to every answer.

    Best effort, like the datagram: a notification lost (no worker listening, a connection
    down) only leaves the poll to find the events. A listener whose connection fails says so
    and connects again; nothing here is ever cancelled (``WakeableLoop.stop``): the listener
    waits for notifications in slices of ``slice_seconds`` and looks between them whether to
    stop."""

    def __init__(self, url: str, channel: str = "inbox", *, retry_seconds: float = 2.0,
                 slice_seconds: float = 0.5) -> None:
        from sqlalchemy.engine import make_url

        self.channel = f"bot_{channel}"  # NOTIFY channels are per database
        self.conninfo = make_url(url).set(drivername="postgresql").render_as_string(
            hide_password=False)
        self.retry_seconds = retry_seconds
        self.slice_seconds = slice_seconds
        self._closing = False
        self._listener: asyncio.Task[None] | None = None
        self._out: object | None = None  # the notifying connection, opened at the first wake
        self._notifier: asyncio.Task[None] | None = None
        self._again = False  # woken while a NOTIFY was in flight: send one more

    @classmethod
    def for_url(cls, url: str, channel: str = "inbox") -> "PgWake | None":
        from sqlalchemy.engine import make_url

        return cls(url, channel) if make_url(url).get_backend_name() == "postgresql" else None

    def listen(self, on_wake: "Callable[[], None]") -> None:
        """In a worker process: call ``on_wake`` whenever an ingest process stored events."""
        self._listener = asyncio.get_running_loop().create_task(
            self._listen(on_wake), name="wake-listener")

    async def _listen(self, on_wake: "Callable[[], None]") -> None:
        import psycopg

        failed = False
        while not self._closing:
            try:
                async with await psycopg.AsyncConnection.connect(
                        self.conninfo, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {self.channel}")
                    if failed:
                        log.info("wake-up listener connected again")
                    failed = False
                    on_wake()  # whatever was stored while nobody listened
                    while not self._closing:
                        async for _ in conn.notifies(timeout=self.slice_seconds):
                            on_wake()
            except Exception as exc:
                if self._closing:
                    return
                if not failed:  # once per outage, not once per retry
                    log.warning("wake-up listener lost its PostgreSQL connection (%s); the "
                                "worker polls meanwhile and connects again every %.0f s",
                                type(exc).__name__, self.retry_seconds)
                failed = True
                await self._pause()

    async def _pause(self) -> None:
        """``retry_seconds``, or less if the wake is stopping."""
        waited = 0.0
        while waited < self.retry_seconds and not self._closing:
            step = min(self.slice_seconds, self.retry_seconds - waited)
            await asyncio.sleep(step)
            waited += step

    def notify(self, *_: object) -> None:
        """In an ingest process: tell the worker processes (if any) that events are stored."""
        if self._closing:
            return
        self._again = True
        if self._notifier is None or self._notifier.done():
            self._notifier = asyncio.get_running_loop().create_task(
                self._notify(), name="wake-notify")

    wake = notify

    async def _notify(self) -> None:
        import psycopg

        while self._again and not self._closing:
            self._again = False  # wakes from here on need another NOTIFY
            try:
                if self._out is None:
                    self._out = await psycopg.AsyncConnection.connect(self.conninfo,
                                                                      autocommit=True)
                await self._out.execute(f"NOTIFY {self.channel}")  # type: ignore[attr-defined]
            except Exception as exc:
                log.warning("could not wake the worker processes (%s); they find the events "
                            "at their next poll", type(exc).__name__)
                await self._close_out()
                return

    async def _close_out(self) -> None:
        out, self._out = self._out, None
        if out is not None:
            with contextlib.suppress(Exception):
                await out.close()  # type: ignore[attr-defined]

    async def stop(self) -> None:
        """Stop listening and notifying; waits (at most a slice) instead of cancelling."""
        self._closing = True
        for task in (self._listener, self._notifier):
            if task is not None:
                await asyncio.gather(task, return_exceptions=True)
        await self._close_out()


def cross_process_wake(url: str, channel: str = "inbox") -> "WakeSocket | PgWake | None":
    """How one process wakes the others of ``url``'s database: ``inbox``, an ingest process
    the worker processes; ``outbox``, a worker process that does not send the sender process."""
    return WakeSocket.for_url(url, channel) or PgWake.for_url(url, channel)
