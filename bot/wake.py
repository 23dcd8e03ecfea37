"""Wake-ups between processes, so a loop in one process starts at once on what another
process committed instead of at its next poll: a separate ingest process wakes the worker
processes (channel ``inbox``), a worker process that does not send wakes the sender process
(``outbox``). A datagram beside a SQLite file (``WakeSocket``), a PostgreSQL ``NOTIFY``
otherwise (``PgWake``); ``cross_process_wake`` picks one. Best effort both: a lost wake-up
only leaves the work to the poll."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable

log = logging.getLogger("bot.wake")


class WakeSocket:
    """Wake-ups between processes on one machine (SQLite).

    A worker-only process otherwise finds new events by polling (``WORKER_POLL_SECONDS``),
    which adds up to a poll interval to every message's answer. Instead, the ingest process
    sends one datagram on a Unix socket beside the database file (``bot.db.wake``) after each
    commit of the inbox writer, and the worker's loop wakes on it; likewise on
    ``bot.db.wake-outbox`` for the process that sends. Best effort: a lost datagram (nobody
    listening yet, a full buffer) only leaves the poll to find the work, as before.
    """

    def __init__(self, path: str) -> None:
        self.path = path  # one listener per path: one worker (one sender) per SQLite file
        self._sock: socket.socket | None = None
        self._out: socket.socket | None = None

    @classmethod
    def for_url(cls, url: str, channel: str = "inbox") -> "WakeSocket | None":
        """Beside a SQLite database file; None for anything else (see ``PgWake``)."""
        from models.db import sqlite_file

        database = sqlite_file(url)
        if database is None:
            return None
        suffix = ".wake" if channel == "inbox" else f".wake-{channel}"
        path = os.path.abspath(database) + suffix
        return cls(path) if len(path.encode()) < 100 else None  # sun_path is 108 bytes

    def listen(self, on_wake: "Callable[[], None]") -> None:
        """Call ``on_wake`` whenever another process notifies this channel."""
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
        """Tell the process listening on this channel (if any) that there is work."""
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


#: libpq settings for the wake-up's connections unless the URL sets them: a connection that
#: cannot be made, or a peer that went away without closing (a half-open TCP connection, a NAT
#: that dropped an idle one), fails in seconds instead of TCP's minutes.
TCP_DEFAULTS = {"connect_timeout": "5", "keepalives": "1", "keepalives_idle": "10",
                "keepalives_interval": "5", "keepalives_count": "3", "tcp_user_timeout": "10000"}


class PgWake:
    """``WakeSocket``'s counterpart on PostgreSQL, where the processes may run on different
    machines: ``NOTIFY bot_<channel>`` after a commit, and every listening process
    ``LISTEN``s on a connection of its own and wakes its loop. Without it a worker found new
    events only at its next poll (``WORKER_POLL_SECONDS``, 0.2 s): on average half a poll added
    to every answer.

    Nothing here is cancelled (``WakeableLoop.stop`` says why): the listener waits for
    notifications in slices of ``slice_seconds`` and looks between them whether to stop; it
    also asks the server ``SELECT 1`` after ``alive_seconds`` without a notification, so a
    connection that went deaf fails and is made again. A listener whose connection fails says
    so once and connects again every ``retry_seconds``; it wakes its loop when it is back (for
    what came meanwhile). ``stop`` closes from outside a connection stuck on the network."""

    def __init__(self, url: str, channel: str = "inbox", *, retry_seconds: float = 2.0,
                 slice_seconds: float = 0.5, alive_seconds: float = 30.0) -> None:
        from sqlalchemy.engine import make_url

        self.channel = f"bot_{channel}"  # NOTIFY channels are per database
        u = make_url(url).set(drivername="postgresql")
        u = u.update_query_dict({k: v for k, v in TCP_DEFAULTS.items() if k not in u.query})
        self.conninfo = u.render_as_string(hide_password=False)  # never logged
        self.retry_seconds = retry_seconds
        self.slice_seconds = slice_seconds
        self.alive_seconds = alive_seconds
        self.sent = 0  # NOTIFYs sent (a burst of wakes is a few, not one each)
        self._closing = False
        self._listener: asyncio.Task[None] | None = None
        self._in: object | None = None  # the listening connection while it is open
        self._out: object | None = None  # the notifying connection, opened at the first wake
        self._notifier: asyncio.Task[None] | None = None
        self._again = False  # woken while a NOTIFY was in flight: send one more
        self._failing = False  # the last NOTIFY failed (said once, not at every wake)

    @classmethod
    def for_url(cls, url: str, channel: str = "inbox") -> "PgWake | None":
        from sqlalchemy.engine import make_url

        backend = make_url(url).get_backend_name()
        return cls(url, channel) if backend in ("postgresql", "postgres") else None

    def listen(self, on_wake: "Callable[[], None]") -> None:
        """Call ``on_wake`` whenever another process notifies this channel."""
        self._listener = asyncio.get_running_loop().create_task(
            self._listen(on_wake), name="wake-listener")

    async def _listen(self, on_wake: "Callable[[], None]") -> None:
        import psycopg

        failed = False
        loop = asyncio.get_running_loop()
        while not self._closing:
            try:
                async with await psycopg.AsyncConnection.connect(
                        self.conninfo, autocommit=True) as conn:
                    self._in = conn
                    await conn.execute(f"LISTEN {self.channel}")
                    if failed:
                        log.info("wake-up listener (%s) connected again", self.channel)
                    failed = False
                    on_wake()  # whatever was committed while nobody listened
                    heard = loop.time()
                    while not self._closing:
                        async for _ in conn.notifies(timeout=self.slice_seconds):
                            on_wake()
                            heard = loop.time()
                        if loop.time() - heard >= self.alive_seconds:
                            await conn.execute("SELECT 1")  # fails on a deaf connection
                            heard = loop.time()
            except Exception as exc:
                if self._closing:
                    return
                if not failed:  # once per outage, not once per retry
                    log.warning("wake-up listener (%s) lost its PostgreSQL connection (%s); "
                                "the loop polls meanwhile and connects again every %g s",
                                self.channel, type(exc).__name__, self.retry_seconds)
                failed = True
                await self._pause()
            finally:
                self._in = None

    async def _pause(self) -> None:
        """``retry_seconds``, or less if the wake is stopping."""
        waited = 0.0
        while waited < self.retry_seconds and not self._closing:
            step = min(self.slice_seconds, self.retry_seconds - waited)
            await asyncio.sleep(step)
            waited += step

    def notify(self, *_: object) -> None:
        """Tell the processes listening on this channel (if any) that there is work."""
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
                self.sent += 1
                self._failing = False
            except Exception as exc:
                if not self._closing and not self._failing:  # once until one goes through
                    log.warning("could not wake the processes listening on %s (%s); they find "
                                "the work at their next poll", self.channel, type(exc).__name__)
                self._failing = True
                await self._close(self._out)
                self._out = None
                return

    @staticmethod
    async def _close(conn: object | None) -> None:
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()  # type: ignore[attr-defined]

    async def stop(self) -> None:
        """Stop listening and notifying. Waits a slice for the tasks to end by themselves;
        one still waiting on the network then has its connection closed under it, which ends
        its wait with an error (no cancellation); a connection still being made ends by its
        ``connect_timeout``."""
        self._closing = True
        tasks = {t for t in (self._listener, self._notifier) if t is not None}
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=2 * self.slice_seconds)
            if pending:
                await self._close(self._in)
                await self._close(self._out)
                await asyncio.wait(pending)
        await self._close(self._out)
        self._out = None


def cross_process_wake(url: str, channel: str = "inbox") -> "WakeSocket | PgWake | None":
    """How one process wakes the others of ``url``'s database: ``inbox``, an ingest process
    the worker processes; ``outbox``, a worker process that does not send the sender process."""
    return WakeSocket.for_url(url, channel) or PgWake.for_url(url, channel)
