"""A burst of jobs spreads over the technicians who can take them: an offer still awaiting an
answer counts against the technician's capacity (and in their load score) like a job they hold,
whether it was made in an earlier transaction or earlier in the same batch.

When offers alone fill everyone who could take a job, it is still offered (to the best by the
other parts) rather than put to the dispatcher: it waits its turn like any offer.

The sandbox's people and stores (config/sandbox/); 李师傅 and 周师傅 are given a capacity of 2
here. For a coffee machine in Shanghai, 李师傅 (coffee 3, near 人民广场, 静安寺, 陆家嘴 and 徐家汇)
ranks first, 周师傅 (coffee 2) second; nobody else in Shanghai has the skill.
"""

from __future__ import annotations

from models.dispatch import DispatchJob, Offer
from models.tickets import Ticket

from tests.scenarios.test_dispatch import add_staff, card_state, click, lines, say

TWO_EACH = """
- userid: lishifu
  name: 李师傅
  roles: [technician]
  skills: {aircon: 4, coffee: 3, general: 3}
  regions: ["310000"]
  home: {lat: 31.2290, lon: 121.4760}
  capacity: 2
  rating: 4.8
  shifts: [{days: daily, start: "00:00", end: "24:00"}]
- userid: zhoushifu
  name: 周师傅
  roles: [technician]
  skills: {coffee: 2, general: 3}
  regions: ["310000"]
  home: {lat: 31.2700, lon: 121.5200}
  capacity: 2
  rating: 4.2
  shifts: [{days: daily, start: "00:00", end: "24:00"}]
"""
STORES = ["人民广场店", "静安寺店", "陆家嘴店", "徐家汇店", "五角场店"]
USERS = ["zhangsan", "lisi", "wangwu", "zhaoliu", "sunqi"]


async def up_to_confirm(st, user, store):
    """A store employee reports 1:1 and says when; the bot waits for 确认."""
    for said in (f"{store}咖啡机坏了，请尽快来修 1381234567{len(store)}", "尽快"):
        await st.sandbox.aibot_says(user, said)
        await st.settle()


async def offered_to(st) -> list[tuple[str, str]]:
    tickets = {t.id: t.number for t in await st.rows(Ticket)}
    return [(tickets[o.ticket_id], o.technician) for o in await st.rows(Offer)
            if o.status == "offered"]


async def report(st, user, store):
    await up_to_confirm(st, user, store)
    await st.sandbox.aibot_says(user, "确认")
    await st.settle()
    return (await st.rows(Ticket))[-1].number


async def test_reports_one_after_another_spread_when_offers_fill_a_capacity(st, tmp_path):
    await add_staff(st, tmp_path, TWO_EACH)
    first, second, third = [await report(st, u, s) for u, s in zip(USERS[:3], STORES[:3])]
    # 李师傅 has not answered either offer: the third job goes to the next one who can take it.
    assert await offered_to(st) == [(first, "lishifu"), (second, "lishifu"),
                                    (third, "zhoushifu")]
    assert [third in ln.content for ln in st.sandbox.delivered("app:zhoushifu")
            if ln.kind == "text"] == [True]
    # A manager asking why reads that 李师傅 was full of offers awaiting him, not of jobs held.
    why = await say(st, "wangjingli", f"为什么派给他 {third}")
    assert "派给周师傅" in why and "已满负荷 1人：李师傅（在手0单，另有2单待接，上限2单）" in why
    # 李师傅 declines the second: it moves on to 周师傅 (now full), and 李师傅 has room again.
    [card] = [c for c in st.cards("lishifu") if second in str(c.content)]
    await click(st, "lishifu", card, "decline")
    assert card_state(st, card.task_id)["replaced"] == "已拒单"
    assert await offered_to(st) == [(first, "lishifu"), (third, "zhoushifu"),
                                    (second, "zhoushifu")]
    fourth = await report(st, USERS[3], STORES[3])
    assert (await offered_to(st))[-1] == (fourth, "lishifu")
    # Both full of offers now: the fifth is still offered, and no dispatcher is asked.
    told_before = len(lines(st, "wangjingli"))
    fifth = await report(st, USERS[4], STORES[4])
    assert [t for t, _ in await offered_to(st)].count(fifth) == 1
    assert [ln for ln in lines(st, "wangjingli")[told_before:] if fifth in str(ln.content)] == []
    [job] = [j for j in await st.rows(DispatchJob) if j.ticket_id == (await st.rows(Ticket))[-1].id]
    assert job.status == "offering"


async def test_reports_confirmed_together_spread_within_one_batch(st, tmp_path):
    """Three confirmations handled in one worker batch, then their three placements in the
    next: the offers made earlier in the same (uncommitted) transaction count too."""
    await add_staff(st, tmp_path, TWO_EACH)
    for user, store in zip(USERS[:3], STORES[:3]):
        await up_to_confirm(st, user, store)
    batches: list[list[str]] = []
    handle = st.bot.worker._handle_batch

    async def recording(todo):
        batches.append([e.type for _, e, _ in todo])
        return await handle(todo)

    st.bot.worker._handle_batch = recording
    for user in USERS[:3]:
        await st.sandbox.aibot_says(user, "确认")
    await st.settle()
    assert ["ticket_created"] * 3 in batches  # placed in one transaction
    assert sorted(who for _, who in await offered_to(st)) == ["lishifu", "lishifu", "zhoushifu"]


async def test_the_dispatcher_is_told_why_nobody_is_left_truthfully(st, tmp_path):
    """李师傅 declines and 周师傅 is on leave: the dispatcher reads both, not that everyone
    who could take it declined or let it time out."""
    await add_staff(st, tmp_path, TWO_EACH.replace(
        "  capacity: 2\n  rating: 4.2",
        '  capacity: 2\n  rating: 4.2\n  leave: [{from: "2026-11-25", to: "2026-11-26"}]'))
    number = await report(st, USERS[0], STORES[0])
    assert await offered_to(st) == [(number, "lishifu")]
    await click(st, "lishifu", st.cards("lishifu")[-1], "decline")
    told = [ln.content for ln in lines(st, "wangjingli") if ln.kind == "text"][-1]
    assert number in told and "需要人工派单" in told
    assert "已拒单/超时1人" in told and "请假中1人" in told
    assert "均已拒单或超时" not in told
