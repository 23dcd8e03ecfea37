"""The SQLite write gate: one writer at a time, ingest first, robust to cancellation."""

from __future__ import annotations

import asyncio

import pytest

from models.db import WriteGate


async def test_one_holder_at_a_time_and_high_priority_goes_first():
    gate = WriteGate(enabled=True)
    order: list[str] = []
    release = asyncio.Event()

    async def job(name: str, high: bool, wait: asyncio.Event | None = None):
        async with gate.hold(high):
            order.append(f"{name}+")
            if wait:
                await wait.wait()
            order.append(f"{name}-")

    first = asyncio.create_task(job("worker1", False, release))
    await asyncio.sleep(0)  # let it take the gate
    others = [asyncio.create_task(job("worker2", False)), asyncio.create_task(job("ingest", True))]
    await asyncio.sleep(0)
    assert order == ["worker1+"]  # nobody else got in while it held the gate
    release.set()
    await asyncio.gather(first, *others)
    assert order == ["worker1+", "worker1-", "ingest+", "ingest-", "worker2+", "worker2-"]


async def test_cancelled_waiter_does_not_wedge_the_gate():
    gate = WriteGate(enabled=True)
    release = asyncio.Event()

    async def holder():
        async with gate.hold():
            await release.wait()

    h = asyncio.create_task(holder())
    await asyncio.sleep(0)
    waiter = asyncio.create_task(gate.hold().__aenter__())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    release.set()
    await h
    async with gate.hold(high=True):  # free again
        pass


async def test_disabled_gate_is_open_for_postgresql():
    assert WriteGate.for_url("postgresql://x@localhost/db").enabled is False
    assert WriteGate.for_url("sqlite:///data/bot.db").enabled is True
    gate = WriteGate(enabled=False)
    async with gate.hold():
        async with gate.hold():  # no serialisation at all
            pass
