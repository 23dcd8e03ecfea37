"""Two real bot processes on one PostgreSQL: every SLA escalation step and every digest is
sent exactly once, whichever process sweeps its timer or claims its delivery.

Real time, so the durations are seconds: a first response due 3 s after the report, level 1
(WeCom to the dispatcher) at 2 s, level 2 (SMS through the sandbox's Aliyun endpoint to the
区域主管) at 4 s; the daily digest's timer is armed 4 s ahead before the processes start (each
process's start-up sees it armed and leaves it alone)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from bot.sandbox.server import Sandbox
from tests.conftest import TEST_AES_KEY, TEST_CORP_ID, TEST_SECRET, TEST_TOKEN
from tests.procs import free_port, start_bot, stop_all
from tests.scenarios.sla_support import sms_settings

CONFIG = """
calendars: {always: {days: always, workday: "00:00-24:00"}}
policies:
  - {calendar: always, targets: {first_response: 3s}, escalate: {first_response: two}}
chains:
  two:
    - {after: 2s, to: [{role: dispatcher}], via: [wecom]}
    - {after: 4s, to: [{role: supervisor, scope: region}], via: [sms]}
quiet_hours: {default: null}
digests:
  - {name: daily, every: day, at: "08:30", roles: [manager]}
"""
SUPERVISOR = """
- {userid: quzhuguan, name: 曲主管, roles: [supervisor], phone: "13900000010", regions: ["310000"]}
"""


async def test_two_processes_send_each_escalation_and_each_digest_once(pg_database, tmp_path):
    from handlers.staff.fileformat import import_staff, read_staff_file
    from handlers.staff.seed import seed_sandbox
    from models.db import make_engine, make_sessionmaker, write_session
    from models.messages import Event, inbox_row
    from models.queues import inbox_insert
    from models.ticketing import create_ticket, customer_for, site_named
    from models.tickets import TicketCreate
    from scheduler.timers import arm
    from tests.browser.chromium import ensure_packages
    from tests.conftest import _truncate_pg

    # the digest goes with its chart, drawn in a CJK font: without one it would go as text
    # only, and whether it did would depend on which test installed the font first
    ensure_packages(("fonts-wqy-microhei",), "the digest chart (Chinese labels)")
    _truncate_pg(pg_database)
    (tmp_path / "sla.yaml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "more.yaml").write_text(SUPERVISOR, encoding="utf-8")
    sandbox = Sandbox(corp_id=TEST_CORP_ID, agent_id=218, secret=TEST_SECRET,
                      app_token=TEST_TOKEN, app_aes_key=TEST_AES_KEY)
    sb_url = await sandbox.start()
    engine = make_engine(pg_database)
    sm = make_sessionmaker(engine)
    procs = []
    n = 6
    try:
        now = datetime.now(UTC)
        async with write_session(sm, None) as s:
            await seed_sandbox(s, now)
            await import_staff(s, read_staff_file(tmp_path / "more.yaml"), now)
            await arm(s, "sla_digest:daily", now + timedelta(seconds=6), "sla_digest",
                      payload={"name": "daily"}, conversation_key="sla_digest:daily", now=now)
        env = dict(TIMER_SWEEP_SECONDS="0.1", SLA_CONFIG=str(tmp_path / "sla.yaml"),
                   LOG_LEVEL="WARNING", **sms_settings(sb_url, "aliyun"))
        for _ in range(2):
            procs.append(await start_bot(pg_database, sb_url, free_port(), tmp_path, **env))
        now = datetime.now(UTC)
        async with write_session(sm, None) as s:
            customer = await customer_for(s, "wecom_userid", "zhangsan", now)
            site = await site_named(s, "人民广场店", now)
            rows = []
            for i in range(n):
                t = await create_ticket(s, TicketCreate(
                    customer_id=customer.id, site_id=site.id, category="repair",
                    title=f"咖啡机坏了{i}", device="咖啡机", store="人民广场店", channel="app",
                    conversation_key="app:zhangsan", reporter="zhangsan"), actor="test", now=now)
                rows.append(inbox_row(Event("internal", "event", "ticket_created", "",
                                            f"ticket:{t.id}", f"test:created:{t.id}",
                                            {"ticket_id": t.id}), now))
            await inbox_insert(s, rows)

        async def count(sql: str) -> int:
            async with engine.connect() as c:
                return (await c.execute(text(sql))).scalar_one()

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while loop.time() < deadline and not (
                await count("SELECT count(*) FROM sla_delivery WHERE status = 'sent'") >= n + 1
                and await count("SELECT count(*) FROM sla_digest") >= 1
                and await count("SELECT count(*) FROM outbox WHERE status = 'pending'") == 0):
            await asyncio.sleep(0.2)  # watching two other processes work
        await asyncio.sleep(1.5)  # anything sent twice would arrive by now (sweeps every 0.1 s)
        level1 = [c for c in sandbox.calls("message/send")
                  if "第1级提醒" in str((c["body"] or {}).get("text", {}).get("content", ""))]
        assert len(level1) == n
        numbers = sorted(s.params[0] for s in sandbox.sms)
        async with engine.connect() as c:
            states = (await c.execute(text("SELECT channel, status, last_error FROM sla_delivery"
                                           ))).all()
        assert len(numbers) == n and len(set(numbers)) == n, states
        assert {s.provider for s in sandbox.sms} == {"aliyun"}
        digests = [c for c in sandbox.calls("message/send")
                   if "工单日报" in str((c["body"] or {}).get("text", {}).get("content", ""))]
        assert [c["body"]["touser"] for c in digests] == ["wangjingli"]
        assert len(sandbox.calls("media/upload")) == 1
        assert await count("SELECT count(*) FROM sla_digest") == 1
        assert await count("SELECT count(*) FROM sla_escalation "
                           "WHERE step = 'first_response:level2'") == n
        assert await count("SELECT count(*) FROM sla_escalation "
                           "WHERE step = 'first_response:level1'") == n
        fired_by = await count("SELECT count(DISTINCT fired_by) FROM timers WHERE key LIKE 'sla:%'")
        print("SLA timers fired by", fired_by, "process(es)")
    finally:
        await stop_all(procs, engine, sandbox)
