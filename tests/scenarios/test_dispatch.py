"""Dispatch through the sandbox: a report becomes a ticket, the ticket reaches a technician's
card, and every card anyone sees stays true to the ticket. People and stores are the sandbox's
own (config/sandbox/); the sandbox clock starts at 2026-11-25 10:00 in Shanghai.

Who ranks where for a coffee machine at 人民广场店 (region 310101, 31.2317,121.4726), weights of
config/dispatch.yaml (repair): 李师傅 (coffee 3, 0.3 km away) first, 周师傅 (coffee 2, 5.1 km)
second; 孙师傅 has the skill but serves Hangzhou, 王师傅 and 赵师傅 lack it.
"""

from __future__ import annotations

import re

import asyncio
import contextvars
from datetime import timedelta

from handlers.dispatch import texts
from models.dispatch import CardCode, DispatchDecisionRow, DispatchJob, Offer, WorkReport
from handlers.staff.fileformat import import_staff, read_staff_file
from models.tables import InboxEvent
from models.tickets import Staff, Ticket, TicketEvent
from models.timer import Timer

GROUP = "wrSTORE3group"
ROBOT = "webhook:sandbox-store3-robot"  # the group's 消息推送 robot (config/sandbox/groups.yaml)
REPORT = "人民广场店咖啡机坏了，请尽快来修 13812345678"


async def add_staff(st, tmp_path, yaml_text: str) -> None:
    path = tmp_path / "more.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    async with st.bot.sm() as s, s.begin():
        await import_staff(s, read_staff_file(path), st.clock.now())


async def report(st, text=REPORT, user="zhangsan") -> Ticket:
    """A store employee reports in the group and confirms; returns the ticket."""
    for said in (text, "尽快", "确认"):  # the report, the visit time it asks for, confirm
        await st.sandbox.aibot_says(user, said, chat_id=GROUP)
        await st.settle()
    [t] = (await st.rows(Ticket))[-1:]
    return t


def lines(st, user):
    return st.sandbox.delivered(f"app:{user}")


def card_state(st, task_id):
    return st.sandbox.state.cards[task_id]


async def click(st, user, card_line, action):
    key = next(b["key"] for b in card_line.content["button_list"]
               if b["key"].split(":")[1] == action)
    await st.sandbox.click(user, card_line.task_id, key)
    await st.settle()


async def say(st, user, text) -> str:
    """What the bot said to ``user`` in answer (every text line, joined)."""
    before = len(lines(st, user))
    await st.sandbox.member_says(user, text)
    await st.settle()
    return "\n".join(ln.content for ln in lines(st, user)[before:] if ln.kind == "text")


