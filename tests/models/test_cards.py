"""Card response codes: each updates its card once, within 72 hours [doc 94888]."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from models.cards import card_code_add, card_code_claim
from models.db import WriteGate, make_engine, make_sessionmaker, write_session

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


async def test_the_newest_code_is_claimed_once_and_old_ones_expire(db_url):
    engine = make_engine(db_url)
    sm, gate = make_sessionmaker(engine), WriteGate.for_url(db_url)
    try:
        async with write_session(sm, gate) as s:
            await card_code_add(s, "offer-1", "lishifu", "code-send", "send", NOW)
            await card_code_add(s, "offer-1", "lishifu", "code-click", "click",
                                NOW + timedelta(minutes=1))
            await card_code_add(s, "offer-1", "lishifu", "code-click", "click", NOW)  # again
            await card_code_add(s, "offer-1", "zhoushifu", "code-other", "send", NOW)
        async with write_session(sm, gate) as s:
            assert await card_code_claim(s, "offer-1", "lishifu", NOW) == "code-click"
            assert await card_code_claim(s, "offer-1", "lishifu", NOW) == "code-send"
            assert await card_code_claim(s, "offer-1", "lishifu", NOW) is None  # all spent
            assert await card_code_claim(s, "offer-2", "lishifu", NOW) is None
        async with write_session(sm, gate) as s:  # 72 hours later the last one is dead too
            assert await card_code_claim(s, "offer-1", "zhoushifu",
                                         NOW + timedelta(hours=72, seconds=1)) is None
            assert await card_code_claim(s, "offer-1", "zhoushifu",
                                         NOW + timedelta(hours=71)) == "code-other"
    finally:
        await engine.dispose()


async def test_two_transactions_never_spend_the_same_code(db_url):
    engine = make_engine(db_url)
    sm, gate = make_sessionmaker(engine), WriteGate.for_url(db_url)
    try:
        async with write_session(sm, gate) as s:
            for i in range(3):
                await card_code_add(s, "grab-1", "lishifu", f"c{i}", "click", NOW)

        async def claim():
            async with write_session(sm, gate) as s:
                return await card_code_claim(s, "grab-1", "lishifu", NOW)

        got = await asyncio.gather(*(claim() for _ in range(5)))
        assert sorted(g for g in got if g) == ["c0", "c1", "c2"]
        assert got.count(None) == 2
    finally:
        await engine.dispose()
