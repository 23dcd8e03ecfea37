"""Wake-ups between processes (bot/wake.py): a datagram beside SQLite, NOTIFY on PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib

from bot.wake import WakeSocket


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
    from bot.wake import PgWake, cross_process_wake

    assert isinstance(cross_process_wake(f"sqlite:///{tmp_path / 'bot.db'}"), WakeSocket)
    pg = cross_process_wake("postgresql+psycopg://bot:s3cret@127.0.0.1:5432/bot")
    assert isinstance(pg, PgWake)
    # psycopg's own form, with timeouts that make a dead peer fail in seconds ...
    assert pg.conninfo.startswith("postgresql://bot:s3cret@127.0.0.1:5432/bot?")
    assert "connect_timeout=5" in pg.conninfo and "tcp_user_timeout=10000" in pg.conninfo
    # ... unless the URL says otherwise
    assert "connect_timeout=1&" in PgWake("postgresql://h/db?connect_timeout=1").conninfo + "&"
    assert isinstance(cross_process_wake("postgres://bot@127.0.0.1/bot"), PgWake)
    assert cross_process_wake("sqlite:///:memory:") is None
    # The worker wakes a sender process on a channel of its own.
    assert cross_process_wake(f"sqlite:///{tmp_path / 'bot.db'}", "outbox").path == str(
        tmp_path / "bot.db") + ".wake-outbox"
    assert (pg.channel, PgWake.for_url("postgresql://x@h/db", "outbox").channel) == (
        "bot_inbox", "bot_outbox")


async def test_a_notify_wakes_every_listening_worker_and_a_burst_does_not_pile_up(pg_database):
    from bot.wake import PgWake

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
        assert ingest.sent <= 3  # 201 wakes: the first NOTIFY, then one for the burst
    finally:
        for w in workers:
            await w.stop()
        await ingest.stop()
    ingest.wake()  # stopped: nothing is sent, nothing raised
    assert ingest._out is None


async def test_a_listener_whose_connection_is_killed_says_so_and_listens_again(pg_database,
                                                                            caplog):
    import psycopg

    from bot.wake import PgWake

    ingest = PgWake(pg_database)
    worker = PgWake(pg_database, retry_seconds=0, slice_seconds=0.05)
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

    with caplog.at_level("INFO", logger="bot.wake"):
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
    assert sum("lost its PostgreSQL connection" in m for m in said) == 1
    assert any("connected again" in m for m in said)


async def test_a_listener_that_cannot_connect_says_so_once_and_keeps_trying(caplog):
    import socket as s

    from bot.wake import PgWake

    probe = s.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # a port nobody listens on
    wake = PgWake(f"postgresql://postgres@127.0.0.1:{port}/test", retry_seconds=0,
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
    with caplog.at_level("WARNING", logger="bot.wake"):
        wake.listen(lambda: None)
        await asyncio.wait_for(asyncio.shield(wake._listener), 10)
        await wake.stop()
    lost = [r for r in caplog.records if "lost its PostgreSQL connection" in r.getMessage()]
    assert tries == 3 and len(lost) == 1
    assert "the loop polls meanwhile" in lost[0].getMessage()


class FreezingProxy:
    """A TCP proxy to PostgreSQL that can stop forwarding without closing anything: a peer
    that hangs, as a wedged middlebox does."""

    def __init__(self) -> None:
        self.frozen = False
        self.server: asyncio.AbstractServer | None = None
        self.port = 0
        self.writers: list[asyncio.StreamWriter] = []
        self.clients: list[asyncio.Task] = []

    async def start(self, target_port: int = 5432) -> "FreezingProxy":
        async def pipe(reader, writer) -> None:
            with contextlib.suppress(Exception):
                while data := await reader.read(65536):
                    if not self.frozen:  # frozen: read and drop, answer nothing
                        writer.write(data)
                        await writer.drain()

        async def client(reader, writer) -> None:
            self.clients.append(asyncio.current_task())
            up_r, up_w = await asyncio.open_connection("127.0.0.1", target_port)
            self.writers += [writer, up_w]
            await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))

        self.server = await asyncio.start_server(client, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def url(self, pg_url: str, **query: str) -> str:
        from sqlalchemy.engine import make_url

        return make_url(pg_url).set(host="127.0.0.1", port=self.port).update_query_dict(
            query).render_as_string(hide_password=False)

    async def stop(self) -> None:
        self.server.close()
        for w in self.writers:
            w.close()
            with contextlib.suppress(Exception):
                await w.wait_closed()
        await asyncio.gather(*self.clients, return_exceptions=True)
        await self.server.wait_closed()


async def test_a_stop_ends_a_listener_and_a_notify_stuck_on_a_hung_peer(pg_database):
    import time

    from bot.wake import PgWake

    proxy = await FreezingProxy().start()
    connected = asyncio.Event()
    listener = PgWake(proxy.url(pg_database), slice_seconds=0.05)
    ingest = PgWake(proxy.url(pg_database), slice_seconds=0.05)
    try:
        listener.listen(connected.set)
        await asyncio.wait_for(connected.wait(), 10)
        ingest.wake()
        await asyncio.wait_for(asyncio.shield(ingest._notifier), 10)
        proxy.frozen = True  # from here on nothing passes, nothing is closed
        ingest.wake()  # this NOTIFY waits for an answer that never comes
        started = time.monotonic()
        await asyncio.wait_for(asyncio.gather(listener.stop(), ingest.stop()), 10)
        assert time.monotonic() - started < 2  # a slice or two, then the connections closed
        assert listener._listener.done() and ingest._notifier.done()
    finally:
        await proxy.stop()


async def test_a_stop_while_connecting_to_a_server_that_never_answers_ends_by_the_timeout():
    import time

    from bot.wake import PgWake

    import socket as s

    server = s.socket()  # listens (the kernel completes the handshake), never answers
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]
    wake = PgWake(f"postgresql://postgres@127.0.0.1:{port}/test?connect_timeout=1",
                  slice_seconds=0.05)
    try:
        wake.listen(lambda: None)
        wake.wake()
        await asyncio.sleep(0)  # both tasks are connecting
        started = time.monotonic()
        await asyncio.wait_for(wake.stop(), 10)
        assert time.monotonic() - started < 3  # the connect timeout (1 s), not TCP's minutes
    finally:
        server.close()


async def test_a_quiet_listener_asks_the_server_whether_its_connection_is_alive(pg_database):
    import psycopg

    from bot.wake import PgWake

    listener = PgWake(pg_database, slice_seconds=0.05, alive_seconds=0.1)
    connected = asyncio.Event()
    listener.listen(connected.set)

    def last_statement(pid: int) -> str:
        with psycopg.connect(pg_database, autocommit=True) as c:
            return c.execute("SELECT query FROM pg_stat_activity WHERE pid = %s",
                             (pid,)).fetchone()[0]

    def listener_pid() -> int:
        with psycopg.connect(pg_database, autocommit=True) as c:
            [(pid,)] = c.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND query LIKE 'LISTEN%%'").fetchall()
            return pid

    try:
        await asyncio.wait_for(connected.wait(), 10)
        pid = await asyncio.to_thread(listener_pid)
        seen = []
        for _ in range(200):  # pg_stat_activity shows each backend's last statement
            seen.append(await asyncio.to_thread(last_statement, pid))
            if seen[-1] == "SELECT 1":
                break
        assert seen[-1] == "SELECT 1", seen[-3:]
    finally:
        await listener.stop()


async def test_a_notify_that_cannot_get_through_says_so_once_per_outage(caplog):
    import socket as s

    from bot.wake import PgWake

    probe = s.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # a port nobody listens on
    ingest = PgWake(f"postgresql://postgres@127.0.0.1:{port}/test")
    with caplog.at_level("WARNING", logger="bot.wake"):
        for _ in range(3):  # three commits while PostgreSQL cannot be reached
            ingest.wake()
            await asyncio.wait_for(asyncio.shield(ingest._notifier), 10)
        await ingest.stop()
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and "could not wake the processes listening on bot_inbox" in said[0]
    assert ingest.sent == 0
