"""Whose tickets a customer may see, change and cancel (sandbox walks, 2026-12-02): a phone
number typed in a chat is not proof of who typed it, and a bare 取消 or 改到… never guesses
between open tickets.
Every 1:1 channel a customer can use, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from handlers.intake import texts
from models.tickets import Customer, Draft, Ticket

from tests.scenarios.test_conversation_care import KF_USER, say

PHONE = "13812345678"
#: the customer who types someone else's number, or has two tickets open: on 微信客服, the AI
#: bot 1:1, the app 1:1, and as a store employee in the store's group (@工单助手)
EVERY = [("kf", KF_USER), ("aibot", "chennvshi"), ("app", "chennvshi"), ("group", "chennvshi")]


async def zhangsan_reports(stack) -> Ticket:
    await say(stack, "app", f"人民广场店咖啡机坏了，今天能来修吗 {PHONE}", "zhangsan")
    done = await say(stack, "app", "确认", "zhangsan")
    [t] = await stack.rows(Ticket)
    assert t.number in done
    return t


@pytest.mark.parametrize("channel,user", EVERY)
async def test_a_number_someone_else_gave_opens_none_of_their_tickets(stack, channel, user):
    theirs = await zhangsan_reports(stack)
    # 陈女士 reports something of her own with 张三's number, then drops it.
    await say(stack, channel, f"家里空调不制冷了 {PHONE} 明天上午", user)
    assert await say(stack, channel, "取消", user) == texts.DRAFT_CANCELLED
    progress = await say(stack, channel, "进度", user)
    assert theirs.number not in progress and progress == texts.NO_TICKET
    refused = await say(stack, channel, f"取消 {theirs.number}", user)
    assert refused == texts.NO_TICKET
    [t] = await stack.rows(Ticket)
    assert t.status != "cancelled" and t.customer_id == theirs.customer_id
    # Two customers, none merged into the other; 张三's next report starts with his own number.
    customers = await stack.rows(Customer)
    assert len(customers) == 2 and all(c.merged_into_id is None for c in customers)
    await say(stack, "app", "另外门口的灯也不亮了", "zhangsan")
    drafts = [d for d in await stack.rows(Draft)
              if d.sender == "zhangsan" and d.status == "collecting"]
    assert [d.fields.get("phone") for d in drafts] == [PHONE]


async def two_open_tickets(stack, channel: str, user: str) -> tuple[Ticket, Ticket]:
    for report in (f"人民广场店咖啡机坏了 {PHONE} 明天上午", "静安店空调不制冷 明天下午"):
        await say(stack, channel, report, user)
        await say(stack, channel, "确认", user)
    first, second = sorted(await stack.rows(Ticket), key=lambda t: t.id)
    return first, second


@pytest.mark.parametrize("channel,user", EVERY)
async def test_a_bare_cancel_with_two_open_tickets_asks_which(stack, channel, user):
    first, second = await two_open_tickets(stack, channel, user)
    before = {t.number: t.status for t in (first, second)}
    assert "cancelled" not in before.values()
    asked = await say(stack, channel, "取消", user)
    assert asked.startswith("您有2张未完成的工单，要取消哪一张？")
    assert first.number in asked and second.number in asked
    assert {t.number: t.status for t in await stack.rows(Ticket)} == before  # nothing cancelled
    done = await say(stack, channel, f"取消 {first.number}", user)
    assert done == texts.CANCELLED.format(number=first.number)
    statuses = {t.number: t.status for t in await stack.rows(Ticket)}
    assert statuses == {first.number: "cancelled", second.number: before[second.number]}
    # One left open: a bare 取消 now means that one, as before.
    assert await say(stack, channel, "取消", user) == texts.CANCELLED.format(number=second.number)


@pytest.mark.parametrize("channel,user", EVERY)
async def test_a_new_time_with_two_open_tickets_asks_which(stack, channel, user):
    first, second = await two_open_tickets(stack, channel, user)
    when = {t.number: t.appointment_start for t in (first, second)}
    asked = await say(stack, channel, "改到后天下午3点吧", user)
    assert asked.startswith("您有2张未完成的工单，要修改哪一张？"), asked
    assert first.number in asked and f"例如“{second.number} 改到后天下午3点吧”" in asked
    assert {t.number: t.appointment_start for t in await stack.rows(Ticket)} == when
    moved = await say(stack, channel, f"{second.number} 改到后天下午3点吧", user)
    assert moved.startswith(f"已把工单 {second.number} 的时间改为：11月27日 15:00"), moved
    after = {t.number: t.appointment_start for t in await stack.rows(Ticket)}
    assert after[first.number] == when[first.number] != after[second.number]
