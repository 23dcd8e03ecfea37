"""The pool a process keeps between placements (pool_cache.py) is the pool a full read gives —
after changes made by another session or another process, and as time moves on — while
reading only the technicians that changed. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from datetime import UTC, datetime, timedelta

import pytest

from handlers.dispatch.config import load_scoring_config
from handlers.dispatch.engine import GeoPoint, Job
from handlers.dispatch.pool import Pool
from handlers.dispatch.pool_cache import PoolCache
from models.db import WriteGate, make_engine, make_sessionmaker, write_session
from models.tickets import Customer, Staff
from tests.conftest import ROOT
from tests.handlers.dispatch.test_pool import accepted, technician

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
JOB = Job(id="J1", category="repair", skill="coffee", min_level=1, region="310101",
          location=GeoPoint(31.2317, 121.4726))


@pytest.fixture
async def db(db_url):
    engine = make_engine(db_url)
    yield engine, make_sessionmaker(engine), WriteGate.for_url(db_url)
    await engine.dispose()


async def full_read(sm, now: datetime) -> Pool:
    async with sm() as s:
        return await Pool.read(s, now)


async def assert_same(cache: PoolCache, sm, now: datetime) -> Pool:
    kept, fresh = await cache.current(now), await full_read(sm, now)
    assert kept.technicians == fresh.technicians
    assert kept.staff.keys() == fresh.staff.keys()
    scoring = load_scoring_config()
    assert (kept.index.rank(JOB, scoring, now).to_dict()
            == fresh.index.rank(JOB, scoring, now).to_dict())
    return kept


async def seed(sm, gate) -> int:
    async with write_session(sm, gate) as s:
        s.add_all([technician("li", "李师傅", 31.23), technician("zhou", "周师傅", 31.20),
                   technician("qian", "钱师傅", 31.25)])
        customer = Customer(name="人民广场店", created_at=NOW)
        s.add(customer)
        await s.flush()
        return customer.id


async def test_kept_pool_follows_every_kind_of_change_and_reads_only_who_changed(db):
    engine, sm, gate = db
    customer = await seed(sm, gate)
    cache = PoolCache(engine)
    first = await assert_same(cache, sm, NOW)
    assert first.index.rank(JOB, load_scoring_config(), NOW).chosen.tech_id == "li"
    assert cache.full_reads == 1 and cache.refreshed == 0

    # Nothing changed: nothing is read again.
    await assert_same(cache, sm, NOW)
    assert cache.full_reads == 1 and cache.refreshed == 0

    # 李师傅 takes three jobs (at capacity), 周师傅 moves, 钱师傅 goes on leave, a newcomer joins.
    async with write_session(sm, gate) as s:
        for _ in range(3):
            await accepted(s, customer, "li", NOW - timedelta(hours=1), 90)
    async with write_session(sm, gate) as s:
        zhou = (await s.execute(Staff.__table__.select().where(Staff.userid == "zhou"))).one()
        row = await s.get(Staff, zhou.id)
        row.last_lat, row.last_lon, row.last_seen_at = 31.2318, 121.4727, NOW
        qian = await s.get(Staff, zhou.id + 1)
        qian.leave = [{"from": "2026-11-24", "to": "2026-11-26"}]
        s.add(technician("sun", "孙师傅", 31.24))
    kept = await assert_same(cache, sm, NOW)
    assert cache.full_reads == 1 and cache.refreshed == 4  # li, zhou, qian, sun — not everyone
    decision = kept.index.rank(JOB, load_scoring_config(), NOW)
    assert decision.chosen.tech_id == "zhou"
    assert decision.rejected_counts["capacity"] == 1 and decision.rejected_counts["leave"] == 1

    # A technician leaves the team (deactivated): out of the pool.
    async with write_session(sm, gate) as s:
        sun = (await s.execute(Staff.__table__.select().where(Staff.userid == "sun"))).one()
        (await s.get(Staff, sun.id)).active = False
    kept = await assert_same(cache, sm, NOW)
    assert "sun" not in kept.staff and len(kept.technicians) == 3

    # Time alone: at midnight jobs today restart; after three days the accepts leave the
    # response window (the load stays: the jobs are still open).
    for later in (NOW + timedelta(hours=15), NOW + timedelta(days=3, hours=1)):
        kept = await assert_same(cache, sm, later)
    li = next(t for t in kept.technicians if t.id == "li")
    assert (li.load, li.jobs_today, li.response_median_s) == (3, 0, None)
    assert cache.full_reads == 1

    # The clock set back before what is held (a test, a restore): read whole again, still right.
    await assert_same(cache, sm, NOW - timedelta(days=5))
    assert cache.full_reads == 2


ACCEPT_ELSEWHERE = textwrap.dedent("""
    import asyncio, sys
    from datetime import datetime, timedelta
    sys.path.insert(0, sys.argv[3])
    from models.db import WriteGate, make_engine, make_sessionmaker, write_session
    from tests.handlers.dispatch.test_pool import accepted

    async def main(url, customer):
        engine = make_engine(url)
        sm = make_sessionmaker(engine)
        now = datetime.fromisoformat(sys.argv[4])
        async with write_session(sm, WriteGate.for_url(url)) as s:
            for _ in range(3):
                await accepted(s, customer, "li", now - timedelta(hours=1), 90)
        await engine.dispose()

    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
