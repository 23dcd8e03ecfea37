"""SLA clocks, escalations, reminders, quiet hours, settlement's downgrade and digests through
the sandbox: a report in the store group becomes a ticket, the injected clock moves, and what
people receive (WeCom texts, SMS at the sandbox's Tencent endpoint, email at an aiosmtpd
server on loopback) is asserted, with the database rows behind it.

People are the sandbox's (config/sandbox/) plus 曲主管, the 区域主管 for Shanghai. The store
(人民广场店) is in 310101. The sandbox clock starts at 2026-11-25 10:00 in Shanghai.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from handlers.settlement.cli import period_from_db
from handlers.settlement.config import SettlementSetup
from handlers.sla.chart import cjk_font
from handlers.sla.config import SlaConfig
from handlers.sla.digest import digest_stats, ensure_digest_timers
from handlers.staff.seed import seed_sandbox
from models.sla import SlaClock, SlaDelivery, SlaDigest, SlaEscalation
from models.settlement import SettlementStatement
from models.tickets import Ticket
from models.timer import Timer
from tests.scenarios.sla_support import (add_staff, click, lines, mail_server, report,
                                         say, sla_stack, texts_to)

CONFIG = """
yellow: 0.8
calendars:
  always: {days: always, workday: "00:00-24:00"}
  mainland: {days: mainland, workday: "09:00-18:00"}
policies:
  - kind: repair
    calendar: always
    targets: {first_response: 15m, resolve: 48h}
    escalate: {first_response: three, resolve: after_sales}
  - {kind: install, calendar: mainland, targets: {resolve: 50h}}
chains:
  three:
    - {after: 15m, to: [{role: dispatcher}], via: [wecom]}
    - {after: 30m, to: [{role: supervisor, scope: region}], via: [sms]}
    - {after: 45m, to: [{role: manager}], via: [email]}
  after_sales:
    - {after: 24h, to: [{role: supervisor, scope: region}], via: [wecom], action: reassign}
reminders:
  repair: {every: 30m, to: [{who: assignee}], via: [wecom], until: depart}
quiet_hours:
  default: {start: "22:00", end: "08:00", channels: [sms], except_priority: [urgent]}
contacts:
  wangjingli: {email: wang@example.test}
digests:
  - {name: daily, every: day, at: "08:30", roles: [manager]}
"""
SUPERVISOR = """
- userid: quzhuguan
  name: 曲主管
  roles: [supervisor]
  phone: "13900000010"
  regions: ["310000"]
