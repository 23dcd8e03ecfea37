"""The inbox worker: order per conversation, retries with backoff, parking, restart."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from models.messages import Event
from bot.inbox import InboxWriter
from bot.metrics import Metrics
from bot.worker import InboxWorker
from handlers.routing import Dispatcher, Router
from models.db import make_engine, make_sessionmaker
from scheduler.clock import ManualClock


def text_event(conv: str, n: int, text: str) -> Event:
    return Event("app", "message", "text", conv, f"app:{conv}", f"app:msg:{conv}-{n}",
                 {"text": text})


@pytest.fixture
async def rig(db_url):
    engine = make_engine(db_url)
    sm = make_sessionmaker(engine)
    clock = ManualClock(datetime(2026, 11, 25, 2, 0, tzinfo=UTC))
    writer = InboxWriter(sm, clock)
    await writer.start()
    seen: list[str] = []
    failing: dict[str, int] = {}  # text → failures left
    router = Router("test")

    @router.message(msgtype="text")
    async def record(ctx):
        t = ctx.event.text
        if failing.get(t, 0) > 0:
            failing[t] -= 1
            raise RuntimeError(f"boom on {t}")
        seen.append(t)
        ctx.reply(f"ok {t}")

    def worker(**kw):
        return InboxWorker(sm, Dispatcher([router], clock=clock), clock, Metrics(), agent_id=1,
                           max_attempts=3, **kw)

    yield {"sm": sm, "clock": clock, "writer": writer, "seen": seen, "failing": failing,
           "worker": worker}
    await writer.stop()
    await engine.dispose()


async def store(rig, *events):
    for e in events:
        assert await rig["writer"].store(e) is True


async def rows(rig):
    from sqlmodel import select

    from models.tables import InboxEvent, OutboxMessage

    async with rig["sm"]() as s:
        inbox = list((await s.execute(select(InboxEvent).order_by(InboxEvent.id))).scalars())
        outbox = list((await s.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())
    return inbox, outbox


async def test_arrival_order_per_conversation(rig):
    await store(rig, *[text_event(c, i, f"{c}{i}") for i in range(5) for c in ("a", "b")])
    await rig["worker"](concurrency=4).drain()
    seen = rig["seen"]
    assert [t for t in seen if t[0] == "a"] == ["a0", "a1", "a2", "a3", "a4"]
    assert [t for t in seen if t[0] == "b"] == ["b0", "b1", "b2", "b3", "b4"]
    inbox, outbox = await rows(rig)
    assert all(r.status == "done" for r in inbox)
    # Each reply went into the outbox in the same transaction, addressed to the sender.
    assert sorted(o.payload["text"]["content"] for o in outbox) == sorted(f"ok {t}" for t in seen)
    assert {o.payload["touser"] for o in outbox} == {"a", "b"}


async def test_failure_retries_with_backoff_and_holds_its_conversation_only(rig):
    rig["failing"]["a0"] = 1
    await store(rig, text_event("a", 0, "a0"), text_event("a", 1, "a1"), text_event("b", 0, "b0"))
    w = rig["worker"]()
    await w.drain()
    assert rig["seen"] == ["b0"]  # a0 failed; a1 waits behind it; b is not blocked
    inbox, outbox = await rows(rig)
    a0 = inbox[0]
    assert a0.status == "pending" and a0.attempts == 1 and "boom on a0" in a0.last_error
    assert a0.next_attempt_at > rig["clock"].now()
    assert [o.payload["text"]["content"] for o in outbox] == ["ok b0"]  # nothing half-written
    await w.drain()
    assert rig["seen"] == ["b0"]  # not due yet
    rig["clock"].advance(seconds=3)
    await w.drain()
    assert rig["seen"] == ["b0", "a0", "a1"]


async def test_after_n_failures_the_event_is_parked_and_others_go_on(rig):
    rig["failing"]["a0"] = 99
    await store(rig, text_event("a", 0, "a0"), text_event("a", 1, "a1"))
    w = rig["worker"]()
    for _ in range(3):
        await w.drain()
        rig["clock"].advance(seconds=3600)
    inbox, _ = await rows(rig)
    assert inbox[0].status == "parked" and inbox[0].attempts == 3
    assert inbox[1].status == "done"
    assert rig["seen"] == ["a1"]


async def test_parked_event_can_be_retried_by_an_operator(rig):
    from models.queues import list_parked, retry_parked

    rig["failing"]["a0"] = 3
    await store(rig, text_event("a", 0, "a0"))
    w = rig["worker"]()
    for _ in range(3):
        await w.drain()
        rig["clock"].advance(seconds=3600)
    async with rig["sm"]() as s, s.begin():
        assert [r.id for r in await list_parked(s, "inbox")] == [1]
        assert await retry_parked(s, "inbox", 1)
        assert await retry_parked(s, "inbox", 1) is False  # not parked now
    await w.drain()
    assert rig["seen"] == ["a0"]


async def test_a_new_worker_processes_what_was_acked_but_not_handled(rig):
    await store(rig, *[text_event("a", i, f"a{i}") for i in range(3)])
    # No worker ran (as after a crash right after the acks). A fresh one picks everything up.
    await rig["worker"]().drain()
    assert rig["seen"] == ["a0", "a1", "a2"]


async def test_duplicates_are_reported_and_not_stored_twice(rig):
    e = text_event("a", 0, "a0")
    assert await rig["writer"].store(e) is True
    assert await rig["writer"].store(e) is False
    inbox, _ = await rows(rig)
    assert len(inbox) == 1


async def test_unhandled_event_is_done_not_retried(rig):
    await store(rig, Event("app", "event", "something_new", "u", "app:u", "app:evt:x", {}))
    await rig["worker"]().drain()
    inbox, outbox = await rows(rig)
    assert inbox[0].status == "done" and outbox == []


async def test_two_workers_on_one_inbox_handle_each_event_once(rig):
    """Two workers (as two bot processes would) racing over the same inbox: no event twice,
    and each conversation still in order."""
    import asyncio

    await store(rig, *[text_event(c, i, f"{c}{i}") for i in range(6) for c in "abcd"])
    w1, w2 = rig["worker"](concurrency=4), rig["worker"](concurrency=4)
    for _ in range(10):
        await asyncio.gather(w1.run_once(), w2.run_once())
    seen = rig["seen"]
    assert sorted(seen) == sorted(f"{c}{i}" for i in range(6) for c in "abcd")  # each once
    for c in "abcd":
        assert [t for t in seen if t[0] == c] == [f"{c}{i}" for i in range(6)]
    inbox, outbox = await rows(rig)
    assert all(r.status == "done" for r in inbox) and len(outbox) == 24


async def test_one_batch_says_the_same_thing_twice_to_one_person_and_both_arrive(rig):
    """A batch writes what its handlers said once, after the last of them: the same answer to
    the same person from two conversations (their 1:1 chat and a group) in one transaction is
    still made distinct, in order, so WeCom's duplicate check delivers both."""
    await store(rig, Event("app", "message", "text", "zhangsan", "app:zhangsan",
                           "app:msg:1", {"text": "？"}),
                Event("app", "message", "text", "zhangsan", "group:g1", "app:msg:2",
                      {"text": "？"}))
    worker = rig["worker"](concurrency=4, batch=32)
    assert await worker.run_once() == 2
    inbox, outbox = await rows(rig)
    assert all(r.status == "done" for r in inbox)
    texts = [o.payload["text"]["content"] for o in outbox]
    assert [t.replace("\u200b", "") for t in texts] == ["ok ？", "ok ？"]
    assert texts[0] == "ok ？" and texts[1] != texts[0]  # the second one marked


