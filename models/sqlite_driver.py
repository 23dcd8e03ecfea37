"""aiosqlite with one thread hop per statement instead of four.

aiosqlite runs each SQLite connection in its own thread and hands every call over to it: SQLAlchemy's
aiosqlite adapter makes four such calls per statement (``cursor()``, ``execute``, ``fetchall``,
``close``), each a queue put, a thread wake-up, a self-pipe write and an event-loop turn. Profiled
on the e2e bench (issue 15) that was ~500 hand-overs per handled message and the largest single
cost of the worker's event loop. Here the cursor does all four in the connection's thread in one
call and hands back the rows; SQLAlchemy's adapter reads them from memory.

Semantics are aiosqlite's: the same thread owns the ``sqlite3`` connection, statements still run
one at a time, and SQLite's busy handler still waits in that thread, never on the event loop.
Only what crosses between the threads changed: a finished result instead of a live cursor (a
"server-side" cursor is therefore buffered too; nothing here streams from SQLite).

**Taking turns across processes.** With ingest and handlers in two processes on one SQLite file,
a waiting writer used to sleep in SQLite's busy handler (1, 2, 5 … 100 ms steps) and wake to
find the lock taken again by the worker's next transaction: acks waited hundreds of ms, some
past the busy timeout. Every ``BEGIN IMMEDIATE`` here first takes ``TurnLock``: an exclusive
``flock`` on a file beside the database, polled every half millisecond in the connection's
thread, behind a turnstile that a high-priority writer (the inbox writer's durable engine)
holds while it waits — so the next turn is the ingest's, whoever asks in between. COMMIT,
ROLLBACK or closing the connection gives the turn back; a process that dies gives it back with
its file descriptors. Writers that do not take turns (migrations, the sync engine) still meet
SQLite's own lock and busy timeout.

**Inside a write transaction, statements run on the event loop's thread.** Once ``BEGIN
IMMEDIATE`` has returned, the connection holds SQLite's write lock: no statement of that
transaction can wait for a lock (WAL readers never do), so the hop to the connection's thread
buys nothing and costs a GIL hand-over each way — the event loop's thread waited for the GIL
in ``put_nowait`` for 12 % of a saturated worker's samples (py-spy, bench/e2e.py). The
connection is opened with ``check_same_thread=False`` and used by one thread at a time: the
loop's while the transaction runs, its own thread for ``BEGIN``, ``COMMIT``, ``ROLLBACK``, read
transactions (which may be long scans) and closing. So that a long write transaction does not
starve the rest of the process (an HTTP callback registering at the write gate, the sender),
the loop gets a turn every ``INLINE_SLICE`` seconds of it.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
import time
from collections.abc import Callable, Iterable
from typing import Any

import aiosqlite

Result = tuple[Any, int, int, list[Any]]
POLL_SECONDS = 0.0005
INLINE_SLICE = 0.005  # seconds of a write transaction's statements between two loop turns


class TurnLock:
    """Whose turn it is to write, across processes (see the module). One per connection."""

    def __init__(self, database: str, high: bool, timeout: float) -> None:
        self.high = high
        self.timeout = timeout
        self._write = os.open(database + "-write.lock", os.O_RDWR | os.O_CREAT, 0o600)
        self._turn = os.open(database + "-turn.lock", os.O_RDWR | os.O_CREAT, 0o600)
        self.held = False

    def _take(self, fd: int, deadline: float) -> None:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise sqlite3.OperationalError("database is locked") from None
                time.sleep(POLL_SECONDS)

    def acquire(self) -> None:
        deadline = time.monotonic() + self.timeout
        self._take(self._turn, deadline)
        try:
            if self.high:  # hold the turnstile while waiting: nobody else passes it
                self._take(self._write, deadline)
        finally:
            fcntl.flock(self._turn, fcntl.LOCK_UN)
        if not self.high:
            self._take(self._write, deadline)
        self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            fcntl.flock(self._write, fcntl.LOCK_UN)

    def close(self) -> None:
        self.release()
        os.close(self._write)
        os.close(self._turn)


class TurnWatch:
    """Whether a writer of another connection waits for its turn with priority (the inbox
    writer holds the turnstile while it waits): a long transaction's cue to commit."""

    def __init__(self, database: str) -> None:
        self._turn = os.open(database + "-turn.lock", os.O_RDWR | os.O_CREAT, 0o600)

    def waiting(self) -> bool:
        try:
            fcntl.flock(self._turn, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(self._turn, fcntl.LOCK_UN)
        return False

    def close(self) -> None:
        os.close(self._turn)


def _run(owner: "OneHopConnection", sql: str, params: Any, many: bool) -> Result:
    """A statement in the connection's thread; ``BEGIN IMMEDIATE`` takes the turn first and,
    once it holds the write lock, lets the rest of the transaction run inline."""
    raw, turn = owner._conn, owner.turn
    immediate = sql == "BEGIN IMMEDIATE"
    if turn is not None and immediate and not turn.held:
        turn.acquire()
    try:
        result = _execute(raw, sql, params, many)
    except BaseException:
        if turn is not None and not raw.in_transaction:
            turn.release()  # BEGIN itself failed
        raise
    if immediate:
        owner.writing = True
    return result


def _execute(raw: sqlite3.Connection, sql: str, params: Any, many: bool) -> Result:
    cur = raw.cursor()
    try:
        if many:
            cur.executemany(sql, params)
        elif params is None:
            cur.execute(sql)
        else:
            cur.execute(sql, params)
        description = cur.description
        rows = cur.fetchall() if description else []
        return description, cur.lastrowid, cur.rowcount, rows
    finally:
        cur.close()


class OneHopCursor:
    """The part of ``aiosqlite.Cursor`` that SQLAlchemy's adapter uses, one hand-over each."""

    __slots__ = ("_conn", "description", "lastrowid", "rowcount", "_rows", "arraysize")

    def __init__(self, conn: "OneHopConnection") -> None:
        self._conn = conn
        self.description: Any = None
        self.lastrowid = -1
        self.rowcount = -1
        self._rows: list[Any] = []
        self.arraysize = 1

    async def _go(self, sql: str, params: Any, many: bool) -> "OneHopCursor":
        conn = self._conn
        if conn.writing and conn._conn.in_transaction:  # holds the write lock: inline
            now = time.perf_counter()
            if now - conn.slice_from >= INLINE_SLICE:
                await asyncio.sleep(0)  # the rest of the process gets a turn
                conn.slice_from = time.perf_counter()
            result = _execute(conn._conn, sql, params, many)
        else:
            result = await conn._execute(_run, conn, sql, params, many)
            conn.slice_from = time.perf_counter()
        self.description, self.lastrowid, self.rowcount, self._rows = result
        return self

    async def execute(self, sql: str, parameters: Any = None) -> "OneHopCursor":
        return await self._go(sql, parameters, False)

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> "OneHopCursor":
        return await self._go(sql, list(parameters), True)

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        n = size or self.arraysize
        rows, self._rows = self._rows[:n], self._rows[n:]
        return rows

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def close(self) -> None:
        self._rows = []


class OneHopConnection(aiosqlite.Connection):
    turn: TurnLock | None = None
    writing = False  # BEGIN IMMEDIATE returned and neither COMMIT nor ROLLBACK since
    slice_from = 0.0  # when the loop last had a turn during this write transaction

    async def cursor(self) -> OneHopCursor:  # type: ignore[override]
        return OneHopCursor(self)

    def _end(self, how: Callable[[], None]) -> None:
        self.writing = False
        try:
            how()
        finally:
            if self.turn is not None and not self._conn.in_transaction:
                self.turn.release()

    async def commit(self) -> None:
        await self._execute(self._end, self._conn.commit)

    async def rollback(self) -> None:
        await self._execute(self._end, self._conn.rollback)

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            if self.turn is not None:
                self.turn.close()
                self.turn = None


def creator(database: str, *, high: bool = False, **kwargs: Any) -> Callable[[], Any]:
    """``create_async_engine(..., async_creator=creator(path, timeout=…))``; ``high``: this
    engine's writers go first (the inbox writer)."""

    async def connect() -> OneHopConnection:
        conn = OneHopConnection(  # used by one thread at a time: its own, or the loop's (above)
            lambda: sqlite3.connect(database, **{**kwargs, "check_same_thread": False}), 64)
        conn.daemon = True  # as SQLAlchemy's own aiosqlite connect: an unclosed one never
        # keeps the process from exiting
        if database != ":memory:" and not database.startswith("file:"):
            conn.turn = TurnLock(database, high, float(kwargs.get("timeout", 5.0)))
        return await conn

    return connect
