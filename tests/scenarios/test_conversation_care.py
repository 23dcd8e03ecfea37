"""What a newcomer hit in the sandbox (issue 11): a greeting and help for each kind of person, an
honest answer to what the bot did not understand, mentions never taken as words, changes
applied to the field they name, reports linked only to the same problem, no stale ETA."""

from __future__ import annotations


import pytest

from handlers.basic import texts as fallback
from handlers.intake import texts
from handlers.lifecycle import transition
from models.ticketing import ticket_by_number
from models.tickets import Draft, Staff, Ticket

GROUP = "wrSTORE3group"
KF_USER = "wmCHENnvshi0001"


async def staff(stack) -> None:
    async with stack.bot.sm() as s, s.begin():
        s.add(Staff(userid="lishifu", name="李师傅", roles=["technician"]))
        s.add(Staff(userid="wangjingli", name="王经理", roles=["manager", "dispatcher"]))
        s.add(Staff(userid="zhaokuaiji", name="赵会计", roles=["finance"]))


async def resolve(stack, number: str) -> None:
    """The ticket's work is done (whatever dispatch already did with it)."""
    path = ("new", "dispatched", "accepted", "in_progress", "resolved")
    async with stack.bot.sm() as s, s.begin():
        t = await ticket_by_number(s, number)
        for to in path[path.index(t.status) + 1:]:
            await transition(s, t, to, actor="test", now=stack.clock.now())


async def say(stack, channel: str, text: str, user: str) -> str:
    """``user`` writes ``text`` on ``channel``; the bot's last answer there."""
    sb = stack.sandbox
    if channel == "kf":
        await sb.customer_kf(user, text)
        conv = f"kf:{user}"
    elif channel == "aibot":
        await sb.aibot_says(user, text)
        conv = f"aibot:u:{user}"
    elif channel == "group":
        await sb.aibot_says(user, text, chat_id=GROUP)
        conv = f"aibot:g:{GROUP}"
    else:
        await sb.member_says(user, text)
        conv = f"app:{user}"
    await stack.settle()
    return stack.said(conv)[-1]


@pytest.mark.parametrize("channel,user,role", [
    ("kf", KF_USER, "customer"), ("aibot", "liuxiansheng", "customer"),
    ("group", "zhangsan", "group"), ("app", "zhangsan", "customer"),
    ("app", "lishifu", "technician"), ("app", "wangjingli", "manager"),
    ("app", "zhaokuaiji", "finance"),
])
async def test_hello_and_help_fit_the_person(stack, channel, user, role):
    await staff(stack)
    hello = await say(stack, channel, "你好", user)
    assert hello == fallback.HELLO + fallback.HELP[role]
    assert await say(stack, channel, "帮助", user) == fallback.HELP[role]
    unknown = await say(stack, channel, "qwzx plokm", user)
    assert unknown.startswith("抱歉，没看懂“qwzx plokm”") and fallback.EXAMPLES[role] in unknown
    for answer in (hello, unknown):
        assert "已记录" not in answer and "正在处理" not in answer  # no follow-up is promised


async def test_a_lone_phone_number_asks_what_the_problem_is(stack):
    answer = await say(stack, "kf", "13812345678", KF_USER)
    assert answer == fallback.PHONE_ONLY.format(phone="13812345678")


async def test_a_managers_summary_question_gets_the_digest(stack):
    await staff(stack)  # the SLA feature answers it now (handlers/sla/, docs/sla.md)
    answer = await say(stack, "app", "今天的工单汇总", "wangjingli")
    assert answer.startswith("📊 工单日报") and "新收 0 · 完结 0 · 未完结 0" in answer


async def test_a_mention_typed_again_is_not_part_of_the_message(stack):
    """The group persona adds "@工单助手 "; a person who types it too still just says 确认."""
    first = await say(stack, "group", "@工单助手 人民广场店咖啡机坏了，今天下午能来修吗 13812345678",
                      "zhangsan")
    assert "请核对工单信息" in first and "@工单助手" not in first
    done = await say(stack, "group", "@工单助手 确认", "zhangsan")
    [t] = await stack.rows(Ticket)
    assert t.number in done and "@" not in t.description


async def test_a_change_in_words_changes_the_field_not_the_description(stack):
    await say(stack, "kf", "人民广场店咖啡机坏了 13812345678 明天上午", KF_USER)
    answer = await say(stack, "kf", "时间改成今天下午3点", KF_USER)
    assert answer.startswith("已把时间改为：11月25日 15:00")
    assert "请核对工单信息" in answer
    [draft] = await stack.rows(Draft)
    assert "改成" not in draft.description
    assert draft.fields["appointment"].startswith("2026-11-25T15:00")
    phone = await say(stack, "kf", "电话改成13900000000", KF_USER)
    assert phone.startswith("已把电话改为：13900000000")
    await say(stack, "kf", "确认", KF_USER)
    [t] = await stack.rows(Ticket)
    assert t.phone == "13900000000" and t.appointment_start.hour == 7  # 15:00 Shanghai
    # After the ticket exists, the time still changes on it (audited) …
    moved = await say(stack, "kf", "时间改到明天下午", KF_USER)
    assert moved.startswith(f"已把工单 {t.number} 的时间改为：11月26日 14:00")
    # … and said the way people say it, without the word 时间 (was read as 确认)
    moved = await say(stack, "kf", "今天不方便了，能改到明天上午10点吗", KF_USER)
    assert moved.startswith(f"已把工单 {t.number} 的时间改为：11月26日 10:00"), moved
    # … but the device would need a new placement: said so, nothing changed.
    refused = await say(stack, "kf", "设备改成冰箱", KF_USER)
    assert refused == texts.CHANGE_NOT_ON_TICKET.format(number=t.number, field="设备")
    [t] = await stack.rows(Ticket)
    assert t.device == "咖啡机"


async def test_an_english_report_is_not_merged_into_a_follow_up(stack):
    """A 回访 ticket is ours to the customer; a new problem never joins it."""
    await say(stack, "kf", "人民广场店咖啡机坏了 13812345678 尽快", KF_USER)
    await say(stack, "kf", "确认", KF_USER)
    [t] = await stack.rows(Ticket)
    await resolve(stack, t.number)
    await say(stack, "kf", "确认", KF_USER)
    await say(stack, "kf", "1分", KF_USER)  # a low score opens a 回访 ticket
    tickets = await stack.rows(Ticket)
    assert [x.category for x in tickets] == ["repair", "followup"]
    answer = await say(stack, "kf", "my coffee machine is broken", KF_USER)
    assert "已在工单" not in answer  # not "already handled in ticket …"
    assert "收到您的报修" in answer
    assert len(await stack.rows(Ticket)) == 2 and len(await stack.rows(Draft)) == 2


async def test_progress_of_a_resolved_ticket_shows_no_visit_time(stack):
    await say(stack, "kf", "人民广场店咖啡机坏了 13812345678 明天上午", KF_USER)
    await say(stack, "kf", "确认", KF_USER)
    [t] = await stack.rows(Ticket)
    await resolve(stack, t.number)
    stack.clock.advance(hours=1)
    answer = await say(stack, "kf", "进度", KF_USER)
    assert "已解决" in answer and "预约" not in answer and "上门" not in answer