async def test_a_report_reaches_the_best_technician_who_accepts_and_works_it_to_done(st):
    t = await report(st)
    # The ticket went to dispatch; 李师傅 got a text and a card with 接单 / 拒单 / 转派.
    [offer] = await st.rows(Offer)
    assert (offer.technician, offer.mode, offer.status, offer.rank) == (
        "lishifu", "direct", "offered", 1)
    [text, card] = lines(st, "lishifu")
    assert t.number in text.content and "接单 " + t.number in text.content
    assert card.kind == "card" and card.task_id == f"offer-{offer.id}"
    assert [b["text"] for b in card.content["button_list"]] == ["接单", "拒单", "转派"]
    assert card.content["main_title"]["title"].startswith("新派单")
    assert st.cards("zhoushifu") == []
    [job] = await st.rows(DispatchJob)
    [decision] = await st.rows(DispatchDecisionRow)
    assert decision.chosen == "lishifu" and decision.record["eligible_count"] == 2
    assert decision.record["rejected_counts"]["skill"] == 2  # 王师傅, 赵师傅
    assert decision.record["rejected_counts"]["region"] == 1  # 孙师傅 (Hangzhou)
    # A durable timer waits for the answer, in the database.
    [timer] = await st.rows(Timer, Timer.key == f"offer:{offer.id}")
    assert timer.status == "armed" and timer.due_at == st.clock.now() + timedelta(minutes=10)

    await click(st, "lishifu", card, "accept")
    assert card_state(st, card.task_id)["replaced"] == "已接单"
    [after] = await st.rows(Ticket)
    assert (after.status, after.assignee) == ("accepted", "lishifu")
    [timer] = await st.rows(Timer, Timer.key == f"offer:{offer.id}")
    assert timer.status == "cancelled"
    work = st.cards("lishifu")[-1]
    assert work.task_id == f"work-{offer.id}"
    assert [b["text"] for b in work.content["button_list"]] == ["出发", "到达", "完工"]
    assert "13812345678" in lines(st, "lishifu")[-2].content  # the technician sees the phone
    # The group the store employee reported in is told, by its own robot, who is coming,
    # roughly when, and a number that is not the technician's own.
    told = st.said(ROBOT)[-1]
    assert "李师傅已接单" in told and "预计约" in told and "分钟到达" in told
    assert "400-800-1234 转 8001" in told and "13900000001" not in told

    await click(st, "lishifu", work, "depart")
    assert [b["text"] for b in card_state(st, work.task_id)["card"]["button_list"]] == [
        "到达", "完工"]
    assert "李师傅已出发" in st.said(ROBOT)[-1]
    await click(st, "lishifu", work, "arrive")
    assert [b["text"] for b in card_state(st, work.task_id)["card"]["button_list"]] == ["完工"]
    assert "已到达现场" in st.said(ROBOT)[-1]
    await click(st, "lishifu", work, "done")
    assert "工时" in lines(st, "lishifu")[-1].content  # asks for labour time and parts
    assert (await st.rows(Ticket))[0].status == "in_progress"
    await st.sandbox.member_image("lishifu", "https://example.invalid/after.jpg")
    await st.settle()
    assert lines(st, "lishifu")[-1].content == texts.PHOTO_ATTACHED.format(number=t.number)
    answer = await say(st, "lishifu", "工时1.5小时 配件 压缩机电容1个35元")
    assert t.number in answer and "工时1.5小时" in answer and "压缩机电容×1" in answer
    assert card_state(st, work.task_id)["replaced"] == "已完工"
    [done] = await st.rows(Ticket)
    assert (done.status, done.departed_at, done.arrived_at) == (
        "resolved", st.clock.now(), st.clock.now())
    [rep] = await st.rows(WorkReport)
    assert (rep.labour_minutes, rep.parts, rep.technician) == (
        90, [{"name": "压缩机电容", "qty": "1", "unit_cost": "35"}], "lishifu")
    assert rep.travel_km is not None and rep.travel_km < 1
    assert any("李师傅已完工（工时1.5小时，配件：压缩机电容×1）" in t for t in st.said(ROBOT))
    resolved = await st.rows(InboxEvent, InboxEvent.type == "ticket_resolved")
    assert [e.payload for e in resolved] == [{"ticket_id": t.id}]
    # ... which settlement prices (config/pricebooks/cn-home-2026b.yaml, coffee-repair-cn, by
    # hand): 检测费 80.00 + 工时 1.5 h × 120 = 180.00 + 路程 0.4 km × 2.50 = 1.00 + 配件 35.00 ×
    # 1.2 = 42.00 → net 303.00; VAT 13% 39.39; total 342.39; technician 50% of net 151.50.
    # The statement is private: to the reporter 1:1 through the app, never into the group.
    assert any("合计：¥342.39" in ln.content for ln in lines(st, "zhangsan") if ln.kind == "text")
    assert not any("合计" in t for t in st.said(ROBOT))
    assert any("您的分成：¥151.50" in ln.content for ln in lines(st, "lishifu")
               if ln.kind == "text")
    # Every step is in the audit trail.
    actions = [e.action for e in await st.rows(TicketEvent, TicketEvent.ticket_id == t.id)]
    for a in ("create", "status:dispatched", "dispatch:offer", "dispatch:assign",
              "status:accepted", "status:in_progress", "report:depart", "report:arrive",
              "attach:photo", "status:resolved"):
        assert a in actions, a
    # No card update ever spent a code twice, and none was refused.
    assert all(c["errcode"] == 0 for c in st.sandbox.calls("message/update_template_card"))
    used = [c.code for c in await st.rows(CardCode) if c.used_at is not None]
    assert len(used) == len(set(used)) == len(st.sandbox.calls("message/update_template_card"))


MORE_COFFEE = """
- {userid: qianshifu, name: 钱师傅, roles: [technician], skills: {coffee: 2}, regions: ["310000"],
   home: {lat: 31.2500, lon: 121.4800}, capacity: 3, extension: "8006"}
- {userid: fengshifu, name: 冯师傅, roles: [technician], skills: {coffee: 2}, regions: ["310000"],
   home: {lat: 31.3000, lon: 121.5500}, capacity: 3, extension: "8007"}
"""


