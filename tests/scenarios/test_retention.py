"""Retention through the running bot (handlers/upkeep): a week after a ticket was reported in a
group, people wrote 1:1 (the app and the AI bot) and over 微信客服, the handled internal events,
sent replies and fired timers are deleted by the bot's own timer; what people wrote stays, and
people go on being answered."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from handlers.upkeep.router import TIMER, ensure_retention_timer
from models.customers import messages_from
from models.tables import InboxEvent, OutboxMessage
from models.timer import Timer

GROUP = "wrSTORE3group"


async def count(st, model, *where) -> int:
    async with st.bot.sm() as s:
        return (await s.execute(select(func.count()).select_from(model).where(*where))).scalar()


async def test_a_week_on_the_bot_deletes_what_nothing_reads_and_keeps_answering(st):
    await st.sandbox.aibot_says("zhangsan", "人民广场店咖啡机坏了，今天下午能来修吗 13812345678",
                                chat_id=GROUP)
    await st.sandbox.member_says("lisi", "你好")
    await st.sandbox.customer_kf("wmCHENnvshi0001", "空调不制冷")
    await st.sandbox.aibot_says("liuxiansheng", "你好")  # the AI bot, 1:1
    await st.settle()
    await st.sandbox.aibot_says("zhangsan", "确认", chat_id=GROUP)
    await st.settle()
    assert "工单" in st.said(f"aibot:g:{GROUP}")[-1]
    then = st.clock.now()
    messages = await count(st, InboxEvent, InboxEvent.kind == "message")
    old_events = (InboxEvent.kind == "event", InboxEvent.received_at <= then)
    old_sent = (OutboxMessage.status == "sent", OutboxMessage.sent_at <= then)
    events, sent = await count(st, InboxEvent, *old_events), await count(st, OutboxMessage,
                                                                       *old_sent)
    assert events >= 2 and sent >= 4  # ticket_created …; the replies in three chats
    async with st.bot.sm() as s:
        wrote = await messages_from(s, ["zhangsan"])
    assert wrote == 2

    await ensure_retention_timer(st.bot.sm, st.clock, 7)
    st.clock.advance(days=6, hours=23)  # not yet a week: nothing goes (offers time out …)
    await st.settle()
    assert await count(st, InboxEvent, *old_events) == events
    assert await count(st, OutboxMessage, *old_sent) == sent

    st.clock.advance(hours=2)  # past the week: the next round deletes them
    await st.settle()
    assert await count(st, InboxEvent, *old_events) == 0
    assert await count(st, OutboxMessage, *old_sent) == 0
    assert await count(st, InboxEvent, InboxEvent.kind == "message") == messages
    async with st.bot.sm() as s:
        assert await messages_from(s, ["zhangsan"]) == wrote  # "N条消息" unchanged
        retention = (await s.execute(select(Timer).where(Timer.key == TIMER))).scalar_one()
    week = st.clock.now() - timedelta(days=7)
    assert await count(st, Timer, Timer.status == "fired", Timer.updated_at < week) == 0
    assert retention.status == "armed"
    assert retention.due_at == st.clock.now() + timedelta(hours=1)  # nothing left: in an hour

    # people are still answered, on every channel, with new rows; the open ticket is still
    # known (tickets are not queue rows)
    number = re.search(r"GD\d{8}-\d{4}", st.said(f"aibot:g:{GROUP}")[-1]).group()
    await st.sandbox.aibot_says("zhangsan", "人民广场店咖啡机又坏了 13812345678", chat_id=GROUP)
    await st.sandbox.member_says("lisi", "你好")
    await st.sandbox.customer_kf("wmCHENnvshi0001", "你好")
    await st.sandbox.aibot_says("liuxiansheng", "你好")
    await st.settle()
    assert number in st.said(f"aibot:g:{GROUP}")[-1]
    assert len(st.said("app:lisi")) == 2
    assert len(st.said("kf:wmCHENnvshi0001")) >= 2
    assert len(st.said("aibot:u:liuxiansheng")) == 2


async def test_a_backlog_comes_back_every_second_until_it_is_gone(st, monkeypatch):
    import handlers.upkeep.router as upkeep

    for i in range(3):
        await st.sandbox.member_says("lisi", f"你好{i}")
    await st.settle()
    sent = await count(st, OutboxMessage, OutboxMessage.status == "sent")
    assert sent >= 3
    monkeypatch.setattr(upkeep, "BATCH", 1)
    await ensure_retention_timer(st.bot.sm, st.clock, 7)
    st.clock.advance(days=8)
    await st.bot.timers.tick()
    await st.bot.worker.drain()  # one round: one row per table
    [retention] = await st.rows(Timer, Timer.key == TIMER)
    assert retention.due_at == st.clock.now() + timedelta(seconds=1)
    assert await count(st, OutboxMessage, OutboxMessage.status == "sent") == sent - 1
    for _ in range(sent + 2):  # a round a second until nothing old is left
        st.clock.advance(seconds=1)
        await st.bot.timers.tick()
        await st.bot.worker.drain()
    assert await count(st, OutboxMessage, OutboxMessage.status == "sent") == 1  # the newest
    [retention] = await st.rows(Timer, Timer.key == TIMER)
    assert retention.due_at - st.clock.now() > timedelta(minutes=55)  # done: back in an hour


async def test_zero_days_keeps_everything_even_a_round_already_queued(st, monkeypatch):
    from bot.settings import Settings

    await st.sandbox.member_says("lisi", "你好")
    await st.settle()
    sent = await count(st, OutboxMessage, OutboxMessage.status == "sent")
    events = await count(st, InboxEvent)
    await ensure_retention_timer(st.bot.sm, st.clock, 7)
    [armed] = await st.rows(Timer, Timer.key == TIMER)
    st.clock.advance(seconds=30)
    await ensure_retention_timer(st.bot.sm, st.clock, 7)  # a second replica, or a restart
    [again] = await st.rows(Timer, Timer.key == TIMER)
    assert (again.due_at, again.generation) == (armed.due_at, armed.generation)

    st.clock.advance(days=30)
    await st.bot.timers.tick()  # the round is queued (fired into the inbox) …
    # … when the bot restarts with RETENTION_DAYS=0: the queued round keeps everything too
    monkeypatch.setattr(st.bot.services[Settings], "RETENTION_DAYS", 0)
    await ensure_retention_timer(st.bot.sm, st.clock, 0)
    await st.settle()
    assert await count(st, OutboxMessage, OutboxMessage.status == "sent") == sent
    assert await count(st, InboxEvent) == events + 1  # and the round's own firing
    [off] = await st.rows(Timer, Timer.key == TIMER)
    assert off.status == "fired"  # not re-armed
    st.clock.advance(days=30)
    await st.settle()
    assert await count(st, OutboxMessage, OutboxMessage.status == "sent") == sent

    monkeypatch.setattr(st.bot.services[Settings], "RETENTION_DAYS", 7)
    await ensure_retention_timer(st.bot.sm, st.clock, 7)  # a start with days again: armed
    [on] = await st.rows(Timer, Timer.key == TIMER)
    assert on.status == "armed" and on.due_at == st.clock.now() + timedelta(minutes=1)


def test_retention_days_of_1_or_2_are_refused_at_start_with_the_reason():
    from bot.settings import SettingsError, load_settings
    from tests.conftest import make_settings

    assert make_settings("sqlite://", RETENTION_DAYS=0).RETENTION_DAYS == 0
    assert make_settings("sqlite://", RETENTION_DAYS=3).RETENTION_DAYS == 3
    assert make_settings("sqlite://").RETENTION_DAYS == 7
    with pytest.raises(SettingsError, match="RETENTION_DAYS.*at least 3 days"):
        load_settings(_env_file=None, RETENTION_DAYS=2)
