"""Chat intake through the sandbox: encrypted callbacks in, what each person sees and the
ticket rows out. The sandbox clock starts at 2026-11-25 10:00 in Shanghai."""

from __future__ import annotations

import pytest

from handlers.intake import texts
from handlers import voice
from handlers.lifecycle import transition
from models.ticketing import ticket_by_number
from models.tickets import (Attachment, Draft, Staff, Ticket, TicketEvent, TicketMessage)
from tests.scenarios.journey_transcript import CHANNELS, Journey

GROUP = "wrSTORE3group"


async def move(stack, number, *steps):
    async with stack.bot.sm() as s, s.begin():
        t = await ticket_by_number(s, number)
        for to in steps:
            await transition(s, t, to, actor="ops:wangjingli", now=stack.clock.now())


async def kf(stack, text, user="wmCHENnvshi0001"):
    await stack.sandbox.customer_kf(user, text)
    await stack.settle()
    return stack.sandbox.delivered(f"kf:{user}")[-1].content


async def app(stack, text, user="zhangsan"):
    await stack.sandbox.member_says(user, text)
    await stack.settle()
    return stack.sandbox.delivered(f"app:{user}")[-1].content


async def group(stack, text, user="zhangsan"):
    await stack.sandbox.aibot_says(user, text, chat_id=GROUP)
    await stack.settle()
    return stack.sandbox.delivered(f"aibot:g:{GROUP}")[-1].content


async def kf_ticket(stack, text="空调不制冷", user="wmCHENnvshi0001") -> Ticket:
    """A customer reports through 微信客服 and confirms; returns the ticket."""
    before = {t.id for t in await stack.rows(Ticket)}
    await kf(stack, text, user)
    await kf(stack, "杭州市西湖区文三路100号", user)
    await kf(stack, "13912345678", user)
    await kf(stack, "明天下午", user)
    answer = await kf(stack, "确认", user)
    [t] = [t for t in await stack.rows(Ticket) if t.id not in before]
    assert t.number in answer
    return t


async def test_a_group_mention_with_everything_becomes_a_ticket_after_confirmation(stack):
    first = await group(stack, "人民广场店咖啡机坏了，今天下午能来修吗 13812345678")
    # Everything the repair category needs was in the message: straight to confirmation,
    # with the phone masked in front of the group.
    assert "请核对工单信息" in first and "咖啡机" in first and "人民广场店" in first
    assert "138****5678" in first and "13812345678" not in first
    assert "回复“确认”" in first
    assert await stack.rows(Ticket) == []
    done = await group(stack, "确认")
    [t] = await stack.rows(Ticket)
    assert t.number == "GD20261125-0001"
    assert f"已为您创建工单 {t.number}" in done and "138****5678" in done
    # Created, then handed straight to dispatch (handlers/dispatch.py; tests/scenarios/
    # test_dispatch.py follows it from there).
    assert (t.category, t.device, t.store, t.phone, t.status, t.channel) == (
        "repair", "咖啡机", "人民广场店", "13812345678", "dispatched", "aibot")
    assert t.appointment_start.isoformat() == "2026-11-25T06:00:00+00:00"  # 14:00 Shanghai
    assert t.site_id is not None and t.reporter == "zhangsan"
    assert len(stack.sandbox.calls("response_url")) == 2  # one answer per @-mention
    messages = await stack.rows(TicketMessage, TicketMessage.ticket_id == t.id)
    assert len(messages) == 2  # the report and the confirmation


