"""The bot as a real process: SIGKILL after acks loses nothing; the newcomer's sandbox run;
configuration errors; no secret in the logs."""

from __future__ import annotations

import asyncio
import signal
import sys

import aiohttp
import pytest

from bot.sandbox.server import Sandbox
from tests.conftest import TEST_AES_KEY, TEST_CORP_ID, TEST_SECRET, TEST_TOKEN
from tests.procs import MAIN, clean_env, free_port, query, start_bot, stop_all, unhandled


async def test_sigkill_right_after_acks_loses_nothing(db_url, tmp_path):
    sandbox = Sandbox(corp_id=TEST_CORP_ID, agent_id=218, secret=TEST_SECRET,
                      app_token=TEST_TOKEN, app_aes_key=TEST_AES_KEY)
    sb_url = await sandbox.start()
    port = free_port()
    sandbox.bot_url = f"http://127.0.0.1:{port}"
    try:
        # First life: ingest only, so every acked message is certainly unprocessed at the kill.
        proc = await start_bot(db_url, sb_url, port, tmp_path, RUN_WORKER="false")
        texts = [f"第{i}号门店的咖啡机坏了" for i in range(25)]
        recs = await asyncio.gather(*(sandbox.member_says(f"user{i % 5}", t)
                                      for i, t in enumerate(texts)))
        assert all(r["acked"] for r in recs)
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        assert proc.returncode == -signal.SIGKILL

        # Everything acked is on disk, not yet handled (on SQLite in the ingest's spool).
        assert unhandled(db_url) == 25
        assert query(db_url, "SELECT count(*) FROM inbox WHERE status <> 'pending'") == [(0,)]

        # Second life: the worker finds all of it and answers each message once.
        proc = await start_bot(db_url, sb_url, port, tmp_path)
        for i in range(5):
            await sandbox.wait_for_lines(f"app:user{i}", 5, timeout=30)
        answered = [ln.content for i in range(5) for ln in sandbox.delivered(f"app:user{i}")]
        assert len(answered) == 25
        # Each message was answered once (quoted back as the report or as an addition to it).
        for t in texts:
            assert sum(t in a for a in answered) == 1, t
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0
        log = err.decode()
        assert "bot stopped cleanly" in log
        for secret in (TEST_SECRET, TEST_AES_KEY, TEST_TOKEN):
            assert secret not in log
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await sandbox.stop()


async def test_newcomer_runs_serve_without_credentials_and_chats_in_the_sandbox(tmp_path):
    port, sb_port = free_port(), free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, MAIN, "serve", cwd=tmp_path, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=clean_env(PORT=str(port), SANDBOX_PORT=str(sb_port)))
    try:
        line = ""
        while "Open http" not in line:
            line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
            assert line or proc.returncode is None, "serve exited before printing the page URL"
        page = f"http://127.0.0.1:{sb_port}"
        assert f"Open {page}/" in line
        async with aiohttp.ClientSession() as http:
            async with http.get(page + "/") as r:
                assert r.status == 200 and "企业微信沙箱" in await r.text()
            async with http.post(page + "/sandbox/api/say",
                                 json={"persona": "kf_chen", "text": "洗衣机不转了"}) as r:
                assert (await r.json())["acked"] is True
            for _ in range(200):
                async with http.get(page + "/sandbox/api/lines?persona=kf_chen") as r:
                    lines = (await r.json())["lines"]
                if any(ln["sender"] == "bot" for ln in lines):
                    break
                await asyncio.sleep(0.05)  # the page polls the same way
            bot_lines = [ln["content"] for ln in lines if ln["sender"] == "bot"]
            assert bot_lines and "洗衣机不转了" in bot_lines[0]
        assert (tmp_path / "data" / "bot.db").exists()  # the embedded default database
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0


