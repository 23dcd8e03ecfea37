"""The administrative-division hierarchy seeded by the migrations."""

from __future__ import annotations

from sqlalchemy import func, select

from models.db import make_engine, make_sessionmaker
from models.regions import Region, ancestry


async def test_hierarchy_is_complete_and_walkable(db_url):
    engine = make_engine(db_url)
    async with make_sessionmaker(engine)() as s:
        levels = dict((await s.execute(
            select(Region.level, func.count()).group_by(Region.level))).all())
        assert levels["province"] == 34 and levels["city"] >= 330 and levels["district"] >= 2800
        chain = await ancestry(s, "330106")
        assert [(r.name, r.level) for r in chain] == [
            ("浙江省", "province"), ("杭州市", "city"), ("西湖区", "district")]
        # A municipality's districts hang directly under it.
        assert [r.name for r in await ancestry(s, "310115")] == ["上海市", "浦东新区"]
        assert await ancestry(s, "999999") == []
    await engine.dispose()
