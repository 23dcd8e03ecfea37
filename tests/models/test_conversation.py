"""What awaits a person's answer: recorded, renewed, settled, and gone when it expires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models.conversation import expect, expected, settle
from models.db import make_engine, make_sessionmaker

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


async def test_expect_renew_settle_and_expiry(db_url):
    engine = make_engine(db_url)
    sm = make_sessionmaker(engine)
    try:
        async with sm() as s, s.begin():
            await expect(s, person="zhangsan", owner="intake", kind="draft", ref=7, now=NOW,
                         conversation_key="app:zhangsan", expires_at=NOW + timedelta(minutes=10))
            await expect(s, person="zhangsan", owner="settlement", kind="statement", ref=3,
                         now=NOW)
        async with sm() as s, s.begin():
            here = await expected(s, "zhangsan", NOW, "app:zhangsan")
            elsewhere = await expected(s, "zhangsan", NOW, "aibot:u:zhangsan")
            assert [(w.kind, w.ref) for w in here] == [("statement", 3), ("draft", 7)]
            assert [w.kind for w in elsewhere] == ["statement"]  # a draft is per conversation
            later = NOW + timedelta(minutes=11)
            assert [w.kind for w in await expected(s, "zhangsan", later, "app:zhangsan")] == [
                "statement"]  # the draft's wait ran out
            # renewing moves the deadline instead of adding a second entry
            await expect(s, person="zhangsan", owner="intake", kind="draft", ref=7, now=later,
                         conversation_key="app:zhangsan", expires_at=later + timedelta(minutes=10))
            assert len(await expected(s, "zhangsan", later, "app:zhangsan")) == 2
            await settle(s, owner="settlement", kind="statement", ref=3)
            assert [w.kind for w in await expected(s, "zhangsan", later, "app:zhangsan")] == [
                "draft"]
            assert await expected(s, "lisi", NOW, "app:lisi") == []
    finally:
        await engine.dispose()