async def test_a_later_handler_of_a_batch_counts_the_earlier_ones_unwritten_replies(rig):
    """A batch writes its replies after its last handler; a handler that counts the outbox
    within the transaction (微信客服's five sends per customer message) must still see what
    earlier handlers of the batch queued for that customer, or a progress notice could take
    the sends kept for 完工 and the statement."""
    from models.keys import kf_conversation
    from models.queues import kf_sends_since_last_message

    counted: list[int] = []
    router = Router("kf-notices")

    @router.message(msgtype="text")
    async def tell_the_kf_customer(ctx):
        counted.append((await kf_sends_since_last_message(ctx.session, "wk1", "wm1"))[1])
        ctx.send_to_kf("wk1", "wm1", f"进度 {ctx.event.text}")

    await store(rig, Event("kf", "message", "text", "wm1", kf_conversation("wk1", "wm1"),
                           "kf:m:1", {"text": "在吗"}),
                *[Event("app", "message", "text", f"s{i}", f"app:s{i}", f"app:m:{i}",
                        {"text": str(i)}) for i in range(3)])
    clock = rig["clock"]
    worker = InboxWorker(rig["sm"], Dispatcher([router], clock=clock), clock, Metrics(),
                         agent_id=1, concurrency=8, batch=32)
    assert await worker.run_once() == 4  # one batch, one transaction
    assert counted == [0, 1, 2, 3]  # each handler saw what the ones before it queued
    async with rig["sm"]() as s:
        assert (await kf_sends_since_last_message(s, "wk1", "wm1"))[1] == 4


@pytest.mark.parametrize("ingest_waits", [True, False])
async def test_a_batch_gives_the_write_lock_to_a_waiting_ingest_after_its_hold_budget(
        rig, db_url, ingest_waits):
    """On SQLite the ingest process waits for the worker's transaction before it may ack: past
    ``hold_seconds``, while a writer waits, what is handled commits and the rest goes on in
    the next transaction. With nobody waiting the batch stays one transaction."""
    from sqlalchemy import event

    from models.db import WriteGate

    await store(rig, *[text_event(c, 0, f"{c}0") for c in "abcdef"])
    worker = rig["worker"](concurrency=8, batch=32, gate=WriteGate.for_url(db_url),
                           hold_seconds=0,  # every event is past the budget
                           writer_waiting=lambda: ingest_waits)
    commits: list[int] = []
    engine = rig["sm"].kw["bind"].sync_engine
    listener = lambda conn: commits.append(1)  # noqa: E731
    event.listen(engine, "commit", listener)
    try:
        await worker.drain()
    finally:
        event.remove(engine, "commit", listener)
    assert sorted(rig["seen"]) == ["a0", "b0", "c0", "d0", "e0", "f0"]  # nothing lost or twice
    inbox, outbox = await rows(rig)
    assert all(r.status == "done" for r in inbox) and len(outbox) == 6
    if ingest_waits:
        assert len(commits) >= 6  # one transaction per event, not one for the batch
    else:
        assert len(commits) == 1