def watch_pool_reads(st, monkeypatch) -> list[tuple[str, bool, str]]:
    """Every read of technician rows by the kept pool (handlers/dispatch/pool_cache.py) as (the
    type of the event it was for, whether it ran inside that event's write transaction, "all"
    or "some")."""
    from handlers.dispatch.pool_cache import PoolCache

    event_type = contextvars.ContextVar("event_type", default="")
    in_transaction = contextvars.ContextVar("in_transaction", default=False)
    reads: list[tuple[str, bool, str]] = []
    worker, feed = st.bot.worker, st.bot.worker.feed
    process, handle = worker.process, feed.handle
    read_all, read_some = PoolCache._read_all, PoolCache._read_some

    async def process_watched(row):  # one asyncio task per event: the variables are its own
        event_type.set(row.type)
        return await process(row)

    async def handle_watched(event, session, prepared):
        in_transaction.set(True)
        try:
            return await handle(event, session, prepared)
        finally:
            in_transaction.set(False)

    async def all_watched(self, s, now):
        reads.append((event_type.get(), in_transaction.get(), "all"))
        return await read_all(self, s, now)

    async def some_watched(self, s, who, now):
        reads.append((event_type.get(), in_transaction.get(), "some"))
        return await read_some(self, s, who, now)

    monkeypatch.setattr(worker, "process", process_watched)
    monkeypatch.setattr(feed, "handle", handle_watched)
    monkeypatch.setattr(PoolCache, "_read_all", all_watched)
    monkeypatch.setattr(PoolCache, "_read_some", some_watched)
    return reads


async def test_placing_a_job_reads_the_pool_once_then_keeps_it(st, monkeypatch):
    """The first placement reads the technician pool in its prepare step, outside the write
    transaction; later placements — a timeout's next candidate, a 拒单's next candidate and the
    dispatcher's card — read no technician row: nothing about the technicians changed."""
    reads = watch_pool_reads(st, monkeypatch)
    t = await report(st)
    assert reads == [("ticket_created", False, "all")]
    st.clock.advance(minutes=10)  # 李师傅 does not answer: 周师傅 is asked
    await st.settle()
    assert [o.technician for o in await st.rows(Offer)] == ["lishifu", "zhoushifu"]
    assert "已拒单" in await say(st, "zhoushifu", f"拒单 {t.number}")
    assert reads == [("ticket_created", False, "all")]
    [job] = await st.rows(DispatchJob)
    assert job.status == "escalated"
    labels = [b["text"] for b in st.cards("wangjingli")[-1].content["button_list"]]
    assert labels == ["派给李师傅", "派给周师傅"]


async def test_an_accept_is_read_again_for_that_technician_only(st, monkeypatch):
    """李师傅 accepts (his load changes): the next placement re-reads him alone (on the pool's own
    connection, while the placing event's transaction is open: one technician's rows)."""
    reads = watch_pool_reads(st, monkeypatch)
    await report(st)
    await click(st, "lishifu", lines(st, "lishifu")[-1], "accept")
    await report(st, "静安寺店咖啡机坏了，请尽快来修 13812345679", user="lisi")
    assert [r for r in reads if r[2] == "all"] == [("ticket_created", False, "all")]
    assert [r[::2] for r in reads if r[2] == "some"] == [("ticket_created", "some")]
    assert len(await st.rows(Offer)) == 2


async def test_a_grab_nobody_takes_reads_the_pool_before_its_transaction(st, monkeypatch):
    reads = watch_pool_reads(st, monkeypatch)
    await report(st, "人民广场店要新装一台空调 13812345678")
    st.clock.advance(minutes=15)
    await st.settle()
    assert reads == [("ticket_created", False, "all")]  # the grab's end reads nothing more
    assert [o.status for o in await st.rows(Offer)] == ["timed_out", "timed_out"]
    labels = [b["text"] for b in st.cards("wangjingli")[-1].content["button_list"]]
    assert set(labels) == {"派给李师傅", "派给王师傅"}


async def test_a_decline_moves_the_offer_to_the_next_candidate(st):
    t = await report(st)
    first = st.cards("lishifu")[-1]
    await click(st, "lishifu", first, "decline")
    assert card_state(st, first.task_id)["replaced"] == "已拒单"
    assert t.number in lines(st, "lishifu")[-1].content  # "已拒单：工单 … 会转给其他师傅"
    offers = await st.rows(Offer)
    assert [(o.technician, o.status) for o in offers] == [
        ("lishifu", "declined"), ("zhoushifu", "offered")]
    assert st.cards("zhoushifu")[-1].task_id == f"offer-{offers[1].id}"
    # The declined offer's timer is gone; the new one's runs.
    timers = {x.key: x.status for x in await st.rows(Timer) if x.key.startswith("offer:")}
    assert timers == {f"offer:{offers[0].id}": "cancelled", f"offer:{offers[1].id}": "armed"}
    # The second candidate was ranked again without the first: two decision records.
    decisions = await st.rows(DispatchDecisionRow)
    assert [d.chosen for d in decisions] == ["lishifu", "zhoushifu"]
    assert decisions[1].record["rejected_counts"]["excluded"] == 1