async def test_slots_are_filled_one_question_at_a_time(stack):
    assert texts.ASK["place"] in await kf(stack, "空调不制冷")
    assert texts.ASK["phone"] in await kf(stack, "杭州市西湖区文三路100号")
    assert texts.BAD_PHONE in await kf(stack, "123")
    assert texts.ASK["time"] in await kf(stack, "13912345678")
    extra = await kf(stack, "还漏水")  # more about the problem joins the same draft
    assert "还漏水" in extra and texts.ASK["time"] in extra
    confirm = await kf(stack, "明天下午")
    assert "请核对工单信息" in confirm and "11月26日 14:00" in confirm
    assert "13912345678" in confirm  # 1:1 with the customer: not masked
    [draft] = await stack.rows(Draft)
    assert draft.status == "confirming"
    done = await kf(stack, "确认")
    [t] = await stack.rows(Ticket)
    assert t.number in done
    assert (t.address, t.province, t.city, t.district) == (
        "杭州市西湖区文三路100号", "浙江省", "杭州市", "西湖区")
    assert (t.province_code, t.city_code, t.district_code) == ("33", "3301", "330106")
    assert t.description == "空调不制冷\n还漏水" and t.phone == "13912345678"
    assert t.reporter == "wmCHENnvshi0001" and t.channel == "kf"
    assert len(await stack.rows(TicketMessage, TicketMessage.ticket_id == t.id)) == 7


async def test_messages_after_the_window_start_a_new_draft(stack):
    await kf(stack, "空调不制冷")
    stack.clock.advance(minutes=11)
    answer = await kf(stack, "冰箱不制冷")
    assert "收到您的报修：冰箱不制冷" in answer
    drafts = await stack.rows(Draft)
    assert [d.status for d in drafts] == ["expired", "collecting"]
    assert drafts[1].fields["device"] == "冰箱"


async def test_an_app_member_confirms_with_the_card(stack):
    await app(stack, "人民广场店POS机死机了 13812345678")
    await app(stack, "明天上午")
    lines = stack.sandbox.delivered("app:zhangsan")
    card_line = lines[-1]
    text_line = lines[-2]
    # The card, and a text fallback for the WeChat plug-in that cannot show cards.
    assert card_line.kind == "card" and texts.CONFIRM_BY_CARD in text_line.content
    card = card_line.content
    keys = [b["key"] for b in card["button_list"]]
    [draft] = await stack.rows(Draft)
    assert keys == [f"intake:confirm:{draft.id}", f"intake:edit:{draft.id}",
                    f"intake:cancel:{draft.id}"]
    assert card["card_type"] == "button_interaction" and len(card["task_id"]) <= 128
    await stack.sandbox.click("zhangsan", card_line.task_id, keys[0])
    await stack.settle()
    [t] = await stack.rows(Ticket)
    assert f"已为您创建工单 {t.number}" in stack.sandbox.delivered("app:zhangsan")[-1].content
    assert t.device == "POS机" and t.store == "人民广场店"
    # The clicked card now shows 已确认 instead of its buttons (the click's response_code, once).
    assert stack.sandbox.state.cards[card_line.task_id]["replaced"] == "已确认"
    [update] = stack.sandbox.calls("message/update_template_card")
    assert update["errcode"] == 0 and update["body"]["userids"] == ["zhangsan"]
    # A second click on the same card creates nothing more.
    await stack.sandbox.click("zhangsan", card_line.task_id, keys[0])
    await stack.settle()
    assert stack.sandbox.delivered("app:zhangsan")[-1].content == voice.DRAFT_GONE
    assert len(await stack.rows(Ticket)) == 1


async def test_edit_then_cancel_from_the_card(stack):
    await app(stack, "人民广场店POS机死机了 13812345678 明天上午")
    [draft] = await stack.rows(Draft)
    task = stack.sandbox.delivered("app:zhangsan")[-1].task_id
    await stack.sandbox.click("zhangsan", task, f"intake:edit:{draft.id}")
    await stack.settle()
    assert stack.sandbox.delivered("app:zhangsan")[-1].content == texts.EDIT_PROMPT
    await app(stack, "改成静安寺店")
    lines = stack.sandbox.delivered("app:zhangsan")
    assert "静安寺店" in lines[-2].content and lines[-1].kind == "card"
    await stack.sandbox.click("zhangsan", lines[-1].task_id, f"intake:cancel:{draft.id}")
    await stack.settle()
    assert stack.sandbox.delivered("app:zhangsan")[-1].content == texts.DRAFT_CANCELLED
    assert await stack.rows(Ticket) == []
    # A key the bot never issued is refused politely.
    await stack.sandbox.click("zhangsan", "intake-x", "intake:explode:1")
    await stack.settle()
    assert stack.sandbox.delivered("app:zhangsan")[-1].content == voice.CARD_CLICK_UNKNOWN


