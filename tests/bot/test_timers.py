"""Durable timers: armed in the caller's transaction, fired once through the inbox."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.metrics import Metrics
from bot.worker import InboxWorker
from handlers.routing import Dispatcher, Router
from models.db import WriteGate, make_engine, make_sessionmaker, write_session
from models.tables import InboxEvent
from models.timer import Timer
from scheduler.clock import ManualClock
from scheduler.timers import TimerSweep, arm, cancel

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
