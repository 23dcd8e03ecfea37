"""Through the sandbox with the bot's background loops running, as a person would use it:
an encrypted callback goes in, WeCom API calls and database rows come out."""

from __future__ import annotations

import pytest

from tests.conftest import start_stack


@pytest.fixture
async def live(db_url):
    st = await start_stack(db_url, loops=True)
    yield st
    await st.bot.stop()
    await st.sandbox.stop()


async def test_member_writes_in_the_app_and_the_bot_answers(live):
    rec = await live.sandbox.member_says("zhangsan", "3号店咖啡机坏了，今天能来修吗")
    assert rec == {"channel": "app", "attempts": [200], "acked": True, "reply": ""}
    [line] = await live.sandbox.wait_for_lines("app:zhangsan", 1)
    assert "3号店咖啡机坏了" in line.content
    [call] = [c for c in live.sandbox.calls("message/send")]
    assert call["body"]["touser"] == "zhangsan" and call["body"]["agentid"] == 218


async def test_store_employee_at_mentions_the_bot_in_a_group(live):
    await live.sandbox.aibot_says("zhangsan", "POS机死机了", chat_id="wrSTORE3group")
    [line] = await live.sandbox.wait_for_lines("aibot:g:wrSTORE3group", 1)
    assert "POS机死机了" in line.content and "@" not in line.content
    assert len(live.sandbox.calls("response_url")) == 1


async def test_customer_via_weixin_kf_is_pulled_and_answered(live):
    await live.sandbox.customer_kf("wmCHENnvshi0001", "空调不制冷")
    await live.sandbox.customer_kf("wmCHENnvshi0001", "还漏水")
    lines = await live.sandbox.wait_for_lines("kf:wmCHENnvshi0001", 2)
    assert "空调不制冷" in lines[0].content and "还漏水" in lines[1].content
    assert [c["body"]["touser"] for c in live.sandbox.calls("kf/send_msg")] == \
        ["wmCHENnvshi0001"] * 2
    # The cursor moved on: the second pull did not fetch the first message again.
    kf_rows = [r for r in await live.inbox() if r.channel == "kf"]
    assert len(kf_rows) == 2


async def test_a_customer_on_the_ai_bot_one_to_one(live):
    await live.sandbox.aibot_says("liuxiansheng", "冰箱不制冷")
    [line] = await live.sandbox.wait_for_lines("aibot:u:liuxiansheng", 1)
    assert "冰箱不制冷" in line.content


async def test_entering_the_app_gets_a_greeting(live):
    await live.sandbox.member_event("lishifu", "enter_agent")
    [line] = await live.sandbox.wait_for_lines("app:lishifu", 1)
    assert "工单助手" in line.content


async def test_wecom_outage_while_replying_is_retried_until_delivered(live):
    live.sandbox.fail("message/send", http_status=503, times=4)
    await live.sandbox.member_says("zhangsan", "热水器不出热水")
    await live.sandbox.wait_for_calls("message/send", 4)  # the client's own bounded retries
    [row] = [r for r in await live.inbox()]
    # The message was acked and handled although WeCom refused the reply four times;
    # the outbox holds it and tries again after its backoff.
    await live.sandbox.wait_until(lambda: live.bot.metrics.outbox_retries.labels(
        "message/send", "None")._value.get() == 1, what="the retry to be scheduled")
    live.clock.advance(seconds=3)
    live.bot.sender.wake()
    [line] = await live.sandbox.wait_for_lines("app:zhangsan", 1)
    assert "热水器不出热水" in line.content
    assert row.dedupe_key.startswith("app:msg:")