async def test_a_duplicate_report_is_added_to_the_open_ticket(stack):
    t = await kf_ticket(stack)
    stack.clock.advance(minutes=30)
    answer = await kf(stack, "空调不制冷，麻烦快点")
    assert t.number in answer and "不再重复建单" in answer
    assert len(await stack.rows(Ticket)) == 1
    events = await stack.rows(TicketEvent, TicketEvent.ticket_id == t.id)
    assert events[-1].action == "linked_report"
    assert (await stack.rows(TicketMessage))[-1].ticket_id == t.id


async def test_a_repeat_of_a_resolved_problem_links_the_previous_ticket(stack):
    old = await kf_ticket(stack)
    await move(stack, old.number, "accepted", "in_progress", "resolved")
    stack.clock.advance(hours=30)
    answer = await kf(stack, "空调不制冷")
    assert f"之前报修过（工单 {old.number}）" in answer
    # The phone is known from last time; the place and time are asked again.
    assert texts.ASK["place"] in answer
    assert texts.ASK["time"] in await kf(stack, "杭州市西湖区文三路100号")
    assert "13912345678" in await kf(stack, "后天上午")
    await kf(stack, "确认")
    new = (await stack.rows(Ticket))[-1]
    assert new.id != old.id and new.linked_ticket_id == old.id and new.link_kind == "repeat"


async def test_query_shows_status_assignee_and_eta(stack):
    assert await kf(stack, "我的工单到哪一步了") == texts.NO_TICKET
    t = await kf_ticket(stack)
    answer = await kf(stack, "我的工单到哪一步了")
    assert t.number in answer and "派单中" in answer and "暂未指派" in answer
    assert "按您预约的时间 11月26日 14:00" in answer
    # By number, too — but only the customer's own tickets.
    assert t.number in await kf(stack, f"{t.number} 进度怎么样")
    assert await kf(stack, f"{t.number} 进度怎么样", user="wmSOMEONEELSE") == texts.NO_TICKET


async def test_urging_raises_priority_and_tells_the_supervisor(stack):
    async with stack.bot.sm() as s, s.begin():
        s.add(Staff(userid="wangjingli", name="王经理", roles=["supervisor"]))
    t = await kf_ticket(stack)
    answer = await kf(stack, "催一下，怎么还没人来")
    assert t.number in answer and "“高”" in answer and "主管已收到提醒" in answer
    [note] = [m for m in stack.sandbox.delivered("app:wangjingli") if "催单" in m.content]
    assert t.number in note.content and "第 1 次催促" in note.content
    [after] = await stack.rows(Ticket)
    assert (after.priority, after.urge_count) == ("high", 1)
    assert (await stack.rows(TicketEvent))[-1].action == "urge"


async def test_urging_in_a_group_answers_the_group_and_tells_the_supervisor(stack):
    async with stack.bot.sm() as s, s.begin():
        s.add(Staff(userid="wangjingli", name="王经理", roles=["supervisor", "dispatcher"]))
    await group(stack, "人民广场店咖啡机坏了，今天下午能来修吗 13812345678")
    await group(stack, "确认")
    answer = await group(stack, "怎么还没人来，催一下")
    assert "主管已收到提醒" in answer
    assert len([m for m in stack.sandbox.delivered("app:wangjingli") if "催单" in m.content]) == 1


async def test_cancel_is_allowed_before_work_starts(stack):
    t = await kf_ticket(stack)
    assert await kf(stack, "取消工单") == texts.CANCELLED.format(number=t.number)
    [after] = await stack.rows(Ticket)
    assert after.status == "cancelled"
    assert "status:cancelled" in [e.action for e in await stack.rows(TicketEvent)]