async def test_no_answer_moves_on_then_the_dispatcher_on_duty_assigns_by_hand(st, tmp_path):
    await add_staff(st, tmp_path, MORE_COFFEE)  # four coffee technicians in Shanghai now
    t = await report(st)
    order = []
    for _ in range(3):  # max_candidates: 3 (config/offering.yaml)
        [offer] = [o for o in await st.rows(Offer) if o.status == "offered"]
        order.append(offer.technician)
        st.clock.advance(minutes=10)  # answer_minutes: nobody clicks
        await st.settle()
        assert card_state(st, f"offer-{offer.id}")["replaced"] == "已超时"
    assert order == ["lishifu", "qianshifu", "zhoushifu"]  # 李 0.3 km, 钱 2.1 km, 周 5.1 km
    offers = await st.rows(Offer)
    assert [o.status for o in offers] == ["timed_out"] * 3  # 冯师傅 is never asked
    [job] = await st.rows(DispatchJob)
    assert (job.status, job.offers_made, job.escalated_to) == ("escalated", 3, ["wangjingli"])
    # The dispatcher on duty gets a text and a card with the best candidates to pick from.
    text = [ln.content for ln in lines(st, "wangjingli") if ln.kind == "text"][-1]
    assert t.number in text and "已依次推送3位师傅，均未接单" in text
    card = st.cards("wangjingli")[-1]
    labels = [b["text"] for b in card.content["button_list"]]
    assert labels[:2] == ["派给李师傅", "派给钱师傅"] and "派给冯师傅" in labels
    await click(st, "wangjingli", card, "assign")  # the first button: 李师傅
    assert card_state(st, card.task_id)["replaced"] == "已指派给李师傅"
    texts_to_him = [ln.content for ln in lines(st, "wangjingli") if ln.kind == "text"]
    assert texts_to_him[-1] == f"已将工单 {t.number} 指派给李师傅。"  # to him, not of him
    [after] = await st.rows(Ticket)
    assert (after.status, after.assignee) == ("accepted", "lishifu")
    assert any("王经理把工单" in ln.content for ln in lines(st, "lishifu"))
    assert st.cards("lishifu")[-1].task_id.startswith("work-")
    assert "李师傅已接单" in st.said(ROBOT)[-1]
    # 为什么派给他: the dispatcher did it, and the system's ranking is shown.
    why = await say(st, "wangjingli", f"为什么派给他 {t.number}")
    assert "人工指派" in why and "王经理" in why and "李师傅" in why
    # The job is billed for the trip like any other (from the ranking the dispatcher saw).
    await say(st, "lishifu", "完工 工时1小时 无配件")
    [rep] = await st.rows(WorkReport)
    assert rep.travel_km == 0.4


async def test_grab_five_technicians_click_at_once_one_wins_four_cards_update(st, tmp_path):
    """An installation is offered to the best five at once; all five press 抢单 together."""
    await add_staff(st, tmp_path, "\n".join(
        f"- {{userid: ac{i}, name: 空调{i}号, roles: [technician], skills: {{aircon: 3, general: 3}},"
        f" regions: [\"310000\"], home: {{lat: {31.20 + i / 100:.2f}, lon: 121.47}}, capacity: 3}}"
        for i in range(6)))
    t = await report(st, "人民广场店要新装一台空调 13812345678")
    assert t.category == "install"
    offers = await st.rows(Offer)
    assert len(offers) == 5 and {o.mode for o in offers} == {"grab"}
    users = [o.technician for o in offers]
    grab_cards = {u: st.cards(u)[-1] for u in users}
    assert all([b["text"] for b in c.content["button_list"]] == ["抢单"]
               for c in grab_cards.values())
    await asyncio.gather(*(st.sandbox.click(u, grab_cards[u].task_id,
                                            grab_cards[u].content["button_list"][0]["key"])
                           for u in users))
    await st.settle()
    offers = await st.rows(Offer)
    [won] = [o for o in offers if o.status == "accepted"]
    assert sorted(o.status for o in offers) == ["accepted"] + ["lost"] * 4
    [after] = await st.rows(Ticket)
    assert (after.status, after.assignee) == ("accepted", won.technician)
    winner = (await st.rows(Staff, Staff.userid == won.technician))[0].name
    for u in users:
        state = card_state(st, grab_cards[u].task_id)["replaced"]
        assert state == ("已接单" if u == won.technician else f"已被{winner}接单"), u
    losers = [u for u in users if u != won.technician]
    for u in losers:  # and each loser is told politely
        assert f"已被{winner}接单" in lines(st, u)[-1].content
    assert len([ln for ln in lines(st, won.technician) if ln.kind == "card"]) == 2  # + work
    assert all(c["errcode"] == 0 for c in st.sandbox.calls("message/update_template_card"))
    [timer] = await st.rows(Timer, Timer.key.like("grab:%"))
    assert timer.status == "cancelled"


