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


# -- PostgreSQL: NOTIFY / LISTEN -------------------------------------------------------------


def test_each_database_has_its_cross_process_wake(tmp_path):
    from bot.loop import PgWake, cross_process_wake

    assert isinstance(cross_process_wake(f"sqlite:///{tmp_path / 'bot.db'}"), WakeSocket)
    pg = cross_process_wake("postgresql+psycopg://bot:s3cret@127.0.0.1:5432/bot")
    assert isinstance(pg, PgWake)
    assert pg.conninfo == "postgresql://bot:s3cret@127.0.0.1:5432/bot"  # psycopg's own form
    assert cross_process_wake("sqlite:///:memory:") is None
    # The worker wakes a sender process on a channel of its own.
    assert cross_process_wake(f"sqlite:///{tmp_path / 'bot.db'}", "outbox").path == str(
        tmp_path / "bot.db") + ".wake-outbox"
    assert (pg.channel, PgWake.for_url("postgresql://x@h/db", "outbox").channel) == (
        "bot_inbox", "bot_outbox")


async def test_a_notify_wakes_every_listening_worker_and_a_burst_does_not_pile_up(pg_database):
    from bot.loop import PgWake

    ingest = PgWake(pg_database)
    ingest.wake()  # nobody listens yet: harmless
    workers = [PgWake(pg_database, slice_seconds=0.1) for _ in range(2)]
    woken = [asyncio.Event() for _ in workers]
    connected = [asyncio.Event() for _ in workers]
    for w, ev, up in zip(workers, woken, connected):
        # The listener wakes its worker once as it connects (for what came meanwhile).
        w.listen(lambda ev=ev, up=up: ev.set() if up.is_set() else up.set())
    try:
        await asyncio.wait_for(asyncio.gather(*(up.wait() for up in connected)), 10)
        ingest.wake()
        await asyncio.wait_for(asyncio.gather(*(ev.wait() for ev in woken)), 10)
        for ev in woken:
            ev.clear()
        for _ in range(200):  # one NOTIFY in flight at a time, one more for what came meanwhile
            ingest.wake()
        await asyncio.wait_for(asyncio.gather(*(ev.wait() for ev in woken)), 10)
        await asyncio.wait_for(asyncio.shield(ingest._notifier), 10)
    finally:
        for w in workers:
            await w.stop()
        await ingest.stop()
    ingest.wake()  # stopped: nothing is sent, nothing raised
    assert ingest._out is None


async def test_a_listener_whose_connection_is_killed_says_so_and_listens_again(pg_database,
                                                                            caplog):
    import psycopg

    from bot.loop import PgWake

    ingest = PgWake(pg_database)
    worker = PgWake(pg_database, retry_seconds=0.05, slice_seconds=0.05)
    wakes: list[int] = []
    woken = asyncio.Event()

    def on_wake() -> None:
        wakes.append(1)
        woken.set()

    def kill_listener() -> int:
        with psycopg.connect(pg_database, autocommit=True) as c:
            return c.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                             "WHERE query LIKE 'LISTEN%' AND datname = current_database()"
                             ).fetchone()[0]

    with caplog.at_level("INFO", logger="bot.loop"):
        worker.listen(on_wake)
        try:
            await asyncio.wait_for(woken.wait(), 10)  # connected
            woken.clear()
            assert await asyncio.to_thread(kill_listener) == 1
            await asyncio.wait_for(woken.wait(), 10)  # connected again (a wake for meanwhile)
            woken.clear()
            ingest.wake()
            await asyncio.wait_for(woken.wait(), 10)
        finally:
            await worker.stop()
            await ingest.stop()
    said = [r.getMessage() for r in caplog.records]
    assert sum("wake-up listener lost its PostgreSQL connection" in m for m in said) == 1
    assert any("connected again" in m for m in said)


async def test_a_listener_that_cannot_connect_says_so_once_and_keeps_trying(caplog):
    import socket as s

    from bot.loop import PgWake

    probe = s.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # a port nobody listens on
    wake = PgWake(f"postgresql://postgres@127.0.0.1:{port}/test", retry_seconds=0.05,
                  slice_seconds=0.01)
    tries = 0
    real = wake._pause

    async def counted() -> None:
        nonlocal tries
        tries += 1
        if tries == 3:
            wake._closing = True  # stop after three refused connections
        await real()

    wake._pause = counted
    with caplog.at_level("WARNING", logger="bot.loop"):
        wake.listen(lambda: None)
        await asyncio.wait_for(asyncio.shield(wake._listener), 10)
        await wake.stop()
    lost = [r for r in caplog.records if "wake-up listener lost" in r.getMessage()]
    assert tries == 3 and len(lost) == 1
    assert "the worker polls meanwhile" in lost[0].getMessage()
