"""The inbox writer: one group commit for the normal path, and one bad row never fails the
rest of its batch (project issue 9, item 6). Real databases; where the database has to refuse
a row on cue, ``inbox_insert`` is wrapped (tests/reliability/test_poison.py has the same over
HTTP with a real trigger)."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import select

import bot.inbox
from models.messages import Event
from bot.inbox import InboxWriter, Unstorable, _row_fault, row_problem
from models.db import make_engine, make_sessionmaker
from models.tables import InboxEvent
from scheduler.clock import ManualClock


def ev(n: int, sender: str = "u", **over) -> Event:
    e = Event("app", "message", "text", sender, f"app:{sender}", f"app:msg:{n}", {"text": "hi"})
    for k, v in over.items():
        setattr(e, k, v)
    return e


@pytest.fixture
async def writer(db_url):
    engine = make_engine(db_url, durable=True)
    sm = make_sessionmaker(engine)
    w = InboxWriter(sm, ManualClock(datetime(2026, 11, 25, 2, 0, tzinfo=UTC)))
    await w.start()
    w.sm = sm  # type: ignore[attr-defined]
    yield w
    await w.stop()
    await engine.dispose()


async def stored(w) -> list[str]:
    async with w.sm() as s:
        return list((await s.execute(select(InboxEvent.dedupe_key).order_by(InboxEvent.id)))
                    .scalars())


async def outcomes(w, events) -> list:
    """Store every event in one batch (they all queue before the writer task runs)."""
    return await asyncio.gather(*(w.store(e) for e in events), return_exceptions=True)


@pytest.mark.parametrize("over,reason", [
    ({"sender": ["a", "b"]}, "sender is not a string"),  # two <FromUserName> (issue 9, item 6)
    ({"sender": "u" * 129}, "sender is longer than 128"),
    ({"dedupe_key": "k" * 201}, "dedupe_key is longer than 200"),
    ({"conversation_key": "app:\x00"}, "NUL"),
    ({"sender": "\ud800"}, "not UTF-8"),
    ({"dedupe_key": ""}, "dedupe_key is empty"),
    ({"payload": {"x": float("nan")}}, "payload is not JSON"),
    ({"payload": {"x": object()}}, "payload is not JSON"),
])
async def test_a_row_no_database_holds_is_refused_before_it_joins_a_batch(writer, over, reason):
    bad = ev(1, **over)
    assert reason in row_problem(bad)
    results = await outcomes(writer, [ev(2), bad, ev(3)])
    assert results[0] is True and results[2] is True
    assert isinstance(results[1], Unstorable) and reason in results[1].reason
    assert await stored(writer) == ["app:msg:2", "app:msg:3"]


@pytest.fixture
def refuse(monkeypatch):
    """The database refuses rows of the sender "poison" (as for a value it cannot hold);
    records the size of every insert attempted."""
    calls: list[int] = []
    real = bot.inbox.inbox_insert

    async def insert(session, rows):
        calls.append(len(rows))
        if any(r["sender"] == "poison" for r in rows):
            raise sa_exc.DataError("INSERT INTO inbox …", {}, Exception("refused"))
        return await real(session, rows)

    monkeypatch.setattr(bot.inbox, "inbox_insert", insert)
    return calls


async def test_a_refused_batch_is_split_until_each_culprit_stands_alone(writer, refuse):
    events = [ev(i, "poison" if i in (3, 13) else "u") for i in range(16)]
    events.insert(5, ev(2))  # a duplicate of a good one, in the same batch
    events.insert(9, ev(13, "poison"))  # and of a bad one
    results = await outcomes(writer, events)
    assert refuse[0] == 16  # one group commit was tried first, with every distinct row
    by_key: dict[str, list] = {}
    for e, r in zip(events, results):
        by_key.setdefault(e.dedupe_key, []).append(r)
    assert all(isinstance(r, Unstorable) for r in by_key["app:msg:3"] + by_key["app:msg:13"])
    assert by_key["app:msg:2"] == [True, False]  # first delivery new, the duplicate not
    assert all(rs == [True] for k, rs in by_key.items() if k not in (
        "app:msg:2", "app:msg:3", "app:msg:13"))
    assert sorted(await stored(writer)) == sorted(
        f"app:msg:{i}" for i in range(16) if i not in (3, 13))
    assert len(refuse) < 16  # halves, not one insert per row


async def test_the_normal_path_is_one_group_commit(writer, refuse):
    assert await outcomes(writer, [ev(i) for i in range(50)]) == [True] * 50
    assert refuse == [50]


async def test_a_storage_fault_fails_the_whole_batch_and_is_not_split(writer, monkeypatch):
    calls: list[int] = []

    async def down(session, rows):
        calls.append(len(rows))
        raise sa_exc.OperationalError("INSERT INTO inbox …", {}, Exception("database is locked"))

    monkeypatch.setattr(bot.inbox, "inbox_insert", down)
    results = await outcomes(writer, [ev(i) for i in range(10)])
    assert all(isinstance(r, sa_exc.OperationalError) for r in results)  # 503: WeCom retries
    assert calls == [10]
    monkeypatch.undo()
    assert await outcomes(writer, [ev(i) for i in range(10)]) == [True] * 10  # recovered


def test_what_counts_as_the_rows_fault():
    def wrap(cls, orig):
        return cls("INSERT …", {}, orig)

    class PgError(Exception):
        def __init__(self, sqlstate):
            super().__init__("x")
            self.sqlstate = sqlstate

    row = [wrap(sa_exc.DataError, Exception()), wrap(sa_exc.IntegrityError, Exception()),
           wrap(sa_exc.ProgrammingError, sqlite3.ProgrammingError(
               "Error binding parameter 6: type 'list' is not supported")),
           wrap(sa_exc.InternalError, PgError("22021")),
           wrap(sa_exc.ProgrammingError, PgError("42804")),
           sa_exc.StatementError("x", "INSERT …", {}, TypeError("not JSON serializable")),
           UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"),
           TypeError("Object of type object is not JSON serializable")]
    storage = [wrap(sa_exc.OperationalError, sqlite3.OperationalError("database is locked")),
               wrap(sa_exc.OperationalError, psycopg.OperationalError("connection refused")),
               wrap(sa_exc.ProgrammingError, PgError("42P01")),  # undefined table: not a row's
               wrap(sa_exc.InterfaceError, Exception("closed")),
               sa_exc.TimeoutError("QueuePool limit"), ConnectionResetError(), TimeoutError(),
               RuntimeError("?")]
    assert [_row_fault(e) for e in row] == [True] * len(row)
    assert [_row_fault(e) for e in storage] == [False] * len(storage)
