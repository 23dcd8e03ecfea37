"""Durable timers: armed in the caller's transaction, fired once through the inbox."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from bot.metrics import Metrics
from bot.worker import InboxWorker
from handlers.routing import Dispatcher, Router
from models.db import WriteGate, make_engine, make_sessionmaker, write_session
from models.tables import InboxEvent
from models.timer import Timer
from scheduler.clock import ManualClock
from scheduler.timers import Arming, TimerSweep, arm, arm_many, cancel

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


@pytest.fixture
async def env(db_url):
    engine = make_engine(db_url)
    sm = make_sessionmaker(engine)
    clock = ManualClock(T0)
    gate = WriteGate.for_url(db_url)
    fired: list[tuple[str, dict]] = []
    router = Router("t")

    @router.timer("offer_timeout")
    async def on_timeout(ctx, data, timer_key):
        fired.append((timer_key, data))

    worker = InboxWorker(sm, Dispatcher([router], clock=clock), clock, Metrics(), gate=gate)
    yield {"sm": sm, "clock": clock, "gate": gate, "fired": fired, "worker": worker,
           "sweep": TimerSweep(sm, clock, gate=gate, name="p1")}
    await engine.dispose()


async def arm_(env, key, minutes, **kw):
    async with write_session(env["sm"], env["gate"]) as s:
        await arm(s, key, T0 + timedelta(minutes=minutes), "offer_timeout",
                  payload={"offer": key}, now=env["clock"].now(), **kw)


async def test_fires_when_due_once_and_through_the_dispatcher(env):
    await arm_(env, "offer:1", 5)
    assert await env["sweep"].sweep_once() == 0  # not due
    env["clock"].advance(minutes=5)
    assert await env["sweep"].sweep_once() == 1
    assert await env["sweep"].sweep_once() == 0  # never twice
    await env["worker"].drain()
    assert env["fired"] == [("offer:1", {"offer": "offer:1"})]


async def test_cancel_and_rearm_are_one_call(env):
    await arm_(env, "offer:1", 5)
    await arm_(env, "offer:2", 5)
    async with write_session(env["sm"], env["gate"]) as s:
        assert await cancel(s, "offer:1", now=env["clock"].now()) is True
        assert await cancel(s, "offer:missing", now=env["clock"].now()) is False
    await arm_(env, "offer:2", 30)  # re-armed later: the old deadline no longer fires
    env["clock"].advance(minutes=10)
    assert await env["sweep"].sweep_once() == 0
    env["clock"].advance(minutes=20)
    assert await env["sweep"].sweep_once() == 1
    await env["worker"].drain()
    assert [k for k, _ in env["fired"]] == ["offer:2"]


async def test_a_late_timer_fires_late_not_never(env):
    await arm_(env, "offer:1", 1)
    env["clock"].advance(days=3)  # the bot was down for three days
    assert await env["sweep"].sweep_once() == 1
    await env["worker"].drain()
    assert [k for k, _ in env["fired"]] == ["offer:1"]


async def test_rearming_after_firing_fires_again(env):
    await arm_(env, "offer:1", 1)
    env["clock"].advance(minutes=1)
    await env["sweep"].sweep_once()
    await arm_(env, "offer:1", 10)
    env["clock"].advance(minutes=10)
    assert await env["sweep"].sweep_once() == 1
    await env["worker"].drain()
    assert [k for k, _ in env["fired"]] == ["offer:1", "offer:1"]


async def test_arming_rolls_back_with_the_state_change(env):
    with pytest.raises(RuntimeError):
        async with write_session(env["sm"], env["gate"]) as s:
            await arm(s, "offer:9", T0, "offer_timeout", now=T0)
            raise RuntimeError("the offer could not be made")
    async with env["sm"]() as s:
        assert (await s.execute(select(Timer))).scalars().all() == []


async def test_two_sweepers_fire_each_timer_exactly_once(env, db_url):
    """Two sweepers racing (as two bot processes would; the PostgreSQL run is the real test
    of SKIP LOCKED, the SQLite run of the single-writer fallback)."""
    engine2 = make_engine(db_url)
    other = TimerSweep(make_sessionmaker(engine2), env["clock"], batch=7, name="p2",
                       gate=WriteGate(False) if "postgresql" in db_url else env["gate"])
    env["sweep"].batch = 7
    for i in range(60):
        await arm_(env, f"offer:{i}", i % 10)
    env["clock"].advance(minutes=10)
    a, b = await asyncio.gather(env["sweep"].sweep_once(), other.sweep_once())
    assert a + b == 60
    async with env["sm"]() as s:
        timers = (await s.execute(select(Timer))).scalars().all()
        events = (await s.execute(select(InboxEvent))).scalars().all()
    assert all(t.fire_count == 1 and t.status == "fired" for t in timers)
    assert len(events) == 60
    await engine2.dispose()


def _count_statements(env) -> list[str]:
    """The SQL the env's engine runs from now on (first word of each statement)."""
    from sqlalchemy import event as sa_event

    seen: list[str] = []
    engine = env["sm"].kw["bind"].sync_engine
    sa_event.listen(engine, "before_cursor_execute",
                    lambda conn, cur, statement, *a: seen.append(statement.split()[0]))
    return seen


