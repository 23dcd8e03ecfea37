"""Writers in several processes on one SQLite file take turns; the inbox writer goes first."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest
from sqlalchemy import event, text

from models.sqlite_driver import TurnLock, TurnWatch


class Watched(TurnLock):
    """Says when it holds the turnstile (a writer waiting with priority)."""

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self.has_turn = threading.Event()

    def _take(self, fd, deadline):
        super()._take(fd, deadline)
        if fd == self._turn:
            self.has_turn.set()


def test_the_waiting_ingest_writes_before_any_later_worker_transaction(tmp_path):
    db = str(tmp_path / "bot.db")
    worker, ingest, worker_next = (TurnLock(db, False, 10), Watched(db, True, 10),
                                   TurnLock(db, False, 10))
    order: list[str] = []
    watch = TurnWatch(db)
    worker.acquire()  # the worker's transaction is open
    assert not watch.waiting()  # its cue to commit early: nobody waits yet
    t_ingest = threading.Thread(target=lambda: (ingest.acquire(), order.append("ingest")))
    t_ingest.start()
    assert ingest.has_turn.wait(10)  # the ingest waits, holding the turnstile
    assert watch.waiting()
    t_next = threading.Thread(target=lambda: (worker_next.acquire(), order.append("worker")))
    t_next.start()
    worker.release()  # commit: whoever asks next, the ingest goes first
    t_ingest.join(10)
    assert order == ["ingest"] and not worker_next.held
    ingest.release()
    t_next.join(10)
    assert order == ["ingest", "worker"]
    for lock in (worker, ingest, worker_next, watch):
        lock.close()


def test_a_writer_that_cannot_get_its_turn_in_time_is_told_the_database_is_locked(tmp_path):
    db = str(tmp_path / "bot.db")
    holder, late = TurnLock(db, False, 10), TurnLock(db, True, 0.01)
    holder.acquire()
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        late.acquire()
    assert not late.held
    holder.release()
    late.acquire()  # the turnstile was given back on the way out
    assert late.held
    holder.close()
    late.close()


def test_a_process_that_leaves_a_connection_open_still_exits(tmp_path):
    """A command that forgets to dispose its engine must not hang on the connection's thread."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import asyncio\n"
        "from sqlalchemy import text\n"
        "from models.db import make_engine\n"
        "async def main():\n"
        f"    engine = make_engine('sqlite:///{tmp_path}/bot.db')\n"
        "    conn = await engine.connect()\n"
        "    await conn.execute(text('SELECT 1'))\n"  # and never closed
        "asyncio.run(main())\n"
        "print('exited')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0 and "exited" in out.stdout, out.stderr[-2000:]


async def test_a_write_transaction_runs_on_the_loop_thread_and_a_read_in_the_connections(
        tmp_path):
    """Holding the write lock, a statement cannot wait for one: no hop to the connection's
    thread (``sqlite_driver``, "Inside a write transaction"). Reads, which may be long scans,
    still run in the connection's thread, as do BEGIN and COMMIT."""
    from models.db import make_engine, make_sessionmaker, write_session

    engine = make_engine(f"sqlite:///{tmp_path / 'bot.db'}")

    @event.listens_for(engine.sync_engine, "connect")
    def _thread_id(dbapi_conn, _record):
        dbapi_conn.create_function("thread_id", 0, threading.get_ident)

    sm = make_sessionmaker(engine)
    loop_thread = threading.get_ident()
    try:
        async with write_session(sm, None) as s:
            assert (await s.execute(text("SELECT thread_id()"))).scalar_one() == loop_thread
            await s.execute(text("CREATE TABLE t (x INTEGER)"))
            await s.execute(text("INSERT INTO t VALUES (1)"))
        async with sm() as s:
            assert (await s.execute(text("SELECT thread_id()"))).scalar_one() != loop_thread
            assert (await s.execute(text("SELECT sum(x) FROM t"))).scalar_one() == 1
        with pytest.raises(Exception):  # a failed write transaction rolls back as before
            async with write_session(sm, None) as s:
                await s.execute(text("INSERT INTO t VALUES (2)"))
                await s.execute(text("INSERT INTO nowhere VALUES (3)"))
        async with sm() as s:
            assert (await s.execute(text("SELECT sum(x) FROM t"))).scalar_one() == 1
    finally:
        await engine.dispose()


async def test_a_long_write_transaction_gives_the_event_loop_turns(tmp_path, monkeypatch):
    """Statements run inline would hold the loop for a whole transaction: an HTTP callback
    could not even register at the write gate. Every ``INLINE_SLICE`` the loop gets a turn;
    with the slice at 0 that is before every statement, with a long one never (counted by a
    task that counts its own turns, no clock involved)."""
    import models.sqlite_driver as driver
    from models.db import make_engine, make_sessionmaker, write_session

    engine = make_engine(f"sqlite:///{tmp_path / 'bot.db'}")
    sm = make_sessionmaker(engine)
    turns = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal turns
        while not stop.is_set():
            turns += 1
            await asyncio.sleep(0)  # a yield to the loop, not a wait

    async def turns_during_20_inserts(slice_seconds: float) -> int:
        monkeypatch.setattr(driver, "INLINE_SLICE", slice_seconds)
        async with write_session(sm, None) as s:
            await s.execute(text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
            before = turns
            for n in range(20):
                await s.execute(text("INSERT INTO t VALUES (:x)"), {"x": n})
            return turns - before

    task = asyncio.create_task(ticker())
    try:
        assert await turns_during_20_inserts(0.0) >= 19  # a turn before each statement
        assert await turns_during_20_inserts(3600.0) == 0  # inline: the loop never turned
    finally:
        stop.set()
        await task
        await engine.dispose()
