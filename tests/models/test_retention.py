"""Finished queue rows deleted after the retention (models/retention.py), on SQLite and
PostgreSQL: only what nothing reads any more, never the newest row of a table, in rounds of at
most ``limit`` rows per table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from models.customers import messages_from
from models.db import write_session
from models.queues import inbox_insert, outbox_add
from models.retention import INBOX_MARK, prune
from models.tables import InboxEvent, KeyValue, OutboxMessage
from models.timer import Timer
from scheduler.timers import arm

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=10)
CUTOFF = NOW - timedelta(days=7)


def inbox(key: str, kind: str, at: datetime, sender: str = "zhangsan") -> dict:
    return {"dedupe_key": key, "channel": "app" if kind == "message" else "internal",
            "kind": kind, "type": "text" if kind == "message" else "ticket_created",
            "conversation_key": f"app:{sender}", "sender": sender, "payload": {"k": key},
            "received_at": at, "status": "pending", "attempts": 0, "next_attempt_at": at}


def outbox(key: str, at: datetime) -> dict:
    return {"idempotency_key": key, "api": "message/send", "pace_key": "user:zhangsan",
            "payload": {"touser": "zhangsan"}, "created_at": at, "status": "pending",
            "attempts": 0, "next_attempt_at": at}


async def keys(sm, model, column) -> list[str]:
    async with sm() as s:
        return list((await s.execute(select(column).order_by(model.id))).scalars())


async def set_status(s, model, key_col, keys_: list[str], status: str, **more) -> None:
    await s.execute(update(model).where(key_col.in_(keys_)).values(status=status, **more))


async def test_only_finished_rows_past_the_retention_go_and_the_newest_row_stays(db):
    sm, gate = db
    async with write_session(sm, gate) as s:
        await inbox_insert(s, [
            inbox("old-event-done", "event", OLD), inbox("old-message-done", "message", OLD),
            inbox("old-event-pending", "event", OLD), inbox("old-event-parked", "event", OLD),
            inbox("old-event-done-2", "event", OLD + timedelta(hours=1)),
            inbox("new-event-done", "event", NOW - timedelta(days=1)),
            inbox("new-message", "message", NOW)])
        await set_status(s, InboxEvent, InboxEvent.dedupe_key,
                         ["old-event-done", "old-message-done", "old-event-done-2",
                          "new-event-done"], "done", processed_at=OLD)
        await set_status(s, InboxEvent, InboxEvent.dedupe_key, ["old-event-parked"], "parked")
        await outbox_add(s, [outbox("old-sent", OLD), outbox("old-parked", OLD),
                             outbox("old-pending", OLD), outbox("new-sent", NOW),
                             outbox("old-sent-newest", OLD)])
        await set_status(s, OutboxMessage, OutboxMessage.idempotency_key,
                         ["old-sent", "old-sent-newest"], "sent", sent_at=OLD)
        await set_status(s, OutboxMessage, OutboxMessage.idempotency_key, ["new-sent"], "sent",
                         sent_at=NOW)
        await set_status(s, OutboxMessage, OutboxMessage.idempotency_key, ["old-parked"],
                         "parked")
        for key in ("old-fired", "old-cancelled", "old-armed", "new-fired", "old-fired-newest"):
            await arm(s, key, OLD if key.startswith("old") else NOW, "offer_timeout",
                      now=OLD if key.startswith("old") else NOW)
        await set_status(s, Timer, Timer.key, ["old-fired", "old-fired-newest"], "fired")
        await set_status(s, Timer, Timer.key, ["old-cancelled"], "cancelled")
        await set_status(s, Timer, Timer.key, ["new-fired"], "fired")
        before = await messages_from(s, ["zhangsan"])

    async with write_session(sm, gate) as s:
        done = await prune(s, CUTOFF, 100)
    assert (done.inbox, done.outbox, done.timers, done.more) == (2, 1, 2, False)
    assert await keys(sm, InboxEvent, InboxEvent.dedupe_key) == [
        "old-message-done", "old-event-pending", "old-event-parked", "new-event-done",
        "new-message"]
    # the newest row of a table stays even when it is finished and old (SQLite reuses ids)
    assert await keys(sm, OutboxMessage, OutboxMessage.idempotency_key) == [
        "old-parked", "old-pending", "new-sent", "old-sent-newest"]
    assert await keys(sm, Timer, Timer.key) == ["old-armed", "new-fired", "old-fired-newest"]
    async with sm() as s:
        assert await messages_from(s, ["zhangsan"]) == before == 2  # "N条消息" unchanged
        mark = await s.get(KeyValue, INBOX_MARK)
    assert mark is not None  # the walk goes on after the old rows it looked at

    async with write_session(sm, gate) as s:  # nothing more to do: nothing goes
        assert (await prune(s, CUTOFF, 100)).total == 0
        # a new row takes a new id (a firing keyed by it cannot match an old one)
        await inbox_insert(s, [inbox("next", "event", NOW)])
    async with sm() as s:
        ids = list((await s.execute(select(InboxEvent.id).order_by(InboxEvent.id))).scalars())
    assert ids[-1] > ids[-2]


async def test_a_backlog_goes_in_rounds_of_at_most_the_limit(db):
    sm, gate = db
    async with write_session(sm, gate) as s:
        rows = [inbox(f"e{i}", "event" if i % 3 else "message", OLD + timedelta(minutes=i))
                for i in range(12)] + [inbox("recent", "event", NOW)]
        await inbox_insert(s, rows)
        await s.execute(update(InboxEvent).values(status="done", processed_at=OLD))
        await outbox_add(s, [outbox(f"o{i}", OLD) for i in range(5)] + [outbox("last", NOW)])
        await s.execute(update(OutboxMessage).values(status="sent", sent_at=OLD))
        for i in range(5):
            await arm(s, f"t{i}", OLD, "offer_timeout", now=OLD)
        await s.execute(update(Timer).values(status="fired"))
    rounds = []
    for _ in range(10):
        async with write_session(sm, gate) as s:
            done = await prune(s, CUTOFF, 3)
        rounds.append((done.inbox, done.outbox, done.timers, done.more))
        assert done.inbox <= 3 and done.outbox <= 3 and done.timers <= 3
        if not done.more:
            break
    assert not done.more
    assert len(rounds) >= 4  # 12 inbox rows walked 3 at a time
    assert [sum(r[i] for r in rounds) for i in range(3)] == [8, 5, 4]  # the newest timer stays
    assert await keys(sm, InboxEvent, InboxEvent.dedupe_key) == [
        "e0", "e3", "e6", "e9", "recent"]  # messages and the recent row stay
    assert await keys(sm, OutboxMessage, OutboxMessage.idempotency_key) == ["last"]


async def test_the_newest_inbox_row_stays_even_when_old_and_handled(db):
    sm, gate = db
    async with write_session(sm, gate) as s:
        await inbox_insert(s, [inbox(f"e{i}", "event", OLD) for i in range(4)])
        await s.execute(update(InboxEvent).values(status="done", processed_at=OLD))
        assert (await prune(s, CUTOFF, 100)).inbox == 3
    assert await keys(sm, InboxEvent, InboxEvent.dedupe_key) == ["e3"]
    async with write_session(sm, gate) as s:
        await inbox_insert(s, [inbox("next", "event", NOW)])
    async with sm() as s:
        ids = list((await s.execute(select(InboxEvent.id).order_by(InboxEvent.id))).scalars())
    assert len(ids) == 2 and ids[1] > ids[0]