@pytest.mark.parametrize("env,expected", [
    ({"PORT": "eighty"}, "configuration error: PORT"),
    ({"WECOM_CORP_ID": "ww1"}, "configuration error: WECOM_AGENT_ID is required"),
    ({"WECOM_CORP_ID": "ww1", "WECOM_AGENT_ID": "1", "WECOM_SECRET": "s", "WECOM_TOKEN": "t",
      "WECOM_AES_KEY": "too-short"}, "configuration error: WECOM_AES_KEY must be 43 characters"),
    ({"AIBOT_TOKEN": "t"}, "configuration error: AIBOT_AES_KEY is required"),
    ({"WECOM_API_BASE": "qyapi.weixin.qq.com"}, "configuration error: WECOM_API_BASE must start"),
])
async def test_bad_configuration_stops_at_start_with_one_line(tmp_path, env, expected):
    proc = await asyncio.create_subprocess_exec(
        sys.executable, MAIN, "serve", cwd=tmp_path, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=clean_env(**env))
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), lines
    for value in env.values():
        if len(value) > 3 and value not in ("eighty", "qyapi.weixin.qq.com"):
            assert value not in lines[0]


async def test_dotenv_file_is_read(tmp_path):
    (tmp_path / ".env").write_text("PORT=not-a-port\n")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, MAIN, "serve", cwd=tmp_path, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=clean_env())
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2 and b"PORT" in err


