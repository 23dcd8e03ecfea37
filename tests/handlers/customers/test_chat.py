"""Customer history through chat (the sandbox and the bot in one process): the offer and work
cards show the history summary and the floor, a repeat problem shows the technician last time's
fix, parts and the solution template, `客户 GD…` shows everything to staff (a masked phone to
those who do not need it), and a 扫码报修 QR's text starts a report with store and device filled.
The clock starts at 2026-11-25 10:00 Shanghai."""

from __future__ import annotations

from handlers.customers.qr import report_text
from models.dispatch import Offer
from models.tickets import Draft, Ticket

GROUP = "wrSTORE3group"


def texts_to(st, user):
    return [ln.content for ln in st.sandbox.delivered(f"app:{user}") if ln.kind == "text"]


async def report(st, text):
    for said in (text, "尽快", "确认"):
        await st.sandbox.aibot_says("zhangsan", said, chat_id=GROUP)
        await st.settle()
    return (await st.rows(Ticket))[-1]


async def take_and_finish(st, ticket, done_text):
    offer = [o for o in await st.rows(Offer) if o.ticket_id == ticket.id][-1]
    card = next(c for c in reversed(st.cards(offer.technician)) if c.task_id == f"offer-{offer.id}")
    action = "grab" if offer.mode == "grab" else "accept"
    key = next(b["key"] for b in card.content["button_list"] if b["key"].split(":")[1] == action)
    await st.sandbox.click(offer.technician, card.task_id, key)
    await st.settle()
    await st.sandbox.member_says(offer.technician, f"完工 {ticket.number} {done_text}")
    await st.settle()
    return offer.technician


async def test_a_repeat_problem_shows_the_technician_last_times_fix(st):
    first = await report(st, "人民广场店咖啡机不出热水了，在3楼后厨，13812345678")
    fields = (await st.rows(Ticket))[0].fields
    assert fields["customer"]["summary"] == "新客户" and fields["customer"]["repeat"] == []
    assert fields["work"]["site"] == "3楼"
    tech = await take_and_finish(st, first, "工时1小时 配件 加热管1个80元")
    # the work card showed the floor before they went
    work = next(c for c in st.cards(tech) if c.task_id.startswith("work-"))
    rows = {r["keyname"]: r["value"] for r in work.content["horizontal_content_list"]}
    assert rows["现场"] == "3楼" and rows["客户"] == "新客户"

    st.clock.advance(days=3)
    second = await report(st, "人民广场店咖啡机又不出热水了 13812345678")
    assert second.id != first.id
    offer = [o for o in await st.rows(Offer) if o.ticket_id == second.id][-1]
    told = next(x for x in reversed(texts_to(st, offer.technician)) if second.number in x)
    assert f"重复报修：3天前 {first.number}" in told
    assert "加热管×1" in told and "工时1小时" in told
    assert "参考方案「咖啡机不加热」：1. 先查加热管电阻" in told
    card = next(c for c in reversed(st.cards(offer.technician)) if c.task_id == f"offer-{offer.id}")
    rows = {r["keyname"]: r["value"] for r in card.content["horizontal_content_list"]}
    assert rows["客户"].startswith("1次报修") and "3天内重复" in rows["客户"]
    assert len(card.content["horizontal_content_list"]) <= 6


async def test_a_repeat_the_same_day_is_from_today_not_a_day_ago(st):
    first = await report(st, "人民广场店咖啡机不出热水了，13812345678")
    await take_and_finish(st, first, "工时1小时 配件 加热管1个80元")
    st.clock.advance(hours=2)
    second = await report(st, "人民广场店咖啡机又不出热水了 13812345678")
    offer = [o for o in await st.rows(Offer) if o.ticket_id == second.id][-1]
    told = next(x for x in reversed(texts_to(st, offer.technician)) if second.number in x)
    assert f"重复报修：今天 {first.number}" in told and "天前" not in told


async def test_customer_history_in_full_for_staff_with_a_masked_phone_where_not_needed(st):
    first = await report(st, "人民广场店咖啡机不出热水了 13812345678")
    await take_and_finish(st, first, "工时1小时 配件 加热管1个80元")
    st.clock.advance(days=40)  # not a repeat any more: just history
    second = await report(st, "人民广场店咖啡机漏水 13812345678")

    await st.sandbox.member_says("wangjingli", f"客户 {second.number}")  # a dispatcher
    await st.settle()
    full = texts_to(st, "wangjingli")[-1]
    assert full.startswith(f"客户 {second.number} 的历史（近3年）")
    assert "联系电话：13812345678" in full and "报修1次" in full
    assert f"{first.number} 人民广场店" in full or first.number in full
    assert "完工" in full and "加热管" in full  # last time's fix
    assert "重复报修" not in full

    await st.sandbox.member_says("qiankuaiji", f"客户 {second.number}")  # finance: masked
    await st.settle()
    masked = texts_to(st, "qiankuaiji")[-1]
    assert "138****5678" in masked and "13812345678" not in masked


async def test_a_qr_scan_starts_a_report_with_store_and_device_filled(st):
    await st.sandbox.member_says("zhangsan", report_text("人民广场店", "咖啡机", "CM-001"))
    await st.settle()
    [draft] = await st.rows(Draft)
    assert (draft.fields["store"], draft.fields["device"]) == ("人民广场店", "咖啡机")
    for said in ("不出热水了", "13812345678", "尽快", "确认"):
        await st.sandbox.member_says("zhangsan", said)
        await st.settle()
    [t] = await st.rows(Ticket)
    assert (t.store, t.device) == ("人民广场店", "咖啡机")