async def test_a_grab_nobody_takes_goes_to_the_dispatcher(st, tmp_path):
    t = await report(st, "人民广场店要新装一台空调 13812345678")
    offers = await st.rows(Offer)
    assert {o.technician for o in offers} == {"lishifu", "wangshifu"}  # aircon ≥ 2 in Shanghai
    st.clock.advance(minutes=15)
    await st.settle()
    assert [o.status for o in await st.rows(Offer)] == ["timed_out", "timed_out"]
    for o in offers:
        assert card_state(st, f"offer-{o.id}")["replaced"] == "已超时"
    assert "抢单15分钟内无人接单" in lines(st, "wangjingli")[-2].content
    assert t.number in lines(st, "wangjingli")[-2].content


async def test_a_technician_without_the_skill_is_never_offered(st):
    await report(st)
    for _ in range(2):  # both coffee technicians let it time out
        st.clock.advance(minutes=10)
        await st.settle()
    offered = {o.technician for o in await st.rows(Offer)}
    assert offered == {"lishifu", "zhoushifu"}
    for user in ("wangshifu", "zhaoshifu", "sunshifu"):
        assert st.cards(user) == []
    [job] = await st.rows(DispatchJob)
    assert job.status == "escalated"
    # The dispatcher's card offers only technicians who pass the hard filters.
    labels = [b["text"] for b in st.cards("wangjingli")[-1].content["button_list"]]
    assert labels == ["派给李师傅", "派给周师傅"]
    last = (await st.rows(DispatchDecisionRow))[-1].record
    rejected = {r["tech_id"]: r["filter"] for r in last["rejected"]}
    assert rejected["wangshifu"] == rejected["zhaoshifu"] == "skill"
    assert rejected["sunshifu"] == "region"


async def test_clicks_on_stale_and_foreign_cards_get_polite_answers(st):
    t = await report(st)
    card = st.cards("lishifu")[-1]
    # Someone else presses 李师傅's card (a forwarded card): refused, nothing changes.
    key = card.content["button_list"][0]["key"]
    await st.sandbox.click("zhoushifu", card.task_id, key)
    await st.settle()
    assert lines(st, "zhoushifu")[-1].content == texts.NOT_YOUR_CARD
    assert (await st.rows(Offer))[0].status == "offered"
    # The offer times out; 李师傅 then presses 接单 on the stale card.
    st.clock.advance(minutes=10)
    await st.settle()
    await click(st, "lishifu", card, "accept")
    assert lines(st, "lishifu")[-1].content == texts.OFFER_STALE["timed_out"].format(
        number=t.number)
    assert card_state(st, card.task_id)["replaced"] == "已超时"
    [first, second] = await st.rows(Offer)
    assert (first.status, second.status, second.technician) == (
        "timed_out", "offered", "zhoushifu")
    # 周师傅 accepts; pressing 接单 again is answered, not acted on twice.
    mine = st.cards("zhoushifu")[-1]
    await click(st, "zhoushifu", mine, "accept")
    await click(st, "zhoushifu", mine, "accept")
    assert lines(st, "zhoushifu")[-1].content == texts.OFFER_STALE["accepted"].format(
        number=t.number)
    assert len(await st.rows(TicketEvent, TicketEvent.action == "status:accepted")) == 1
    assert all(c["errcode"] == 0 for c in st.sandbox.calls("message/update_template_card"))


