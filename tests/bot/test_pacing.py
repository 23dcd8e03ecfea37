"""One round's pacing read covers recipients of every API at once, each against its own
windows (``bot.outbox.PACING``): 微信客服 and a group robot by the minute, the app by the
minute and the hour, a group chat by the minute and the day. On both databases, counted every
time (PostgreSQL, replicas) and kept in memory (SQLite's one sender)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.outbox import PACING
from bot.pacing import PaceWindows
from models.db import make_engine, make_sessionmaker
from models.tables import SENT, OutboxMessage

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


@pytest.fixture
async def sm(db_url):
    engine = make_engine(db_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def sent(sm, api: str, key: str, n: int, first: datetime, every: timedelta) -> None:
    async with sm() as s, s.begin():
        s.add_all(OutboxMessage(idempotency_key=f"{key}:{i}", api=api, pace_key=key,
                                payload={}, created_at=first + i * every, status=SENT,
                                next_attempt_at=first + i * every, sent_at=first + i * every)
                  for i in range(n))


@pytest.mark.parametrize("shared", [True, False], ids=["counted", "kept"])
async def test_a_round_paces_each_recipient_by_its_own_apis_windows(sm, shared, monkeypatch):
    assert PACING["kf/send_msg"] == ((60, 30),) and PACING["webhook"] == ((60, 20),)
    assert PACING["message/send"] == ((60, 30), (3600, 1000))
    assert PACING["appchat/send"] == ((60, 200), (86400, 10000))
    minute_ago = NOW - timedelta(seconds=59)
    await sent(sm, "kf/send_msg", "kf:full", 30, minute_ago, timedelta(seconds=1))
    await sent(sm, "webhook", "robot:full", 20, minute_ago, timedelta(seconds=1))
    await sent(sm, "webhook", "robot:room", 19, minute_ago, timedelta(seconds=1))
    # 25 to this member in the last minute: room under the app's 30; 30 to another, but more
    # than a minute ago: the minute has room again.
    await sent(sm, "message/send", "app:room", 25, minute_ago, timedelta(seconds=1))
    await sent(sm, "message/send", "app:earlier", 30, NOW - timedelta(minutes=5),
               timedelta(seconds=1))
    # 1,000 to this member within the hour, none in the last minute: the hour is full.
    hour_ago = NOW - timedelta(minutes=59)
    await sent(sm, "message/send", "app:hour", 1000, hour_ago, timedelta(seconds=3))
    # A group chat: 200 a minute.
    await sent(sm, "appchat/send", "chat:full", 200, minute_ago, timedelta(milliseconds=250))
    # A group chat's day, at a 2,000th of WeCom's 10,000 (the same code, five rows): five sends
    # 2-10 hours ago fill it.
    monkeypatch.setitem(PACING, "appchat/send", ((60, 200), (86400, 5)))
    day_first = NOW - timedelta(hours=10)
    await sent(sm, "appchat/send", "chat:day", 5, day_first, timedelta(hours=2))
    pace = PaceWindows(sm, shared=shared)
    waits = await pace.until([("kf/send_msg", "kf:full"), ("webhook", "robot:full"),
                              ("webhook", "robot:room"), ("message/send", "app:room"),
                              ("message/send", "app:earlier"), ("message/send", "app:new"),
                              ("message/send", "app:hour"), ("appchat/send", "chat:full"),
                              ("appchat/send", "chat:day"),
                              ("message/update_template_card", "card:x")], NOW)
    # Full until the oldest send of the window leaves it.
    assert waits == {"kf:full": minute_ago + timedelta(seconds=60),
                     "robot:full": minute_ago + timedelta(seconds=60),
                     "app:hour": hour_ago + timedelta(seconds=3600),
                     "chat:full": minute_ago + timedelta(seconds=60),
                     "chat:day": day_first + timedelta(days=1)}
    # The kept windows take this sender's own sends from then on.
    pace.sent("robot:room", NOW)
    waits = await pace.until([("webhook", "robot:room")], NOW)
    assert waits == ({} if shared else {"robot:room": minute_ago + timedelta(seconds=60)})
