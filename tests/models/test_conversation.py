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


async def test_one_read_per_person_and_conversation_in_a_transaction(db_url):
    """Arbitration, then the router that takes the reply, ask what awaits the same person:
    one SELECT answers all of them; the next transaction reads again and sees what another
    session wrote meanwhile."""
    from sqlalchemy import event as sa_event

    engine = make_engine(db_url)
    sm = make_sessionmaker(engine)
    reads: list[str] = []
    sa_event.listen(engine.sync_engine, "before_cursor_execute",
                    lambda c, cur, statement, *a: reads.append(statement)
                    if statement.startswith("SELECT awaiting") else None)
    try:
        async with sm() as s, s.begin():
            await expect(s, person="zhangsan", owner="intake", kind="draft", ref=7, now=NOW,
                         conversation_key="app:zhangsan")
            await expect(s, person="zhangsan", owner="workflow", kind="approval_reason", ref=2,
                         now=NOW)
        reads.clear()
        async with sm() as s, s.begin():
            everything = await expected(s, "zhangsan", NOW, "app:zhangsan")
            drafts = await expected(s, "zhangsan", NOW, "app:zhangsan", owner="intake",
                                    kind="draft")
            anywhere = await expected(s, "zhangsan", NOW, owner="workflow")
            async with sm() as other, other.begin():
                await settle(other, owner="workflow", kind="approval_reason", ref=2)
            assert len(reads) == 1
            assert [w.kind for w in everything] == ["approval_reason", "draft"]
            assert [w.ref for w in drafts] == [7] and [w.ref for w in anywhere] == [2]
        async with sm() as s, s.begin():
            assert [w.kind for w in await expected(s, "zhangsan", NOW, "app:zhangsan")] == [
                "draft"]
        assert len(reads) == 2
    finally:
        await engine.dispose()


async def test_a_row_deleted_through_the_session_is_not_answered_from_the_memo(db_url):
    engine = make_engine(db_url)
    sm = make_sessionmaker(engine)
    try:
        async with sm() as s, s.begin():
            await expect(s, person="zhangsan", owner="settlement", kind="part_prices", ref=4,
                         now=NOW)
        async with sm() as s, s.begin():
            [w] = await expected(s, "zhangsan", NOW)
            await s.delete(w)
            await s.flush()
            assert await expected(s, "zhangsan", NOW) == []
    finally:
        await engine.dispose()
