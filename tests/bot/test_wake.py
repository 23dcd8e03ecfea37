"""The wake-up an ingest process sends a worker process beside the same SQLite database."""

from __future__ import annotations

import asyncio

from bot.loop import WakeSocket


def test_only_a_sqlite_file_has_a_wake_socket(tmp_path):
    ws = WakeSocket.for_url(f"sqlite:///{tmp_path / 'bot.db'}")
    assert ws is not None and ws.path == str(tmp_path / "bot.db") + ".wake"
    assert WakeSocket.for_url("sqlite:///:memory:") is None
    assert WakeSocket.for_url("postgresql://postgres@127.0.0.1/x") is None


async def test_a_stored_batch_wakes_the_worker_and_nobody_listening_is_harmless(tmp_path):
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    ingest = WakeSocket.for_url(url)
    ingest.wake()  # no worker yet: nothing happens, nothing raised
    worker = WakeSocket.for_url(url)
    woken = asyncio.Event()
    worker.listen(woken.set)
    try:
        ingest.wake()
        await asyncio.wait_for(woken.wait(), 5)
        woken.clear()
        for _ in range(50):  # a burst: the worker drains them and is woken, nothing piles up
            ingest.wake()
        await asyncio.wait_for(woken.wait(), 5)
    finally:
        worker.close()
        ingest.close()
    ingest.wake()  # the worker is gone: still harmless
    ingest.close()