"""


@pytest.fixture
async def st(db_url, tmp_path):
    smtp = mail_server()
    stack = await sla_stack(db_url, tmp_path, CONFIG, smtp)
    async with stack.bot.sm() as s, s.begin():
        await seed_sandbox(s, stack.clock.now())
    await add_staff(stack, tmp_path, SUPERVISOR)
    stack.smtp = smtp
    yield stack
    await stack.bot.stop()
    await stack.sandbox.stop()
    smtp.stop()


async def step(st, minutes: float) -> None:
    st.clock.advance(minutes=minutes)
    await st.settle()
    await st.bot.sla.courier.run_once()
    await st.settle()


LEVEL1 = "第1级提醒"


async def test_first_response_escalates_wecom_then_sms_then_email_each_once(st):
    t = await report(st)
    [clock] = await st.rows(SlaClock, SlaClock.metric == "first_response")
    assert clock.due_at == t.created_at + timedelta(minutes=15)
    await step(st, 12)  # the yellow point (80 % of 15 min) passed: no escalation yet
    assert [e.step for e in await st.rows(SlaEscalation)] == ["first_response:yellow"]
    assert not [x for x in texts_to(st, "wangjingli") if LEVEL1 in x]
    await step(st, 3)  # 15 min: level 1 — WeCom to the dispatcher
    assert len([x for x in texts_to(st, "wangjingli") if LEVEL1 in x]) == 1
    assert st.sandbox.sms == [] and st.smtp.messages == []
    await step(st, 15)  # 30 min: level 2 — SMS to the 区域主管 (Tencent, signed)
    [sms] = st.sandbox.sms
    assert (sms.provider, sms.phone, sms.params) == ("tencent", "+8613900000010",
                                                     [t.number, "超时未处理"])
    assert st.smtp.messages == []
    await step(st, 15)  # 45 min: level 3 — email to the manager
    [mail] = st.smtp.messages
    assert mail["to"] == ["wang@example.test"] and t.number in mail["subject"]
    assert "第3级提醒" in mail["body"]
    # Nothing again: more time, the timers swept again, the courier run again.
    for _ in range(3):
        await step(st, 30)
    assert len([x for x in texts_to(st, "wangjingli") if LEVEL1 in x]) == 1
    assert len(st.sandbox.sms) == 1 and len(st.smtp.messages) == 1
    steps = [e.step for e in await st.rows(SlaEscalation)]
    for s in ("first_response:level1", "first_response:level2", "first_response:level3",
              "first_response:breach"):
        assert steps.count(s) == 1
    [clock] = await st.rows(SlaClock, SlaClock.metric == "first_response")
    assert clock.breached and clock.status == "running"
    assert {d.status for d in await st.rows(SlaDelivery)} == {"sent"}


async def test_quiet_hours_hold_the_sms_until_morning_while_wecom_goes(st):
    st.clock.set(datetime(2026, 11, 25, 14, 30, tzinfo=UTC))  # 22:30 in Shanghai
    t = await report(st)
    await step(st, 15)
    assert len([x for x in texts_to(st, "wangjingli") if LEVEL1 in x]) == 1  # WeCom at night
    await step(st, 15)  # level 2 at 23:00: the SMS is held
    assert st.sandbox.sms == []
    [held] = await st.rows(SlaDelivery, SlaDelivery.channel == "sms")
    assert held.status == "pending"
    assert held.not_before == datetime(2026, 11, 26, 0, 0, tzinfo=UTC)  # 08:00 Shanghai
    [row] = await st.rows(SlaEscalation, SlaEscalation.step == "first_response:level2")
    assert row.held == ["quzhuguan:sms"]
    await step(st, 8 * 60 + 30)  # 07:30: still held
    assert st.sandbox.sms == []
    await step(st, 31)  # past 08:00: sent, once
    assert [s.params[0] for s in st.sandbox.sms] == [t.number]


async def test_urgent_tickets_are_not_held_by_quiet_hours(st):
    st.clock.set(datetime(2026, 11, 25, 14, 30, tzinfo=UTC))
    t = await report(st, "人民广场店咖啡机坏了，非常紧急马上要来修，店里没法营业了 13812345678")
    async with st.bot.sm() as s, s.begin():
        (await s.get(Ticket, t.id)).priority = "urgent"
    await step(st, 30)
    assert [s.params[0] for s in st.sandbox.sms] == [t.number]


async def test_reminder_every_30_minutes_stops_when_the_technician_acts(st):
    t = await report(st)
    [offer_card] = [c for c in st.cards("lishifu") if c.task_id.startswith("offer-")]
    await click(st, "lishifu", offer_card, "accept")
    remind = lambda: [x for x in texts_to(st, "lishifu") if "等待您处理" in x]  # noqa: E731
    await step(st, 30)
    assert len(remind()) == 1 and t.number in remind()[0]
    await step(st, 30)
    assert len(remind()) == 2
    work = [c for c in st.cards("lishifu") if c.task_id.startswith("work-")][-1]
    await click(st, "lishifu", work, "depart")  # the technician acts
    for _ in range(4):
        await step(st, 30)
    assert len(remind()) == 2
    assert not (await st.rows(Timer, Timer.key == f"sla_remind:{t.id}", Timer.status == "armed"))


async def test_24h_unhandled_goes_to_the_regional_supervisor_who_owns_it(st):
    t = await report(st)
    await step(st, 23 * 60)
    assert not [x for x in texts_to(st, "quzhuguan") if "已转由您跟进" in x]
    await step(st, 61)
    [told] = [x for x in texts_to(st, "quzhuguan") if "已转由您跟进" in x]
    assert t.number in told
    [clock] = await st.rows(SlaClock, SlaClock.metric == "resolve")
    assert clock.owner == "quzhuguan"
    todo = await say(st, "quzhuguan", "我的待办")
    assert "我的待办（1）" in todo and t.number in todo and "🔴" in todo


async def test_waiting_for_the_customer_pauses_the_clock(st):
    t = await report(st)
    await step(st, 5)
    async with st.bot.sm() as s, s.begin():
        from handlers.lifecycle import transition
        ticket = await s.get(Ticket, t.id)
        await transition(s, ticket, "pending_customer", actor="test", now=st.clock.now())
    await step(st, 60)  # an hour waiting for the customer: no escalation
    assert not [x for x in texts_to(st, "wangjingli") if LEVEL1 in x]
    [clock] = await st.rows(SlaClock, SlaClock.metric == "first_response")
    assert clock.status == "paused" and clock.pause_reason == "customer"
    async with st.bot.sm() as s, s.begin():
        from handlers.lifecycle import transition
        ticket = await s.get(Ticket, t.id)
        await transition(s, ticket, "dispatched", actor="test", now=st.clock.now())
    await step(st, 5)
    [clock] = await st.rows(SlaClock, SlaClock.metric == "first_response")
    assert clock.status == "running" and 3590 <= clock.paused_seconds <= 3900
    assert clock.due_at >= t.created_at + timedelta(minutes=75)
    await step(st, 10)  # 15 min of running time since the report: level 1
    assert len([x for x in texts_to(st, "wangjingli") if LEVEL1 in x]) == 1


async def test_a_breached_ticket_is_sla_breached_in_its_statement_and_the_month(st):
    t = await report(st)
    await step(st, 20)  # first response breached (nobody answered in 15 min)
    [offer_card] = [c for c in st.cards("zhoushifu") if c.task_id.startswith("offer-")] or \
        [c for c in st.cards("lishifu") if c.task_id.startswith("offer-")]
    who = "zhoushifu" if st.cards("zhoushifu") else "lishifu"
    await click(st, who, offer_card, "accept")
    work = [c for c in st.cards(who) if c.task_id.startswith("work-")][-1]
    for action in ("depart", "arrive", "done"):
        await click(st, who, work, action)
    await say(st, who, "工时1.5小时 配件 压缩机电容1个35元")
    [statement] = await st.rows(SettlementStatement)
    assert statement.ticket_number == t.number
    assert statement.ticket_input["sla_breached"] is True
    setup = st.bot.services[SettlementSetup]
    result, _, _ = await period_from_db(st.bot.sm, setup, "2026-11", now=st.clock.now())
    [provider] = [p for p in result.to_dict()["providers"] if p["tickets"]]
    assert provider["breaches"] == 1 and provider["sla_penalty"] == "50.00"


async def test_digest_image_and_text_match_the_database(st):
    from tests.browser.chromium import ensure_packages

    ensure_packages(("fonts-wqy-microhei",), "the digest chart (Chinese labels)")
    cjk_font.cache_clear()
    t1 = await report(st)
    await step(st, 20)  # breached (nobody answered)
    t2 = await report(st, "静安寺店咖啡机漏水 13812345679", user="lisi")
    assert (await ensure_digest_timers(st.bot.sm, st.bot.services[SlaConfig], st.clock)) == 1
    [timer] = await st.rows(Timer, Timer.key == "sla_digest:daily")
    st.clock.set(timer.due_at - timedelta(minutes=1))  # everything before the digest settles
    await step(st, 0)
    await step(st, 1)
    [digest] = await st.rows(SlaDigest)
    assert digest.userid == "wangjingli"
    async with st.bot.sm() as s:
        tickets = list((await s.execute(select(Ticket))).scalars())
        breached = (await s.execute(select(SlaClock).where(SlaClock.breached.is_(True)))).scalars()
        breached = list(breached)
    stats = digest.stats
    assert stats["received"] == len(tickets) == 2
    assert stats["open"] == sum(t.status not in ("resolved", "closed", "cancelled")
                                for t in tickets)
    assert stats["breached"] == len(breached) >= 1
    assert [w["number"] for w in stats["worst"]][:2] == [t1.number, t2.number]  # latest first
    text = [x for x in texts_to(st, "wangjingli") if "工单日报" in x][-1]
    assert f"新收 {len(tickets)}" in text and f"超时 {len(breached)}" in text
    assert cjk_font() is not None
    [image] = [ln for ln in lines(st, "wangjingli") if ln.kind == "image"]
    png = st.sandbox.media[image.content]["bytes"]
    assert png.startswith(b"\x89PNG") and len(png) > 5000
    # On demand: 汇总 gives the manager today's numbers, from the same query.
    answer = await say(st, "wangjingli", "汇总")
    assert "工单日报" in answer and "新收 0" in answer and "未完结 2" in answer  # since midnight
    assert "上海市 🔴红（红2 黄0 绿0）" in answer
    # The timer was re-armed for the next morning, and the digest is not sent twice.
    [timer] = await st.rows(Timer, Timer.key == "sla_digest:daily")
    assert timer.status == "armed" and timer.due_at == datetime(2026, 11, 27, 0, 30, tzinfo=UTC)
    async with st.bot.sm() as s:
        again = await digest_stats(s, None, start=st.clock.now() - timedelta(days=1),
                                   end=st.clock.now(), now=st.clock.now(), period="x")
    assert again["received"] == 2


async def test_a_customer_asking_for_a_summary_gets_the_fallback_and_staff_get_their_todo(st):
    await report(st)
    todo = await say(st, "lishifu", "我的待办")
    assert "我的待办（1）" in todo
    assert "您目前没有待办工单" in await say(st, "zhaoshifu", "我的待办")


async def test_a_ticket_reported_before_national_day_breaches_on_the_make_up_saturday(st):
    """Friday 2026-09-25 (中秋, a holiday) 10:00: 50 working hours on the mainland calendar
    are Mon 28 – Wed 30 (27 h), Thu 8 and Fri 9 October (18 h) and the 调休 Saturday 10 October
    until 14:00 — the National Day week in between does not count."""
    from models.messages import Event, inbox_row
    from models.queues import inbox_insert
    from models.ticketing import create_ticket, customer_for, site_named
    from models.tickets import TicketCreate

    reported = datetime(2026, 9, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    st.clock.set(reported)
    async with st.bot.sm() as s, s.begin():
        customer = await customer_for(s, "wecom_userid", "zhangsan", reported)
        site = await site_named(s, "人民广场店", reported)
        t = await create_ticket(s, TicketCreate(
            customer_id=customer.id, site_id=site.id, category="install", title="安装制冰机",
            store="人民广场店", channel="app", conversation_key="app:zhangsan",
            reporter="zhangsan"), actor="test", now=reported)
        await inbox_insert(s, [inbox_row(Event("internal", "event", "ticket_created", "",
                                               f"ticket:{t.id}", f"test:created:{t.id}",
                                               {"ticket_id": t.id}), reported)])
    await st.settle()
    [clock] = await st.rows(SlaClock, SlaClock.ticket_id == t.id)
    breach = datetime(2026, 10, 10, 6, 0, tzinfo=UTC)  # Saturday 14:00 in Shanghai
    assert (clock.metric, clock.calendar, clock.due_at) == ("resolve", "mainland", breach)
    st.clock.set(breach - timedelta(minutes=1))
    await st.settle()
    assert not (await st.rows(SlaClock, SlaClock.ticket_id == t.id))[0].breached
    await step(st, 1)
    [clock] = await st.rows(SlaClock, SlaClock.ticket_id == t.id)
    assert clock.breached and clock.breached_at == breach
    assert "resolve:breach" in [e.step for e in await st.rows(SlaEscalation)]


async def test_an_urgent_ticket_goes_to_the_fastest_responder_with_a_shorter_window(st):
    """周师傅 answered offers within a minute these three days, 李师傅 (ranked first, nearer)
    took 20 minutes: the urgent ticket is offered to 周师傅 first, for 5 minutes, not 10."""
    from models.dispatch import DispatchJob, Offer
    from models.messages import Event, inbox_row
    from models.queues import inbox_insert
    from models.ticketing import create_ticket, customer_for, site_named
    from models.tickets import TicketCreate

    now = st.clock.now()
    async with st.bot.sm() as s, s.begin():
        customer = await customer_for(s, "wecom_userid", "zhangsan", now)
        site = await site_named(s, "人民广场店", now)

        async def ticket(priority: str, title: str):
            return await create_ticket(s, TicketCreate(
                customer_id=customer.id, site_id=site.id, category="repair", title=title,
                device="咖啡机", store="人民广场店", priority=priority, channel="app",
                conversation_key="app:zhangsan", reporter="zhangsan"), actor="test", now=now)

        for tech, minutes in (("zhoushifu", 1), ("lishifu", 20)):  # last week's answers
            old = await ticket("normal", f"旧单{tech}")
            old.status = "closed"
            job = DispatchJob(ticket_id=old.id, mode="direct", status="closed",
                              created_at=now - timedelta(days=1), updated_at=now)
            s.add(job)
            await s.flush()
            s.add(Offer(job_id=job.id, ticket_id=old.id, technician=tech, mode="direct",
                        status="accepted", offered_at=now - timedelta(days=1),
                        answered_at=now - timedelta(days=1) + timedelta(minutes=minutes)))
        t = await ticket("urgent", "咖啡机完全不能用")
        await inbox_insert(s, [inbox_row(Event("internal", "event", "ticket_created", "",
                                               f"ticket:{t.id}", f"test:created:{t.id}",
                                               {"ticket_id": t.id}), now)])
    await st.settle()
    [offer] = await st.rows(Offer, Offer.ticket_id == t.id)
    assert offer.technician == "zhoushifu"
    assert offer.expires_at == now + timedelta(minutes=5)
    [timer] = await st.rows(Timer, Timer.key == f"offer:{offer.id}")
    assert timer.due_at == now + timedelta(minutes=5)