async def test_arming_several_timers_is_one_statement_and_rearms_keep_their_meaning(env):
    await arm_(env, "offer:1", 5, conversation_key="conv:a")
    seen = _count_statements(env)
    async with write_session(env["sm"], env["gate"]) as s:
        await arm_many(s, [Arming("offer:1", T0 + timedelta(minutes=9), "offer_timeout",
                                  {"n": 2}, "conv:b"),
                           Arming("offer:2", T0 + timedelta(minutes=1), "offer_timeout", {"n": 1},
                                  "conv:c"),
                           Arming("offer:2", T0 + timedelta(minutes=2), "offer_timeout", {"n": 3},
                                  "conv:c")],  # the same key twice: the last holds
                       now=T0)
    assert seen.count("INSERT") == 1 and "SELECT" not in seen
    await arm_(env, "offer:1", 7)  # no conversation given: the re-arm keeps its own
    async with env["sm"]() as s:
        t = {r.key: r for r in (await s.execute(select(Timer))).scalars()}
    assert (t["offer:1"].generation, t["offer:1"].conversation_key, t["offer:1"].status,
            t["offer:1"].due_at) == (3, "conv:b", "armed", T0 + timedelta(minutes=7))
    assert (t["offer:2"].generation, t["offer:2"].payload, t["offer:2"].due_at) == \
        (1, {"n": 3}, T0 + timedelta(minutes=2))
    env["clock"].advance(minutes=7)
    assert await env["sweep"].sweep_once() == 2
    await env["worker"].drain()
    assert sorted(env["fired"]) == [("offer:1", {"offer": "offer:1"}), ("offer:2", {"n": 3})]


async def test_two_transactions_arming_the_same_new_key_both_succeed(pg_database):
    """The upsert is atomic: two writers arming one new key at once (two replicas answering
    the same card) leave one timer at the later writer's deadline, not a unique-key failure.
    PostgreSQL's case: on SQLite one writer at a time holds the write lock."""
    from tests.conftest import _truncate_pg

    _truncate_pg(pg_database)
    engines = [make_engine(pg_database) for _ in range(2)]
    first, second = (make_sessionmaker(e) for e in engines)
    async with write_session(first, None) as a:
        await arm(a, "offer:7", T0 + timedelta(minutes=1), "offer_timeout", now=T0)
        other = asyncio.create_task(_arm_in(second, "offer:7", T0 + timedelta(minutes=2)))
        await until_one_waits_on_a_lock(first, "the second writer never waited for the first")
    await other
    async with first() as s:
        rows = (await s.execute(select(Timer).where(Timer.key == "offer:7"))).scalars().all()
    assert [(r.generation, r.due_at) for r in rows] == [(2, T0 + timedelta(minutes=2))]
    for e in engines:
        await e.dispose()