""")


async def test_an_accept_in_another_process_changes_what_this_one_ranks(db, db_url):
    """Two replicas: the second's accepts fill 李师傅's capacity; the first, which read its pool
    before, ranks on the new load at its next placement — it does not offer him a fourth job."""
    engine, sm, gate = db
    customer = await seed(sm, gate)
    cache = PoolCache(engine)
    scoring = load_scoring_config()
    assert (await cache.current(NOW)).index.rank(JOB, scoring, NOW).chosen.tech_id == "li"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", ACCEPT_ELSEWHERE, db_url, str(customer), str(ROOT),
        NOW.isoformat(), cwd=ROOT)
    assert await proc.wait() == 0
    decision = (await cache.current(NOW)).index.rank(JOB, scoring, NOW)
    assert decision.chosen.tech_id != "li" and decision.rejected_counts["capacity"] == 1
    assert cache.full_reads == 1 and cache.refreshed == 1


async def test_a_large_pool_is_frozen_out_of_the_collector_once_read(db, monkeypatch):
    """After the full read of a large pool (here: any) the process's objects leave the cyclic
    collector's passes (its pauses were the placements' p99); a refresh does not freeze again."""
    from handlers.dispatch import pool_cache

    engine, sm, gate = db
    customer = await seed(sm, gate)
    frozen: list[int] = []
    monkeypatch.setattr(pool_cache, "FREEZE_FROM", 3)
    monkeypatch.setattr(pool_cache, "_freeze", lambda: frozen.append(1))
    cache = PoolCache(engine)
    await cache.current(NOW)
    assert frozen == [1]
    async with write_session(sm, gate) as s:
        await accepted(s, customer, "li", NOW - timedelta(hours=1), 90)
    await assert_same(cache, sm, NOW)
    assert frozen == [1] and cache.full_reads == 1 and cache.refreshed == 1


async def test_a_closed_database_is_not_kept_alive_by_its_pool(db_url):
    """The process's caches are keyed weakly on the engine; the cache must not hold its engine
    strongly, or every engine a process opened (with its compiled statements and its pool)
    would live for good."""
    import gc
    import weakref

    from handlers.dispatch.pool_cache import cache_for

    engine = make_engine(db_url)
    sm = make_sessionmaker(engine)
    await seed(sm, WriteGate.for_url(db_url))
    cache = cache_for(engine)
    assert cache_for(engine) is cache  # one per engine
    assert (await cache.current(NOW)).index.rank(JOB, load_scoring_config(), NOW
                                                 ).chosen.tech_id == "li"
    await engine.dispose()
    gone = weakref.ref(engine.sync_engine)
    del engine, sm, cache
    gc.collect()
    # Freed, and with it its entry in the registry (keyed weakly on it). Other tests' entries
    # may go in the same collection, so the registry's size says nothing here.
    assert gone() is None