async def test_a_card_whose_codes_are_spent_is_replaced_by_a_text(st):
    """Each response_code works once and for 72 hours [doc 94888]: past that, the technician
    is told by text instead of the bot calling WeCom with a dead code."""
    t = await report(st)
    await click(st, "lishifu", st.cards("lishifu")[-1], "accept")
    updates = len(st.sandbox.calls("message/update_template_card"))
    st.clock.advance(hours=73)  # the work card's code has expired
    await st.sandbox.aibot_says("zhangsan", f"取消工单 {t.number}", chat_id=GROUP)
    await st.settle()
    assert (await st.rows(Ticket))[0].status == "cancelled"
    assert len(st.sandbox.calls("message/update_template_card")) == updates  # no dead code sent
    assert lines(st, "lishifu")[-1].content == texts.CANCELLED_TO_TECH.format(number=t.number)


async def test_technicians_can_do_everything_by_text(st):
    """The WeChat plug-in shows no cards: 接单 / 出发 / 到达 / 完工 work as messages."""
    t = await report(st)
    assert "已接单" in await say(st, "lishifu", f"接单 {t.number}")
    assert card_state(st, st.cards("lishifu")[0].task_id)["replaced"] == "已接单"
    assert texts.DEPARTED_OK.format(number=t.number) in await say(st, "lishifu", "出发了")
    assert texts.ARRIVED_OK.format(number=t.number) in await say(st, "lishifu", "到了")
    done = await say(st, "lishifu", "完工，用时40分钟，没有更换配件")
    assert "工时40分钟" in done and "未用配件" in done
    assert (await st.rows(Ticket))[0].status == "resolved"
    assert texts.NO_ACTIVE_JOB == await say(st, "lishifu", "出发")
    # The customer confirms and the ticket closes: both watched it move to done.
    await st.sandbox.aibot_says("zhangsan", "确认", chat_id=GROUP)
    await st.settle()
    assert (await st.rows(Ticket))[0].status == "closed"


async def test_why_was_he_chosen_is_answered_from_the_record_for_managers_only(st):
    t = await report(st)
    why = await say(st, "wangjingli", f"为什么派给他 {t.number}")
    assert f"工单{t.number}" in why and "派给李师傅" in why and "原因" in why
    assert "技能不符或等级不足 2人" in why and "不服务该区域 1人" in why
    # Region names, never codes; a job without an appointment reads 尽快, never "None".
    assert re.search(r"区域[\u4e00-\u9fa5]+区", why) and not re.search(r"区域\d{6}", why)
    assert "None" not in why
    assert await say(st, "lishifu", f"为什么派给他 {t.number}") == texts.WHY_NOT_ALLOWED


async def test_a_location_report_moves_the_technician_for_the_next_ranking(st):
    # 周师傅 reports (WeCom LOCATION event) from next to the store: he is nearest now.
    await st.sandbox.member_event(
        "zhoushifu", "LOCATION",
        "<Latitude>31.2318</Latitude><Longitude>121.4727</Longitude><Precision>15</Precision>")
    await st.settle()
    [zhou] = await st.rows(Staff, Staff.userid == "zhoushifu")
    assert (zhou.last_lat, zhou.last_lon, zhou.last_seen_at) == (31.2318, 121.4727,
                                                                 st.clock.now())
    assert lines(st, "zhoushifu") == []  # recorded silently
    await report(st)
    [decision] = await st.rows(DispatchDecisionRow)
    zc = next(c for c in decision.record["candidates"] if c["tech_id"] == "zhoushifu")
    assert zc["facts"]["location_source"] == "last_known" and zc["facts"]["distance_km"] < 0.1


async def test_transfer_hands_the_offer_to_a_chosen_colleague(st):
    t = await report(st)
    await click(st, "lishifu", st.cards("lishifu")[-1], "transfer")
    pick = st.cards("lishifu")[-1]
    assert pick.task_id.startswith("xfer-")
    assert [b["text"] for b in pick.content["button_list"]] == ["周师傅", "系统安排"]
    await click(st, "lishifu", pick, "transfer_to")
    offers = await st.rows(Offer)
    assert [(o.technician, o.status, o.mode) for o in offers] == [
        ("lishifu", "transferred", "direct"), ("zhoushifu", "offered", "transfer")]
    assert card_state(st, f"offer-{offers[0].id}")["replaced"] == "已转派"
    assert t.number in lines(st, "zhoushifu")[0].content