async def test_cancel_is_refused_once_work_is_in_progress(stack):
    t = await kf_ticket(stack)
    await move(stack, t.number, "accepted", "in_progress")
    answer = await kf(stack, "取消工单")
    assert t.number in answer and "已不能取消" in answer and "处理中" in answer
    [after] = await stack.rows(Ticket)
    assert after.status == "in_progress"


async def test_confirming_a_resolved_ticket_closes_it_and_a_low_rating_opens_a_follow_up(stack):
    t = await kf_ticket(stack)
    await move(stack, t.number, "accepted", "in_progress", "resolved")
    assert t.number in await kf(stack, "修好了，确认")
    answer = await kf(stack, "1分，太差了")
    tickets = await stack.rows(Ticket)
    original, follow = tickets
    assert original.status == "closed" and original.satisfaction == 1
    assert (follow.category, follow.linked_ticket_id, follow.link_kind, follow.priority) == (
        "followup", original.id, "followup", "high")
    assert follow.number == "GD20261125-0002" and follow.number in answer and "回访" in answer


async def test_a_good_rating_is_recorded_without_a_follow_up(stack):
    t = await kf_ticket(stack)
    await move(stack, t.number, "accepted", "in_progress", "resolved")
    answer = await kf(stack, "非常满意")
    assert answer == texts.RATED.format(score=5)
    [after] = await stack.rows(Ticket)
    assert after.satisfaction == 5


async def test_pictures_and_locations_attach_to_the_draft_or_the_open_ticket(stack):
    await app(stack, "POS机死机了")
    await stack.sandbox.member_location("zhangsan", 31.2304, 121.4737, "上海市黄浦区人民大道120号")
    await stack.settle()
    answer = stack.sandbox.delivered("app:zhangsan")[-1].content
    assert "已收到位置：上海市黄浦区人民大道120号" in answer and texts.ASK["phone"] in answer
    await app(stack, "13812345678")
    await app(stack, "尽快")
    await app(stack, "确认")
    [t] = await stack.rows(Ticket)
    assert t.address == "上海市黄浦区人民大道120号" and abs(t.lat - 31.2304) < 1e-6
    await stack.sandbox.member_image("zhangsan", "https://example.invalid/pos.jpg")
    await stack.settle()
    assert stack.sandbox.delivered("app:zhangsan")[-1].content == \
        texts.ATTACHED_TICKET.format(kind="图片", number=t.number)
    kinds = [(a.kind, a.ticket_id) for a in await stack.rows(Attachment)]
    assert kinds == [("location", t.id), ("image", t.id)]


async def test_bad_input_gets_a_polite_answer_and_nothing_breaks(stack):
    assert await kf(stack, "😀😀👍") == texts.NOT_UNDERSTOOD
    assert await kf(stack, "   ") == voice.EMPTY_MESSAGE
    assert await kf(stack, "修" * 5000) == voice.TOO_LONG
    mixed = await kf(stack, "hello 空调坏了 please help")
    assert "收到您的报修" in mixed and texts.ASK["place"] in mixed
    assert {r.status for r in await stack.inbox()} == {"done"}


