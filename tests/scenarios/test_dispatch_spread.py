"""A burst of jobs spreads over the technicians who can take them: an offer still awaiting an
answer counts against the technician's capacity (and in their load score) like a job they hold,
whether it was made in an earlier transaction or earlier in the same batch.

The sandbox's people and stores (config/sandbox/); 李师傅 is given a capacity of 2 here. For a
coffee machine in Shanghai, 李师傅 (coffee 3, near 人民广场 and 静安寺) ranks first, 周师傅
(coffee 2) second; nobody else in Shanghai has the skill.
"""

from __future__ import annotations

from models.dispatch import DispatchDecisionRow, Offer
from models.tickets import Ticket

from tests.scenarios.test_dispatch import add_staff, card_state, click, say

LI_TWO = """
- userid: lishifu
  name: 李师傅
  roles: [technician]
  skills: {aircon: 4, coffee: 3, general: 3}
  regions: ["310000"]
  home: {lat: 31.2290, lon: 121.4760}
  capacity: 2
  rating: 4.8
  shifts: [{days: daily, start: "00:00", end: "24:00"}]
"""
STORES = ["人民广场店", "静安寺店", "陆家嘴店"]
USERS = ["zhangsan", "lisi", "wangwu"]


async def up_to_confirm(st, user, store):
    """A store employee reports 1:1 and says when; the bot waits for 确认."""
    for said in (f"{store}咖啡机坏了，请尽快来修 1381234567{len(store)}", "尽快"):
        await st.sandbox.aibot_says(user, said)
        await st.settle()


async def offered_to(st) -> list[tuple[str, str]]:
    tickets = {t.id: t.number for t in await st.rows(Ticket)}
    return [(tickets[o.ticket_id], o.technician) for o in await st.rows(Offer)
            if o.status == "offered"]


async def test_reports_one_after_another_spread_when_offers_fill_a_capacity(st, tmp_path):
    await add_staff(st, tmp_path, LI_TWO)
    for user, store in zip(USERS, STORES):
        await up_to_confirm(st, user, store)
        await st.sandbox.aibot_says(user, "确认")
        await st.settle()
    first, second, third = (t.number for t in await st.rows(Ticket))
    # 李师傅 has not answered either offer: the third job goes to the next one who can take it.
    assert await offered_to(st) == [(first, "lishifu"), (second, "lishifu"),
                                    (third, "zhoushifu")]
    assert [third in ln.content for ln in st.sandbox.delivered("app:zhoushifu")
            if ln.kind == "text"] == [True]
    # A manager asking why reads that 李师傅 was full with offers awaiting, not with jobs held.
    why = await say(st, "wangjingli", f"为什么派给他 {third}")
    assert "派给周师傅" in why and "已满负荷 1人：李师傅（当前负载0/2，另有2单待答复）" in why
    # 李师傅 declines the second: it moves on to 周师傅, and 李师傅 has room again.
    [card] = [c for c in st.cards("lishifu") if second in str(c.content)]
    await click(st, "lishifu", card, "decline")
    assert card_state(st, card.task_id)["replaced"] == "已拒单"
    assert await offered_to(st) == [(first, "lishifu"), (third, "zhoushifu"),
                                    (second, "zhoushifu")]
    [*_, last] = await st.rows(DispatchDecisionRow)
    [li] = [r for r in last.record["rejected"] if r["tech_id"] == "lishifu"]
    assert li["filter"] == "excluded"  # declined this one; no longer full


async def test_reports_confirmed_together_spread_within_one_batch(st, tmp_path):
    """Three confirmations handled in one worker batch, then their three placements in the
    next: the offers made earlier in the same (uncommitted) transaction count too."""
    await add_staff(st, tmp_path, LI_TWO)
    for user, store in zip(USERS, STORES):
        await up_to_confirm(st, user, store)
    batches: list[list[str]] = []
    handle = st.bot.worker._handle_batch

    async def recording(todo):
        batches.append([e.type for _, e, _ in todo])
        return await handle(todo)

    st.bot.worker._handle_batch = recording
    for user in USERS:
        await st.sandbox.aibot_says(user, "确认")
    await st.settle()
    assert ["ticket_created"] * 3 in batches  # placed in one transaction
    assert sorted(who for _, who in await offered_to(st)) == ["lishifu", "lishifu", "zhoushifu"]