async def test_transfer_to_the_system_is_a_decline_and_both_cards_say_so(st):
    await report(st)
    offer_card_line = st.cards("lishifu")[-1]
    await click(st, "lishifu", offer_card_line, "transfer")
    pick = st.cards("lishifu")[-1]
    await click(st, "lishifu", pick, "decline")  # the 系统安排 button
    assert card_state(st, pick.task_id)["replaced"] == "已交系统安排"
    assert card_state(st, offer_card_line.task_id)["replaced"] == "已拒单"
    offers = await st.rows(Offer)
    assert [(o.technician, o.status) for o in offers] == [
        ("lishifu", "declined"), ("zhoushifu", "offered")]


async def test_a_wechat_customer_is_told_within_wecoms_five_message_allowance(st):
    """微信客服 lets us send 5 messages within 48 h of the customer's last one: after 确认 the
    customer hears: created, who is coming, on the way, done, the statement — 到达 is kept
    back, and WeCom (the sandbox) refuses nothing."""
    user = "wmCHENnvshi0001"
    for said in ("人民广场店咖啡机坏了 13812345678", "尽快", "确认"):
        st.clock.advance(seconds=20)  # people take a moment to type
        await st.sandbox.customer_kf(user, said)
        await st.settle()
    [t] = await st.rows(Ticket)
    work = None
    for action in ("accept", "depart", "arrive", "done"):
        card = st.cards("lishifu")[-1] if work is None else work
        await click(st, "lishifu", card, action)
        work = work or st.cards("lishifu")[-1]
    await say(st, "lishifu", "工时1小时 无配件")
    told = [ln.content for ln in st.sandbox.delivered(f"kf:{user}")]
    after = told[told.index(next(x for x in told if "已为您创建工单" in x)):]
    assert len(after) == 5
    assert ["已接单" in after[1], "已出发" in after[2], "已完工" in after[3],
            "结算单" in after[4]] == [True] * 4
    assert not any("已到达" in x for x in told)
    assert all(c["errcode"] == 0 for c in st.sandbox.calls("kf/send_msg"))
    assert (await st.rows(Ticket))[0].status == "resolved" and t.channel == "kf"
    # Writing again renews the allowance: 进度 is answered.
    await st.sandbox.customer_kf(user, "进度")
    await st.settle()
    assert "已解决" in st.sandbox.delivered(f"kf:{user}")[-1].content


async def test_a_named_ticket_wins_over_the_one_the_bot_waits_on(st):
    first = await report(st)
    await click(st, "lishifu", st.cards("lishifu")[-1], "accept")
    second = await report(st, "人民广场店磨豆机也坏了 13812345678")
    await click(st, "lishifu", st.cards("lishifu")[-1], "accept")
    first_work = next(c for c in st.cards("lishifu") if c.task_id.startswith("work-"))
    await click(st, "lishifu", first_work, "done")  # the bot now waits for the first's details
    answer = await say(st, "lishifu", f"{second.number} 工时1小时30分钟 无配件")
    assert second.number in answer and "工时1.5小时" in answer
    by_id = {t.id: t for t in await st.rows(Ticket)}
    assert (by_id[first.id].status, by_id[second.id].status) == ("accepted", "resolved")
    [rep] = await st.rows(WorkReport)
    assert (rep.ticket_id, rep.labour_minutes) == (second.id, 90)


async def test_a_click_that_races_the_customers_cancel_is_answered_not_failed(st):
    t = await report(st)
    card = st.cards("lishifu")[-1]
    key = next(b["key"] for b in card.content["button_list"] if ":accept:" in b["key"])
    await st.sandbox.aibot_says("zhangsan", f"取消工单 {t.number}", chat_id=GROUP)
    await st.sandbox.click("lishifu", card.task_id, key)  # before the bot handled the cancel
    await st.settle()
    st.clock.advance(seconds=30)  # a retry, if a transaction conflicted, is due by now
    await st.settle()
    [after] = await st.rows(Ticket)
    assert after.status == "cancelled"
    assert {e.status for e in await st.inbox()} == {"done"}  # nothing parked or pending
    told = [ln.content for ln in lines(st, "lishifu") if ln.kind == "text"]
    assert told[-1] in (texts.OFFER_STALE["withdrawn"].format(number=t.number),
                        texts.CANCELLED_TO_TECH.format(number=t.number))
    [offer] = await st.rows(Offer)
    assert offer.status in ("withdrawn", "accepted")
    assert [o.technician for o in await st.rows(Offer)] == ["lishifu"]  # nobody else asked