async def test_two_bot_processes_on_one_postgresql_fire_every_timer_exactly_once(
        pg_database, tmp_path):
    """Two real bot processes sweep the same timers table; each timer fires once."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import text

    from models.db import make_engine, make_sessionmaker, write_session
    from scheduler.timers import arm
    from tests.conftest import _truncate_pg

    _truncate_pg(pg_database)
    sandbox = Sandbox(corp_id=TEST_CORP_ID, agent_id=218, secret=TEST_SECRET,
                      app_token=TEST_TOKEN, app_aes_key=TEST_AES_KEY)
    sb_url = await sandbox.start()
    procs = []
    engine = make_engine(pg_database)
    try:
        now = datetime.now(UTC)
        async with write_session(make_sessionmaker(engine), None) as s:
            for i in range(120):  # due over three seconds once both processes run
                await arm(s, f"offer:{i}", now + timedelta(milliseconds=3000 + 25 * i),
                          "offer_timeout", payload={"i": i}, now=now)
        for _ in range(2):
            procs.append(await start_bot(pg_database, sb_url, free_port(), tmp_path,
                                         TIMER_SWEEP_SECONDS="0.1"))

        async def fired() -> int:
            async with engine.connect() as c:
                return (await c.execute(text(
                    "SELECT count(*) FROM timers WHERE status = 'fired' "
                    "AND key LIKE 'offer:%'"))).scalar_one()

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while await fired() < 120 and loop.time() < deadline:
            await asyncio.sleep(0.1)  # watching two other processes work
        async with engine.connect() as c:
            # only the test's own timers: the bot arms its recurring jobs (digests, the API's
            # pump and finance export) at start too
            counts = (await c.execute(text(
                "SELECT fire_count FROM timers WHERE key LIKE 'offer:%'"))).scalars().all()
            by = dict((await c.execute(text(
                "SELECT fired_by, count(*) FROM timers WHERE key LIKE 'offer:%' "
                "GROUP BY fired_by"))).all())
            events = (await c.execute(text(
                "SELECT count(*) FROM inbox WHERE channel = 'timer' "
                "AND type = 'offer_timeout'"))).scalar_one()
        assert sorted(counts) == [1] * 120, by
        assert events == 120
        print("timers fired per process:", by)
    finally:
        await stop_all(procs, engine, sandbox)


async def test_two_bot_processes_on_postgresql_time_out_every_offer_exactly_once(
        pg_database, tmp_path):
    """Twenty tickets are dispatched while two real bot processes share one PostgreSQL; nobody
    answers. Each offer times out once, each job moves to its second candidate once and then to
    the dispatcher once — never twice, never skipped — whichever process sweeps the timer."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import text

    from models.messages import Event
    from models.messages import inbox_row
    from handlers.staff.seed import seed_sandbox
    from models.db import make_engine, make_sessionmaker, write_session
    from models.queues import inbox_insert
    from models.ticketing import create_ticket, customer_for, site_named
    from models.tickets import TicketCreate
    from tests.conftest import _truncate_pg

    _truncate_pg(pg_database)
    offering = tmp_path / "offering.yaml"
    offering.write_text("hotline: '400-800-1234'\n"
                        "defaults: {mode: direct, answer_minutes: 0.02, max_candidates: 2,\n"
                        "           grab_size: 5, grab_minutes: 1, min_score: 0}\n"
                        "categories: {repair: {}}\n"
                        "skills: {devices: {咖啡机: {skill: coffee, min_level: 2}}}\n")
    sandbox = Sandbox(corp_id=TEST_CORP_ID, agent_id=218, secret=TEST_SECRET,
                      app_token=TEST_TOKEN, app_aes_key=TEST_AES_KEY)
    sb_url = await sandbox.start()
    engine = make_engine(pg_database)
    procs = []
    n = 20
    try:
        now = datetime.now(UTC)
        async with write_session(make_sessionmaker(engine), None) as s:
            await seed_sandbox(s, now)  # 李师傅 and 周师傅 repair coffee machines in Shanghai
            customer = await customer_for(s, "wecom_userid", "zhangsan", now)
            site = await site_named(s, "人民广场店", now)
            events = []
            for i in range(n):
                t = await create_ticket(s, TicketCreate(
                    customer_id=customer.id, site_id=site.id, category="repair",
                    title=f"咖啡机坏了{i}", device="咖啡机", store="人民广场店", channel="app",
                    conversation_key="app:zhangsan", reporter="zhangsan"), actor="test", now=now)
                events.append(Event("internal", "event", "ticket_created", "",
                                    f"ticket:{t.id}", f"test:created:{t.id}",
                                    {"ticket_id": t.id}))
        for _ in range(2):
            procs.append(await start_bot(pg_database, sb_url, free_port(), tmp_path,
                                         TIMER_SWEEP_SECONDS="0.1",
                                         OFFERING_CONFIG=str(offering)))
        # Both processes run: the tickets are reported over four seconds, so both sweep.
        now = datetime.now(UTC)
        rows = [inbox_row(e, now) for e in events]
        for i, r in enumerate(rows):
            r["next_attempt_at"] = now + timedelta(milliseconds=200 * i)
        async with write_session(make_sessionmaker(engine), None) as s:
            await inbox_insert(s, rows)

        async def escalated() -> int:
            async with engine.connect() as c:
                return (await c.execute(text(
                    "SELECT count(*) FROM dispatch_job WHERE status = 'escalated'"))).scalar_one()

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while await escalated() < n and loop.time() < deadline:
            await asyncio.sleep(0.2)  # watching two other processes work
        async with engine.connect() as c:
            q = lambda sql: c.execute(text(sql))  # noqa: E731
            offers = (await q("SELECT ticket_id, technician, status FROM dispatch_offer")).all()
            fires = (await q("SELECT fire_count FROM timers WHERE key LIKE 'offer:%'")
                     ).scalars().all()
            by = dict((await q("SELECT fired_by, count(*) FROM timers WHERE key LIKE 'offer:%' "
                               "GROUP BY fired_by")).all())
            timed_out = (await q("SELECT count(*) FROM ticket_event "
                                 "WHERE action = 'dispatch:timed_out'")).scalar_one()
            escalations = (await q("SELECT ticket_id FROM ticket_event "
                                   "WHERE action = 'dispatch:escalate'")).scalars().all()
            parked = (await q("SELECT count(*) FROM inbox WHERE status = 'parked'")).scalar_one()
        assert await escalated() == n
        assert len(offers) == 2 * n and {o.status for o in offers} == {"timed_out"}
        per_ticket = {}
        for o in offers:
            per_ticket.setdefault(o.ticket_id, []).append(o.technician)
        assert all(sorted(v) == ["lishifu", "zhoushifu"] for v in per_ticket.values())
        assert sorted(fires) == [1] * (2 * n)  # every offer timer fired exactly once
        assert timed_out == 2 * n  # and was acted on exactly once
        assert sorted(escalations) == sorted(per_ticket)  # one escalation per ticket
        assert parked == 0
        assert len(by) == 2, by  # both processes took part
        print("offer timers fired per process:", by)
    finally:
        await stop_all(procs, engine, sandbox)
