"""The durable inbox writer: group commit so that an ack means "on disk".

Each callback hands its event to ``store()`` and waits; one background task writes whatever
has queued up in a single transaction (``INSERT … ON CONFLICT DO NOTHING`` on the dedupe key)
and only then releases the waiting callbacks, which answer WeCom. Under load many callbacks
share one commit; alone, a callback pays one commit.

One bad event never costs the others their ack. ``store()`` refuses an event whose row no
column could hold (``Unstorable``: the callback answers 4xx) before it joins a batch; and if
the database still refuses a batch for what is in it (a data or constraint error, not a
storage fault), the batch is split in halves and retried until the offending row stands
alone: everything else is stored and acked, that one is ``Unstorable``. A storage fault
(database down, locked, unreachable) fails the batch's callbacks with 503 and WeCom retries.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from models.db import WriteGate, make_engine, make_sessionmaker, write_session
from models.messages import Event, inbox_row
from models.queues import inbox_insert
from models.spool import Spool
from models.tables import InboxEvent
from scheduler.clock import Clock

log = logging.getLogger("bot.inbox")

#: The string columns of a row, with their lengths (PostgreSQL refuses longer ones).
_STRING_COLUMNS = {c: InboxEvent.__table__.c[c].type.length
                   for c in ("dedupe_key", "channel", "kind", "type", "conversation_key",
                             "sender")}


class Unstorable(Exception):
    """This event can never be stored as it is: the callback answers 4xx. ``reason`` is one
    line, safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def row_problem(event: Event) -> str | None:
    """Why no database would store ``event``'s row, or None. The parsers already refuse such
    payloads; this keeps any event that slips past them out of a shared batch."""
    for column, length in _STRING_COLUMNS.items():
        value = getattr(event, column)
        if not isinstance(value, str):
            return f"{column} is not a string"
        if not value and column != "sender":
            return f"{column} is empty"
        if length is not None and len(value) > length:
            return f"{column} is longer than {length} characters"
        if "\x00" in value:
            return f"{column} holds a NUL character"
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return f"{column} is not UTF-8"
    try:
        json.dumps(event.payload, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return f"payload is not JSON ({type(exc).__name__})"
    return None


def _row_fault(exc: BaseException) -> bool:
    """True when the database refused what is *in* the rows (a value it cannot take, a
    constraint), so that splitting the batch isolates the culprit. Everything else — the
    database down, locked, unreachable, a timeout — is a storage fault: 503 for everyone."""
    if isinstance(exc, (sa_exc.DataError, sa_exc.IntegrityError)):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        state = getattr(exc.orig, "sqlstate", None)  # psycopg
        if state:  # class 22: data exception, 23: integrity, 42804: datatype mismatch
            return state[:2] in ("22", "23") or state == "42804"
        # The driver could not bind a value (sqlite3 / psycopg, before the server saw it).
        text = str(exc.orig)
        return isinstance(exc, sa_exc.ProgrammingError) and (
            "binding parameter" in text or "cannot adapt" in text)
    if isinstance(exc, sa_exc.StatementError):  # a Python error while preparing parameters
        return isinstance(exc.orig, (TypeError, ValueError, OverflowError))
    # Raised by a driver unwrapped (e.g. UnicodeEncodeError, which is a ValueError).
    return isinstance(exc, (TypeError, ValueError, OverflowError))


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
        """Durably store ``event``; True if new, False if a duplicate. Raises ``Unstorable``
        if this event can never be stored, anything else if storing failed (retry later)."""
        if self._task is None or self._task.done():
            raise RuntimeError("inbox writer is not running")
        problem = row_problem(event)
        if problem is not None:  # the caller logs it (one line per rejected callback)
            raise Unstorable(problem)
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
                try:
                    await self._write(items)
                except Exception as exc:  # never let the writer task die with callers waiting
                    log.error("inbox writer failed unexpectedly: %s", type(exc).__name__)
                    for _, fut in items:
                        if not fut.done():
                            fut.set_exception(exc)

    async def _write(self, items: list[tuple[Event, asyncio.Future[bool]]]) -> None:
        now = self._clock.now()
        rows: dict[str, dict[str, Any]] = {}
        waiting: dict[str, list[asyncio.Future[bool]]] = {}
        for event, fut in items:
            rows.setdefault(event.dedupe_key, inbox_row(event, now))
            waiting.setdefault(event.dedupe_key, []).append(fut)
        fault = await self._insert(list(rows.values()), waiting)
        if fault is not None:
            log.error("inbox write failed; %d callbacks will be retried by WeCom: %s",
                      sum(not f.done() for fs in waiting.values() for f in fs),
                      type(fault).__name__)
            for futs in waiting.values():
                for fut in futs:
                    if not fut.done():
                        fut.set_exception(fault)

    async def _insert(self, rows: list[dict[str, Any]],
                      waiting: dict[str, list[asyncio.Future[bool]]]) -> BaseException | None:
        """Insert ``rows`` in one transaction and release their callbacks after the commit; if
        the database refuses a value in them, retry each half. Returns a storage fault (the
        callers of every row not yet released get it), else None."""
        try:
            async with write_session(self._sessionmaker, self._gate, high=True) as session:
                new = await inbox_insert(session, rows)
        except Exception as exc:
            if not _row_fault(exc):
                return exc
            if len(rows) == 1:
                key = rows[0]["dedupe_key"]
                reason = f"the database refused the event ({type(exc).__name__})"
                log.error("inbox: event %s cannot be stored: %s", key, reason)
                for fut in waiting[key]:
                    if not fut.done():
                        fut.set_exception(Unstorable(reason))
                return None
            log.warning("inbox: a batch of %d was refused (%s); retrying it in halves to set "
                        "the offending event apart", len(rows), type(exc).__name__)
            half = len(rows) // 2
            return (await self._insert(rows[:half], waiting)
                    or await self._insert(rows[half:], waiting))
        for row in rows:
            key = row["dedupe_key"]
            for i, fut in enumerate(waiting[key]):
                if not fut.done():  # the first of several identical callbacks is the new one
                    fut.set_result(key in new and i == 0)
        if new and self._on_stored:
            self._on_stored(len(new))
        return None


async def ingest_writer(database_url: str, clock: Clock, gate: WriteGate, spool: Spool | None,
                        busy_timeout_ms: int, *, spooled: bool,
                        on_stored: Callable[[int], None] | None = None,
                        ) -> tuple[InboxWriter, AsyncEngine]:
    """The callbacks' writer and its own engine, whose commits are fsynced before the ack:
    into ``spool`` if ``spooled`` (an ingest process beside workers on SQLite, models/spool.py),
    else into the inbox, first at the write gate — after what a spool still holds from an
    earlier split run has moved in, so that no new callback goes ahead of it."""
    if spool is not None and spooled:
        await spool.open(ingest=True)
        assert spool.engine is not None
        return InboxWriter(spool.sessionmaker, clock, on_stored=on_stored), spool.engine
    if spool is not None:
        while await spool.move(gate):
            pass
    engine = make_engine(database_url, durable=True, pool_size=1, busy_timeout_ms=busy_timeout_ms)
    return InboxWriter(make_sessionmaker(engine), clock, gate=gate, on_stored=on_stored), engine
