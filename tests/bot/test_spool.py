"""The ingest's spool (SQLite, models/spool.py): callbacks stored beside the database, moved
into the inbox by the worker — in order, each once, nothing lost on a crash in between."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.inbox import ingest_writer
from bot.metrics import Metrics
from bot.worker import InboxWorker
from handlers.routing import Dispatcher, Router
from models.db import WriteGate, make_engine, make_sessionmaker, migrate
from models.messages import Event
from models.spool import Spool, spool_path
from models.tables import InboxEvent
from scheduler.clock import ManualClock


def text_event(conv: str, n: int, text: str) -> Event:
    return Event("app", "message", "text", conv, f"app:{conv}", f"app:msg:{conv}-{n}",
                 {"text": text})


def spooled(url: str) -> int:
    with sqlite3.connect(spool_path(url)) as c:
        return c.execute("SELECT count(*) FROM inbox").fetchone()[0]


@pytest.fixture
async def rig(sqlite_url):
    migrate(sqlite_url)
    engine = make_engine(sqlite_url)
    sm = make_sessionmaker(engine)
    gate = WriteGate.for_url(sqlite_url)
    clock = ManualClock(datetime(2026, 11, 25, 2, 0, tzinfo=UTC))
    ingest = Spool(sqlite_url)  # the ingest process's handle
    writer, _ = await ingest_writer(sqlite_url, clock, gate, ingest, 3000, spooled=True)
    await writer.start()
    mover = Spool(sqlite_url)  # the worker process's own
    seen: list[str] = []
    router = Router("test")

    @router.message(msgtype="text")
    async def record(ctx):
        seen.append(ctx.event.text)
        ctx.reply(f"ok {ctx.event.text}")

    worker = InboxWorker(sm, Dispatcher([router], clock=clock), clock, Metrics(), agent_id=1,
                         gate=gate, intake=lambda: mover.move(gate))
    yield {"url": sqlite_url, "sm": sm, "writer": writer, "worker": worker, "seen": seen,
           "mover": mover, "gate": gate}
    await writer.stop()
    await ingest.close()
    await mover.close()
    await engine.dispose()


async def inbox(sm) -> list[InboxEvent]:
    async with sm() as s:
        return list((await s.execute(select(InboxEvent).order_by(InboxEvent.id))).scalars())


def test_only_a_sqlite_file_has_a_spool(tmp_path):
    assert spool_path(f"sqlite:///{tmp_path}/bot.db") == tmp_path / "bot.db.spool"
    assert spool_path("sqlite://") is None and spool_path("sqlite:///:memory:") is None
    assert Spool.for_url("postgresql://postgres@127.0.0.1/test") is None


async def test_acked_callbacks_wait_in_the_spool_and_are_handled_in_order_once(rig):
    for i in range(3):
        assert await rig["writer"].store(text_event("alice", i, f"a{i}")) is True
        assert await rig["writer"].store(text_event("bob", i, f"b{i}")) is True
    assert spooled(rig["url"]) == 6 and await inbox(rig["sm"]) == []  # acked = on disk
    await rig["worker"].drain()
    assert [t for t in rig["seen"] if t[0] == "a"] == ["a0", "a1", "a2"]
    assert [t for t in rig["seen"] if t[0] == "b"] == ["b0", "b1", "b2"]
    rows = await inbox(rig["sm"])
    assert [r.dedupe_key for r in rows] == [f"app:msg:{c}-{i}" for i in range(3)
                                            for c in ("alice", "bob")]  # arrival order
    assert {r.status for r in rows} == {"done"} and spooled(rig["url"]) == 0
    assert rows[0].payload == {"text": "a0"} and rows[0].received_at.tzinfo is not None


async def test_a_crash_between_the_insert_and_the_delete_moves_again_without_copies(
        rig, monkeypatch):
    import models.spool as spool_module

    for i in range(4):
        await rig["writer"].store(text_event("carol", i, f"c{i}"))

    class Crash(Exception):
        pass

    real, calls = spool_module.write_session, []

    def crashing(sm, gate):  # the move's second write (the spool's delete) never happens
        calls.append(gate)
        if len(calls) == 2:
            raise Crash
        return real(sm, gate)

    monkeypatch.setattr(spool_module, "write_session", crashing)
    with pytest.raises(Crash):
        await rig["mover"].move(rig["gate"])
    monkeypatch.setattr(spool_module, "write_session", real)
    assert len(await inbox(rig["sm"])) == 4 and spooled(rig["url"]) == 4  # moved, not deleted
    await rig["worker"].drain()
    assert rig["seen"] == ["c0", "c1", "c2", "c3"]  # each handled once
    assert len(await inbox(rig["sm"])) == 4 and spooled(rig["url"]) == 0


async def test_a_callback_sent_again_after_its_move_is_not_handled_twice(rig):
    await rig["writer"].store(text_event("dave", 1, "d1"))
    await rig["worker"].drain()
    assert await rig["writer"].store(text_event("dave", 1, "d1")) is True  # new to the spool
    await rig["worker"].drain()
    assert rig["seen"] == ["d1"] and len(await inbox(rig["sm"])) == 1
    assert spooled(rig["url"]) == 0


async def test_a_move_takes_at_most_its_limit_and_the_worker_takes_the_rest(rig):
    for i in range(1200):
        await rig["writer"].store(text_event(f"u{i}", 0, f"m{i}"))
    assert await rig["mover"].move(rig["gate"]) == 500
    assert spooled(rig["url"]) == 700
    await rig["worker"].drain()
    assert len(rig["seen"]) == 1200 and spooled(rig["url"]) == 0


async def test_a_worker_without_a_spool_creates_none(sqlite_url):
    migrate(sqlite_url)
    spool = Spool(sqlite_url)
    assert await spool.move(None) == 0 and await spool.count() == 0
    assert not spool_path(sqlite_url).exists()


async def test_a_move_that_fails_is_logged_once_and_done_at_a_later_round(rig, caplog):
    await rig["writer"].store(text_event("erin", 1, "e1"))
    worker, real = rig["worker"], rig["worker"].intake
    failures = {"left": 3}

    async def broken():
        if failures["left"]:
            failures["left"] -= 1
            raise sqlite3.OperationalError("disk I/O error")
        return await real()

    worker.intake = broken
    with caplog.at_level(logging.WARNING, logger="bot.worker"):
        for _ in range(3):
            assert await worker.run_once() == 0
        assert rig["seen"] == [] and spooled(rig["url"]) == 1  # still there, not lost
        await worker.drain()
    assert rig["seen"] == ["e1"]
    said = [r.getMessage() for r in caplog.records]
    assert sum("could not move spooled callbacks" in m for m in said) == 1
    assert sum("moving into the inbox again" in m for m in said) == 1


class HeldGate:
    """A write gate that holds whoever asks until released (a slow move)."""

    enabled = True

    def __init__(self) -> None:
        self.asked, self.release = asyncio.Event(), asyncio.Event()

    @contextlib.asynccontextmanager
    async def hold(self, high: bool = False):
        self.asked.set()
        await self.release.wait()
        yield


async def test_two_workers_moving_the_same_rows_lose_nothing_stored_meanwhile(rig):
    """Worker A reads X1 and waits for the database; worker B moves X1 and empties the spool;
    the ingest stores X2 (SQLite gives it X1's old id); A's move ends. X2 must still be there."""
    await rig["writer"].store(text_event("frank", 1, "f1"))
    slow, held = Spool(rig["url"]), HeldGate()
    a = asyncio.ensure_future(slow.move(held))
    await held.asked.wait()
    assert await rig["mover"].move(rig["gate"]) == 1 and spooled(rig["url"]) == 0
    await rig["writer"].store(text_event("frank", 2, "f2"))
    held.release.set()
    assert await a == 1
    await slow.close()
    assert spooled(rig["url"]) == 1  # f2, stored after B's move, is still spooled
    await rig["worker"].drain()
    assert rig["seen"] == ["f1", "f2"]


async def test_a_worker_does_not_make_the_spool_the_ingest_has_not_made(sqlite_url):
    migrate(sqlite_url)
    spool_path(sqlite_url).touch()  # the file is there, its table not yet
    worker = Spool(sqlite_url)
    assert await worker.move(None) == 0 and await worker.count() == 0
    with sqlite3.connect(spool_path(sqlite_url)) as c:
        assert c.execute("SELECT name FROM sqlite_master").fetchall() == []


async def test_a_spool_of_another_version_is_moved_in_and_made_anew(sqlite_url):
    """An older version's spool (here without ``last_error``) still holds an acked callback:
    the new ingest moves it into the inbox before it stores anything, then makes the table."""
    migrate(sqlite_url)
    with sqlite3.connect(spool_path(sqlite_url)) as c:
        c.execute("CREATE TABLE inbox (id INTEGER PRIMARY KEY, dedupe_key VARCHAR(200) UNIQUE "
                  "NOT NULL, channel TEXT, kind TEXT, type TEXT, conversation_key TEXT, "
                  "sender TEXT, payload JSON, received_at DATETIME, status TEXT, attempts INT, "
                  "next_attempt_at DATETIME, processed_at DATETIME)")
        c.execute("INSERT INTO inbox VALUES (1, 'app:msg:old-1', 'app', 'message', 'text', "
                  "'app:old', 'old', '{\"text\": \"旧版本收下的\"}', '2026-11-25 02:00:00.000000',"
                  " 'pending', 0, '2026-11-25 02:00:00.000000', NULL)")
    clock = ManualClock(datetime(2026, 11, 25, 2, 0, tzinfo=UTC))
    engine = make_engine(sqlite_url)
    spool = Spool(sqlite_url)
    try:
        writer, _ = await ingest_writer(sqlite_url, clock, None, spool, 3000, spooled=True)
        assert [(r.dedupe_key, r.payload) for r in await inbox(make_sessionmaker(engine))] == [
            ("app:msg:old-1", {"text": "旧版本收下的"})]
        await writer.start()
        assert await writer.store(text_event("new", 1, "n1")) is True
        await writer.stop()
        with sqlite3.connect(spool_path(sqlite_url)) as c:
            columns = {r[1] for r in c.execute("PRAGMA table_info(inbox)")}
            assert "last_error" in columns
            assert c.execute("SELECT dedupe_key FROM inbox").fetchall() == [("app:msg:new-1",)]
    finally:
        await spool.close()
        await engine.dispose()


async def test_a_process_that_handles_moves_what_a_split_run_left_before_taking_callbacks(
        rig):
    """Back to one process (``make run`` in the sandbox): the callbacks an earlier ingest
    spooled move in before any new one is stored, so none goes ahead of them."""
    for i in range(3):
        await rig["writer"].store(text_event("gina", i, f"g{i}"))
    clock = ManualClock(datetime(2026, 11, 25, 2, 0, tzinfo=UTC))
    leftover = Spool(rig["url"])
    writer, engine = await ingest_writer(rig["url"], clock, rig["gate"], leftover, 3000,
                                         spooled=False)
    try:
        assert spooled(rig["url"]) == 0
        await writer.start()
        await writer.store(text_event("gina", 3, "g3"))
        await writer.stop()
        assert [r.dedupe_key for r in await inbox(rig["sm"])] == [
            f"app:msg:gina-{i}" for i in range(4)]
    finally:
        await leftover.close()
        await engine.dispose()