async def test_a_message_while_the_database_is_locked_is_answered_once_it_is_free(sqlite_url):
    """Another process holds SQLite's write lock. A message that arrives then is not acked
    (503: WeCom retries it); one already acked waits in the inbox, its handler retried with
    backoff; nothing crashes, and once the lock is gone each message is answered once."""
    import sqlite3

    from sqlalchemy.engine import make_url

    from tests.conftest import start_stack

    st = await start_stack(sqlite_url, SQLITE_BUSY_TIMEOUT_MS=50)
    try:
        rec = await st.sandbox.member_says("zhangsan", "人民广场店POS机死机了 13812345678")
        assert rec["acked"]
        other = sqlite3.connect(make_url(sqlite_url).database, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        late = await st.sandbox.member_says("lishifu", "咖啡机坏了")
        assert late["acked"] is False and set(late["attempts"]) == {503}
        await st.settle()  # the handler cannot write; nor can its failure be recorded
        [row] = await st.inbox()
        assert row.status == "pending" and row.attempts == 0  # untouched, still waiting
        assert st.sandbox.delivered("app:zhangsan") == []
        other.execute("ROLLBACK")
        other.close()
        await st.sandbox.member_says("lishifu", "咖啡机坏了")  # WeCom's next retry
        st.clock.advance(seconds=3)
        await st.settle()
        assert len([ln for ln in st.sandbox.delivered("app:zhangsan") if ln.kind == "text"]) == 1
        assert len([ln for ln in st.sandbox.delivered("app:lishifu") if ln.kind == "text"]) == 1
        assert [r.status for r in await st.inbox()] == ["done", "done"]
    finally:
        await st.bot.stop()
        await st.sandbox.stop()


async def test_in_groups_only_mentions_and_keywords_are_taken_up(stack):
    sb = stack.sandbox
    await sb.aibot_says("zhangsan", "今天中午吃什么", chat_id="wrSTORE3group", mention=False)
    await stack.settle()
    assert sb.delivered("aibot:g:wrSTORE3group") == []  # chatter: the bot stays silent
    await sb.aibot_says("zhangsan", "人民广场店冰箱坏了 13812345678", chat_id="wrSTORE3group",
                        mention=False)
    await stack.settle()
    [line] = sb.delivered("aibot:g:wrSTORE3group")  # keyword 坏了: intake asks what is missing
    assert "冰箱" in line.content and "138****5678" in line.content


async def test_braces_in_what_people_write_are_just_characters(stack):
    """Their words are quoted back, never used as a template ({…} once crashed the handler)."""
    await stack.sandbox.member_says("zhangsan", "人民广场店咖啡机{坏了} {question} {0}")
    await stack.settle()
    [reply] = stack.said("app:zhangsan")
    assert "咖啡机{坏了} {question} {0}" in reply
    await stack.sandbox.member_says("zhangsan", "还有{漏水}")
    await stack.settle()
    assert "还有{漏水}" in stack.said("app:zhangsan")[-1]
    assert {e.status for e in await stack.inbox()} == {"done"}


@pytest.mark.parametrize("channel", list(CHANNELS))
@pytest.mark.parametrize("answer", ["就是3号店啊", "上海市黄浦区南京东路100号"])
async def test_a_store_the_bot_does_not_know_is_asked_for_by_its_address_once(stack, channel,
                                                                              answer):
    """The brief's own example: 3号店 is no store of the sandbox's. The bot asks for its address
    by name, once; the store's name again, or its address, answers it (never the same question
    again), on every channel."""
    j = Journey(stack, channel)
    s = await j.customer("报修", "3号店咖啡机坏了，今天能来修吗 13812345678")
    assert s.text().endswith("请问3号店的详细地址是？（例如：上海市黄浦区南京东路100号）")
    s = await j.customer("门店", answer)
    seen = "\n".join(x.text for x in s.seen)
    assert "详细地址" not in seen and "哪家门店" not in seen
    assert "3号店" in seen  # the confirmation names the store
    await j.customer("确认", "确认")
    [t] = await stack.rows(Ticket)
    assert t.store == "3号店"
    assert t.address == (None if answer.startswith("就是") else answer)


@pytest.mark.parametrize("channel", list(CHANNELS))
async def test_another_stores_report_is_not_folded_into_this_stores_ticket(stack, channel):
    """The same person, the same kind of machine, another store: a new report, not 已在工单…中."""
    j = Journey(stack, channel)
    await j.customer("报修", "3号店咖啡机坏了，今天能来修吗 13812345678")
    await j.customer("地址", "上海市黄浦区南京东路100号")
    await j.customer("确认", "确认")
    s = await j.customer("另一家店", "5号店咖啡机也坏了")
    assert "不再重复建单" not in s.text()
    assert s.text().endswith("请问5号店的详细地址是？（例如：上海市黄浦区南京东路100号）")