async def until_one_waits_on_a_lock(sm, failure: str) -> None:
    """Watch PostgreSQL until a session of this database waits for a lock (another task of
    the test is getting there; no time is waited for)."""
    for _ in range(10_000):
        async with sm() as look:
            if (await look.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"))).scalar():
                return
    pytest.fail(failure)


async def _arm_in(sm, key, due):
    async with write_session(sm, None) as s:
        await arm(s, key, due, "offer_timeout", now=T0)


def test_the_next_sweep_comes_at_the_earliest_deadline_not_a_tick_later():
    from scheduler.timers import seconds_until_next_sweep as wait
    assert wait(None, T0, 1.0, 0.1) is None  # nothing armed: the regular tick
    assert wait(T0 + timedelta(seconds=5), T0, 1.0, 0.1) is None  # the tick comes first
    assert wait(T0 + timedelta(milliseconds=400), T0, 1.0, 0.1) == pytest.approx(0.4)
    assert wait(T0 + timedelta(milliseconds=30), T0, 1.0, 0.1) == 0.1  # a burst: batches
    assert wait(T0 - timedelta(seconds=3), T0, 1.0, 0.1) == 0.1  # overdue (another replica's)


async def test_a_sweep_plans_a_one_off_sweep_for_a_deadline_before_the_next_tick(env):
    sweep = env["sweep"]
    sweep.start(interval_seconds=60)
    try:
        await arm_(env, "offer:1", 10)  # ten minutes: the hourly tick would do
        await sweep.tick()
        assert sweep._scheduler.get_job("timer-sweep-soon") is None
        async with write_session(env["sm"], env["gate"]) as s:
            await arm(s, "offer:2", T0 + timedelta(seconds=20), "offer_timeout", now=T0)
        before = datetime.now(UTC)
        await sweep.tick()
        planned = sweep._scheduler.get_job("timer-sweep-soon").next_run_time
        assert 19 <= (planned - before).total_seconds() <= 21  # when offer:2 is due
        env["clock"].advance(seconds=20)
        await sweep.tick()  # what the planned sweep does: offer:2 fires on time
        assert sweep.fired == 1
        assert sweep._scheduler.get_job("timer-sweep-soon") is None  # offer:1 is 9 min away
    finally:
        await sweep.stop()


async def test_a_stop_during_a_sweep_lets_it_finish_and_leaves_no_row_locked(pg_database):
    """Shutdown comes while a sweep's transaction waits (APScheduler cancels the job that runs
    it). The sweep finishes: its timer fires once, and no connection is left open inside the
    transaction. A sweep cancelled between statements or in its commit leaves its connection
    open in the transaction, holding the claimed timers' row locks until the garbage collector
    drops it; a handler of the same process touching such a timer then waits for ever, and so
    does the stop (a bot that did not exit on SIGTERM)."""
    from sqlalchemy import insert

    from models.messages import inbox_row
    from scheduler.timers import timer_event
    from tests.conftest import _truncate_pg

    _truncate_pg(pg_database)
    engines = [make_engine(pg_database) for _ in range(2)]
    sm, other = (make_sessionmaker(e) for e in engines)
    clock = ManualClock(T0)
    async with write_session(sm, None) as s:
        await arm(s, "offer:1", T0, "offer_timeout", now=T0)
    async with sm() as s:
        timer = (await s.execute(select(Timer))).scalar_one()
    sweep = TimerSweep(sm, clock, name="p1")
    async with other() as blocker:  # the same inbox row, not committed: the sweep's insert waits
        await blocker.execute(insert(InboxEvent).values(**inbox_row(timer_event(timer), T0)))
        job = asyncio.create_task(sweep.tick())
        await until_one_waits_on_a_lock(other, "the sweep never waited")  # its timer claimed
        job.cancel()  # what AsyncIOScheduler.shutdown(wait=False) does to a running job
        stopping = asyncio.create_task(sweep.stop())
        await asyncio.sleep(0)
        assert not stopping.done()  # it waits for the sweep in flight
        await blocker.rollback()
    await stopping
    await job
    async with other() as s:
        rows = (await s.execute(select(Timer.status, Timer.fire_count))).all()
        events = (await s.execute(select(func.count()).select_from(InboxEvent))).scalar()
        open_tx = (await s.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state LIKE 'idle in transaction%'"))).scalar()
    assert rows == [("fired", 1)] and events == 1
    assert open_tx == 0
    assert await sweep.sweep_once() == 0 and not sweep._inflight
    await sweep.tick()  # a tick after the stop starts nothing
    for e in engines:
        await e.dispose()


async def test_a_sweep_stopping_ends_after_the_batch_in_hand(env):
    """A backlog is swept in batches, each its own transaction: a stop that comes meanwhile
    waits for the batch in hand only, and the rest stays armed for the next start."""
    sweep = TimerSweep(env["sm"], env["clock"], gate=env["gate"], batch=2, name="p1")
    for i in range(5):
        await arm_(env, f"offer:{i}", 0)
    sweep._stopping = True  # what stop() sets while a sweep runs
    assert await sweep.sweep_once() == 2
    async with env["sm"]() as s:
        statuses = sorted((await s.execute(select(Timer.status))).scalars())
    assert statuses == ["armed"] * 3 + ["fired"] * 2
    sweep.start(3600)  # a later start sweeps again
    try:
        assert await sweep.sweep_once() == 3
    finally:
        await sweep.stop()