async def test_cancelling_an_escalated_ticket_updates_the_dispatchers_card(st):
    t = await report(st)
    for _ in range(2):
        st.clock.advance(minutes=10)
        await st.settle()
    card = st.cards("wangjingli")[-1]
    await st.sandbox.aibot_says("zhangsan", f"取消工单 {t.number}", chat_id=GROUP)
    await st.settle()
    assert card_state(st, card.task_id)["replaced"] == "已取消"
    await click(st, "wangjingli", card, "assign")  # pressed anyway
    assert lines(st, "wangjingli")[-1].content == texts.ASSIGN_NOT_NEEDED.format(
        number=t.number, status="已取消")
    assert (await st.rows(Ticket))[0].assignee is None


async def test_every_part_is_recorded_and_a_missing_price_is_asked_for_in_chat(st):
    """完工 with two parts, one without a price: both are recorded; settlement asks the
    technician for the missing price at once, and the answer sends the statement."""
    t = await report(st)
    await click(st, "lishifu", st.cards("lishifu")[-1], "accept")
    # The hint says that each part needs its quantity and price.
    assert "完工 工时1.5小时 配件 水泵1个180元" in lines(st, "lishifu")[-2].content
    assert "每个配件写数量和单价" in lines(st, "lishifu")[-2].content
    # Details said in pieces are kept: parts first, the labour time when asked for.
    assert await say(st, "lishifu", "完工 配件 密封圈2个每个5元 水泵1个") == \
        texts.ASK_LABOUR.format(number=t.number)
    done = await say(st, "lishifu", "工时1.5小时")
    assert done.startswith(texts.DONE_OK.format(
        number=t.number, work="工时1.5小时，配件：密封圈×2（单价5元）、水泵×1（未报单价）"))
    [rep] = await st.rows(WorkReport)
    assert rep.parts == [{"name": "密封圈", "qty": "2", "unit_cost": "5"},
                         {"name": "水泵", "qty": "1", "unit_cost": None}]
    # The customer (in the group, by its robot) hears of both parts, without prices.
    assert any("李师傅已完工（工时1.5小时，配件：密封圈×2、水泵×1）" in x for x in st.said(ROBOT))
    # Settlement asks the technician right away, in chat, for exactly what is missing.
    assert lines(st, "lishifu")[-1].content == (
        f"工单 {t.number} 还不能出结算单：配件“水泵”还没有单价。请回复例如：水泵 180元\n"
        "30分钟内没有收到，将转财务核价。")
    # A short answer without any keyword: the statement goes to the customer and to him.
    answer = await say(st, "lishifu", "水泵 180元")
    assert answer.startswith(f"已记下：水泵 单价180元。工单 {t.number} 的结算单已发给客户")
    assert "您的分成" in answer
    statement = next(ln.content for ln in reversed(lines(st, "zhangsan")) if ln.kind == "text")
    # 检测费 80 + 工时 180 + 路程 0.4 km × 2.50 = 1.00 + 密封圈 2 × 6.00 + 水泵 216.00
    # = net 489.00; VAT 13% 63.57; total 552.57
    assert "配件（密封圈） 2件 × ¥6.00：¥12.00" in statement
    assert "配件（水泵） 1件 × ¥216.00：¥216.00" in statement
    assert "合计：¥552.57" in statement and "占" not in statement
    assert not any("合计" in x for x in st.said(ROBOT))  # a bill is private


async def test_a_wechat_customer_still_gets_the_statement_after_a_missing_price(st):
    """On 微信客服 the news that the statement waits for a price would take the last of WeCom's
    5 sends: it is kept back, and the statement itself arrives once the price does."""
    user = "wmCHENnvshi0001"
    for said in ("人民广场店咖啡机坏了 13812345678", "尽快", "确认"):
        st.clock.advance(seconds=20)
        await st.sandbox.customer_kf(user, said)
        await st.settle()
    work = None
    for action in ("accept", "depart", "arrive"):
        card = st.cards("lishifu")[-1] if work is None else work
        await click(st, "lishifu", card, action)
        work = work or st.cards("lishifu")[-1]
    await say(st, "lishifu", "完工 工时1小时 配件 水泵1个")
    assert "还没有单价" in lines(st, "lishifu")[-1].content
    await say(st, "lishifu", "180元")
    told = [ln.content for ln in st.sandbox.delivered(f"kf:{user}")]
    after = told[told.index(next(x for x in told if "已为您创建工单" in x)):]
    assert len(after) == 5 and "已完工（工时1小时，配件：水泵×1）" in after[3]
    assert after[4].startswith("工单 ") and "配件（水泵） 1件 × ¥216.00：¥216.00" in after[4]
    assert not any("还差配件" in x for x in told)
    assert all(c["errcode"] == 0 for c in st.sandbox.calls("kf/send_msg"))
