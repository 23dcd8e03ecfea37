"""Nothing lost, nothing handled twice, nothing delivered twice: real bot processes killed at
random points, a WeCom that answers after the client gave up, two replicas on one database.

Counts, per trial: *lost* (an acked message never answered), *handled twice* (an inbox event
done twice, or a message answered by two different replies) and *delivered twice* (the same
reply reaching the person twice). All three must be zero; the sandbox emulates WeCom's
duplicate check on ``message/send`` (a resend of the same request JSON within the interval
is not delivered again).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
from collections import Counter
from datetime import datetime, timezone

import pytest

from bot.sandbox.server import Sandbox
from tests.conftest import TEST_AES_KEY, TEST_CORP_ID, TEST_SECRET, TEST_TOKEN, _truncate_pg
from tests.procs import (free_port, query, unhandled, spawn_bot, start_bot, start_worker, stop_all,
                         wait_healthy)

SEED = int(os.environ.get("RELIABILITY_SEED", "20261129"))


def sandbox_for(port: int) -> Sandbox:
    sb = Sandbox(corp_id=TEST_CORP_ID, agent_id=218, secret=TEST_SECRET, app_token=TEST_TOKEN,
                 app_aes_key=TEST_AES_KEY)
    sb.bot_url = f"http://127.0.0.1:{port}"
    return sb


def replies_per_message(sb: Sandbox, users: list[str], texts: list[str]) -> Counter:
    """How many bot lines quote each message (every intake answer quotes the text)."""
    lines = [ln.content for u in users for ln in sb.delivered(f"app:{u}") if ln.kind == "text"]
    return Counter({t: sum(t in ln for ln in lines) for t in texts})


@contextlib.asynccontextmanager
async def split_processes(db_url: str, tmp_path, *others: dict[str, str]):
    """An ingest process (RUN_WORKER=false) and, for each of ``others``, a ``main.py worker``
    (or the ``command`` it names) with that environment; yields (sandbox, processes, port) and
    stops them all, each expected to exit 0."""
    port = free_port()
    sb = sandbox_for(port)
    sb_url = await sb.start()
    procs = []
    try:
        procs.append(await start_bot(db_url, sb_url, port, tmp_path, RUN_WORKER="false"))
        for env in others:
            procs.append(await start_worker(db_url, sb_url, tmp_path, **env))
        yield sb, procs, port
    finally:
        await stop_all(procs, sandbox=sb)
    assert [p.returncode for p in procs] == [0] * len(procs)


async def answered_once(sb: Sandbox, texts: list[str], users: list[str], by: str,
                        timeout: float = 60) -> None:
    """The users (in turn) send the texts at once; each is answered, exactly once."""
    acks = await asyncio.gather(*(sb.member_says(users[i % len(users)], t)
                                  for i, t in enumerate(texts)))
    assert all(a["acked"] for a in acks)
    await sb.wait_until(
        lambda: all(n >= 1 for n in replies_per_message(sb, users, texts).values()),
        timeout=timeout, what=f"{len(texts)} answers from {by}")
    assert sorted(set(replies_per_message(sb, users, texts).values())) == [1]


@pytest.fixture
def lane_dbs(request, tmp_path):
    """``lane_dbs(kind)`` → ``fresh(lane, trial)``: a new SQLite file per trial, or the lane's
    PostgreSQL database emptied (lane 0 the session's, lane 1 a second one made here) —
    two trials running at once never share a database. ``fresh`` may run in a thread."""
    created: list[str] = []

    def for_kind(kind: str):
        if kind == "sqlite":
            return lambda lane, trial: f"sqlite:///{tmp_path / f't{trial}.db'}"
        session_db = request.getfixturevalue("pg_database")

        def fresh(lane: int, trial: int) -> str:
            if lane == 0:
                url = session_db
            elif created:
                url = created[0]
            else:
                import uuid

                import psycopg

                from models.db import migrate
                from tests.conftest import PG_ADMIN_URL

                name = f"wo_kill_{uuid.uuid4().hex[:8]}"
                with psycopg.connect(PG_ADMIN_URL, autocommit=True) as c:
                    c.execute(f'CREATE DATABASE "{name}"')
                url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
                created.append(url)
                migrate(url)
            _truncate_pg(url)
            return url

        return fresh

    yield for_kind
    if created:
        import psycopg

        from tests.conftest import PG_ADMIN_URL

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{created[0].rsplit("/", 1)[1]}" WITH (FORCE)')


# -- SIGKILL at random points while sending -------------------------------------------------


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_sigkill_at_random_points_loses_nothing_and_delivers_nothing_twice(
        kind, tmp_path, lane_dbs):
    """Each trial: a fresh database, its own sandbox and bot process, 40 messages, SIGKILL
    after a random number of sends reached WeCom, a new process on that database finishes.

    Most of a trial is two bot processes starting (~2.4 s each), so the trials run in two
    lanes at once (trials 0, 2, 4 and 1, 3, 5), each on its own database, sandbox and port;
    the kill points are drawn from the seeded generator in trial order, as before."""
    rng = random.Random(f"{SEED}:{kind}")
    trials, per_trial = 6, 40
    kill_ats = [rng.randint(1, per_trial - 5) for _ in range(trials)]  # after the kill_at-th send
    fresh = lane_dbs(kind)
    totals = Counter()

    async def one_trial(lane: int, trial: int) -> None:
        db_url = await asyncio.to_thread(fresh, lane, trial)
        port = free_port()
        sb = sandbox_for(port)
        sb_url = await sb.start()
        # Every send is delivered at once but answered 30 ms later: a kill lands in that gap
        # (WeCom has the message, the bot has not recorded it) more often than not.
        sb.fail("message/send", answer_after=0.03, times=10_000)
        env = {"SENDER_LEASE_SECONDS": "1", "LOG_LEVEL": "WARNING"}
        procs = []
        try:
            procs.append(await spawn_bot(db_url, sb_url, port, tmp_path, **env))
            proc = procs[0]
            await wait_healthy(f"http://127.0.0.1:{port}", proc)
            users = [f"t{trial}u{i}" for i in range(8)]
            texts = [f"试验{trial}第{i}号门店的咖啡机坏了" for i in range(per_trial)]
            acks = await asyncio.gather(*(sb.member_says(users[i % 8], t)
                                          for i, t in enumerate(texts)))
            assert all(a["acked"] for a in acks)
            kill_at = kill_ats[trial]
            await sb.wait_for_calls("message/send", kill_at, timeout=30)
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            procs.append(await spawn_bot(db_url, sb_url, port, tmp_path, **env))
            await wait_healthy(f"http://127.0.0.1:{port}", procs[1])
            await sb.wait_until(
                lambda: all(n >= 1 for n in replies_per_message(sb, users, texts).values()),
                timeout=60, what="every message answered")
            await stop_all(procs[1:])
            counts = replies_per_message(sb, users, texts)
            done = query(db_url, "SELECT status, count(*) FROM inbox GROUP BY status")
            unsent = query(db_url, "SELECT count(*) FROM outbox WHERE status <> 'sent'")[0][0]
            lost = sum(1 for n in counts.values() if n == 0)
            twice = sum(n - 1 for n in counts.values() if n > 1)
            totals.update(lost=lost, delivered_twice=twice, trials=1,
                          resends_suppressed=len(sb.state.duplicates))
            assert lost == 0 and twice == 0, (trial, kill_at, counts)
            assert dict(done) == {"done": per_trial}, done
            assert unsent == 0
        finally:
            for p in procs:
                if p.returncode is None:
                    p.kill()
                    await p.wait()
            await sb.stop()

    async def lane(k: int) -> None:
        for trial in range(k, trials, 2):
            await one_trial(k, trial)

    async with asyncio.TaskGroup() as lanes:  # one lane failing stops the other
        lanes.create_task(lane(0))
        lanes.create_task(lane(1))
    print(f"{kind}: {dict(totals)}")
    assert totals["trials"] == trials


# -- a WeCom that answers after the client's timeout -----------------------------------------


async def _late_stack(db_url):
    """The in-process bot and sandbox, with a client that gives up after 0.2 s."""
    import aiohttp

    from tests.conftest import start_stack

    st = await start_stack(db_url)
    st.bot.client.timeout = aiohttp.ClientTimeout(total=0.2)
    return st


async def test_a_send_answered_after_the_timeout_is_delivered_once(db_url):
    st = await _late_stack(db_url)
    try:
        st.sandbox.fail("message/send", answer_after=0.4)  # accepted, answered too late
        await st.sandbox.member_says("zhangsan", "人民广场店咖啡机坏了")
        await st.settle()
        lines = st.sandbox.delivered("app:zhangsan")
        assert len([ln for ln in lines if ln.kind == "text"]) == 1
        assert len(st.sandbox.state.duplicates) == 1  # the client's retry, not delivered again
        assert [r.status for r in await st.outbox()] == ["sent"] * len(await st.outbox())
    finally:
        await st.bot.stop()
        await st.sandbox.stop()


async def test_a_late_response_url_answer_is_not_repeated_and_counts_as_sent(db_url):
    st = await _late_stack(db_url)
    try:
        st.sandbox.fail("response_url", answer_after=0.4)
        await st.sandbox.aibot_says("liuxiansheng", "家里的空调不制冷了")
        await st.settle()
        st.clock.advance(seconds=5)  # the retry after backoff finds the url spent
        await st.settle()
        assert len(st.sandbox.delivered("aibot:u:liuxiansheng")) == 1
        [row] = [r for r in await st.outbox() if r.api == "response_url"]
        assert row.status == "sent" and "assumed" in row.result
    finally:
        await st.bot.stop()
        await st.sandbox.stop()


async def test_an_at_most_once_notice_whose_outcome_is_unknown_is_parked_not_resent(db_url):
    """微信客服 progress notices (出发/到达) are at most once: after a timed-out send they are
    parked for a person instead of risking a second copy."""
    from models.queues import list_parked
    from tests.bot.test_outbox import queue_kf_progress

    st = await _late_stack(db_url)
    try:
        await queue_kf_progress(st, "师傅已出发")
        st.sandbox.fail("kf/send_msg", answer_after=0.4)
        await st.settle()
        assert len(st.sandbox.delivered("kf:wmCUSTOMER")) == 1
        st.clock.advance(seconds=600)
        await st.settle()
        assert len(st.sandbox.delivered("kf:wmCUSTOMER")) == 1  # never a second copy
        async with st.bot.sm() as s:
            [parked] = await list_parked(s, "outbox")
        assert parked.last_error.startswith("outcome unknown")
    finally:
        await st.bot.stop()
        await st.sandbox.stop()


async def test_repeated_text_to_one_person_still_arrives_under_the_duplicate_check(stack):
    """Two answers meant to arrive both must differ: the same question asked again within
    the interval is made distinct (an invisible mark), so WeCom delivers it."""
    for _ in range(3):
        await stack.sandbox.member_says("zhangsan", "？？")
        await stack.settle()
    texts = [ln.content for ln in stack.sandbox.delivered("app:zhangsan")]
    assert len(texts) == 3 and len(set(texts)) == 3
    assert len({t.replace("\u200b", "") for t in texts}) == 1  # the same words each time
    assert stack.sandbox.state.duplicates == []


# -- two replicas ---------------------------------------------------------------------------


async def test_two_replicas_on_postgresql_deliver_each_of_500_replies_once(pg_database, tmp_path):
    _truncate_pg(pg_database)
    port_a, port_b = free_port(), free_port()
    sb = sandbox_for(port_a)
    sb_url = await sb.start()
    procs = []
    try:
        env = {"LOG_LEVEL": "WARNING", "WORKER_POLL_SECONDS": "0.05"}
        procs = [await start_bot(pg_database, sb_url, port, tmp_path, **env)
                 for port in (port_a, port_b)]
        users = [f"r{i}" for i in range(100)]
        texts = [f"副本测试{i}号店的冰箱不制冷" for i in range(500)]

        async def say(i: int, t: str) -> dict:
            sb.bot_url = f"http://127.0.0.1:{(port_a, port_b)[i % 2]}"  # callbacks to both
            return await sb.member_says(users[i % 100], t)

        acks = []
        for start in range(0, 500, 50):  # 50 at a time, as WeCom would spread them
            acks += await asyncio.gather(*(say(i, texts[i]) for i in range(start, start + 50)))
        assert all(a["acked"] for a in acks)
        await sb.wait_until(
            lambda: all(n >= 1 for n in replies_per_message(sb, users, texts).values()),
            timeout=120, what="500 answers")
        await stop_all(procs)
        counts = replies_per_message(sb, users, texts)
        assert sorted(set(counts.values())) == [1]
        bodies = Counter(str(c["body"]) for c in sb.calls("message/send"))
        rows = query(pg_database, "SELECT count(*) FROM outbox WHERE api = 'message/send'")[0][0]
        assert max(bodies.values()) == 1  # no row was sent by both replicas
        assert len(sb.calls("message/send")) == rows
        print(f"two replicas: {rows} outbox rows, {len(sb.calls('message/send'))} sends")
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
                await p.wait()
        await sb.stop()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_two_replicas_started_at_the_same_moment_on_a_fresh_database(kind, tmp_path):
    import uuid

    import psycopg

    from tests.conftest import PG_ADMIN_URL, ensure_postgres
    from tests.procs import spawn_bot, wait_healthy

    name = f"wo_fresh_{uuid.uuid4().hex[:8]}"
    if kind == "postgresql":
        ensure_postgres()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        db_url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    else:
        db_url = f"sqlite:///{tmp_path / 'fresh.db'}"
    sb = sandbox_for(0)
    sb_url = await sb.start()
    ports = [free_port(), free_port()]
    procs = []
    try:
        procs = [await spawn_bot(db_url, sb_url, p, tmp_path) for p in ports]
        await asyncio.gather(*(wait_healthy(f"http://127.0.0.1:{p}", proc)
                               for p, proc in zip(ports, procs)))
        from models.db import MIGRATIONS

        heads = sorted(f.name.split("_")[0] for f in (MIGRATIONS / "versions").glob("0*.py"))
        assert query(db_url, "SELECT version_num FROM alembic_version") == [(heads[-1],)]
        sb.bot_url = f"http://127.0.0.1:{ports[1]}"
        assert (await sb.member_says("zhangsan", "咖啡机坏了"))["acked"]
        await sb.wait_for_lines("app:zhangsan", 1, timeout=30)
    finally:
        await stop_all(procs, sandbox=sb)
        if kind == "postgresql":
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    assert all(p.returncode == 0 for p in procs)


# -- ingest and handling as separate processes ----------------------------------------------


async def test_ingest_and_worker_processes_answer_every_message(db_url, tmp_path):
    async with split_processes(db_url, tmp_path, {"WORKER_POLL_SECONDS": "0.05"}) as (sb, _, _):
        await answered_once(sb, [f"分开进程{i}号店的打印机卡纸" for i in range(20)],
                            [f"w{i}" for i in range(5)], "the worker process")


async def test_acks_on_sqlite_do_not_wait_for_a_transaction_holding_the_database(
        sqlite_url, tmp_path):
    """Ingest beside a worker on SQLite: each callback is stored in the ingest's spool (models/
    spool.py), so its ack does not wait for whatever transaction holds the database — a
    handler's, or here another connection's, held until every ack is in. Once the database is
    free, the worker answers each message once."""
    import sqlite3

    from sqlalchemy.engine import make_url

    texts = [f"数据库被占着的时候{i}号店的空调不制冷" for i in range(10)]
    async with split_processes(sqlite_url, tmp_path, {}) as (sb, _, _):
        other = sqlite3.connect(make_url(sqlite_url).database, isolation_level=None)
        try:
            other.execute("BEGIN EXCLUSIVE")
            acks = await asyncio.gather(*(sb.member_says(f"h{i % 3}", t)
                                          for i, t in enumerate(texts)))
            # Each acked at its first delivery, while the database was still held.
            assert [a["attempts"] for a in acks] == [[200]] * len(texts)
            assert unhandled(sqlite_url) == len(texts)
        finally:
            other.execute("ROLLBACK")
            other.close()
        await sb.wait_until(
            lambda: all(n >= 1 for n in replies_per_message(sb, ["h0", "h1", "h2"], texts)
                        .values()), timeout=60, what="every message answered")
        assert set(replies_per_message(sb, ["h0", "h1", "h2"], texts).values()) == {1}


async def test_the_ingest_process_wakes_the_worker_process_instead_of_its_poll(db_url, tmp_path):
    """The worker process polls only once a minute here: what it answers in time, it answers
    because the ingest process woke it (a datagram beside SQLite, NOTIFY on PostgreSQL) —
    after a chat message and after an API call that queued an event."""
    import aiohttp

    from handlers.board.keys import create_key
    from models.db import make_engine, make_sessionmaker, write_session

    engine = make_engine(db_url)
    async with write_session(make_sessionmaker(engine), None) as s:
        key = await create_key(s, "shop", ["tickets:write"],
                               now=datetime.now(timezone.utc), rate_per_minute=600)
    await engine.dispose()
    async with split_processes(db_url, tmp_path, {"WORKER_POLL_SECONDS": "60"}) as (sb, _, port):
        assert (await sb.member_says("zhangsan", "3号店咖啡机坏了"))["acked"]
        await sb.wait_for_lines("app:zhangsan", 1, timeout=20)
        async with aiohttp.ClientSession() as http:
            async with http.post(f"http://127.0.0.1:{port}/api/tickets", json={
                    "category": "repair", "description": "咖啡机不出水", "phone": "13800138000",
                    "address": "上海市黄浦区南京东路1号"},
                    headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "w1"}) as r:
                assert r.status == 201, await r.text()
        await sb.wait_until(lambda: not unhandled(db_url), timeout=20,
                            what="the API's ticket_created handled by the worker process")
        assert query(db_url, "SELECT type FROM inbox WHERE status = 'done' AND "
                     "type = 'ticket_created'")


async def test_a_sender_process_of_its_own_sends_every_answer_once_when_woken(db_url, tmp_path):
    """Ingest, a worker that does not send (RUN_SENDER=false) and ``main.py sender``: every
    message answered exactly once. The worker and the sender poll once a minute here, so the
    answers come in time only because each process woke the next."""
    async with split_processes(
            db_url, tmp_path, {"WORKER_POLL_SECONDS": "60", "RUN_SENDER": "false"},
            {"command": "sender", "SENDER_POLL_SECONDS": "60"}) as (sb, procs, _):
        await answered_once(sb, [f"发送进程{i}号店的空调不制冷" for i in range(12)],
                            [f"s{i}" for i in range(4)], "the sender process", timeout=30)
        await sb.wait_until(lambda: query(  # the cards that follow some answers, too
            db_url, "SELECT count(*) FROM outbox WHERE status <> 'sent'") == [(0,)],
            timeout=30, what="every outbox message sent")
        # The worker itself sends nothing: with the sender process stopped, an answer is
        # handled and queued, and waits.
        await stop_all(procs[2:])
        late = "发送进程停了以后的消息"
        assert (await sb.member_says("s0", late))["acked"]
        await sb.wait_until(lambda: not unhandled(db_url), timeout=30,
                            what="the last message handled by the worker")
        assert query(db_url, "SELECT count(*) FROM outbox WHERE status = 'pending'") != [(0,)]
        assert replies_per_message(sb, ["s0"], [late])[late] == 0


async def test_a_sandbox_run_that_would_send_nothing_is_refused(tmp_path):
    """The sandbox run is one process: with RUN_SENDER=false nobody would ever send."""
    import sys

    from tests.procs import MAIN, clean_env

    proc = await asyncio.create_subprocess_exec(
        sys.executable, MAIN, "serve", cwd=tmp_path, stderr=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, env=clean_env(
            RUN_SENDER="false", DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}", PORT="0"))
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2
    assert "configuration error: RUN_SENDER=false: a sandbox run is one process" in err.decode()
