"""The technician pool read in a prepare step, before the event's transaction, and brought up
to date inside it (``Pool.live``) is the pool a read inside the transaction gives: the same
technicians with the same counters, ranked the same. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from handlers.dispatch.config import load_scoring_config
from handlers.dispatch.engine import GeoPoint, Job
from handlers.dispatch.pool import Pool
from models.db import WriteGate, make_engine, make_sessionmaker, write_session
from models.dispatch import ACCEPTED, ASSIGNED, DispatchJob, Offer
from models.ticketing import create_ticket
from models.tickets import Customer, Staff, TicketCreate

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
JOB = Job(id="J1", category="repair", skill="coffee", min_level=1, region="310101",
          location=GeoPoint(31.2317, 121.4726))


@pytest.fixture
async def db(db_url):
    engine = make_engine(db_url)
    yield make_sessionmaker(engine), WriteGate.for_url(db_url)
    await engine.dispose()


def technician(userid: str, name: str, lat: float) -> Staff:
    return Staff(userid=userid, name=name, roles=["technician"], skills={"coffee": 3},
                 regions=["310000"], home_lat=lat, home_lon=121.47, capacity=3, rating=4.5)


async def accepted(s, customer_id: int, tech: str, offered_at: datetime, seconds: int) -> None:
    """``tech`` took a job ``seconds`` after it was offered, and holds it still."""
    ticket = await create_ticket(s, TicketCreate(customer_id=customer_id, title="咖啡机坏了"),
                                 actor="test", now=offered_at)
    ticket.status, ticket.assignee = "accepted", tech
    job = DispatchJob(ticket_id=ticket.id, mode="direct", status=ASSIGNED, assigned_to=tech,
                      created_at=offered_at, updated_at=offered_at)
    s.add(job)
    await s.flush()
    s.add(Offer(job_id=job.id, ticket_id=ticket.id, technician=tech, mode="direct",
                status=ACCEPTED, offered_at=offered_at,
                answered_at=offered_at + timedelta(seconds=seconds)))


def counters(pool: Pool) -> dict[str, tuple[int, float | None, int]]:
    return {t.id: (t.load, t.response_median_s, t.jobs_today) for t in pool.technicians}


async def test_live_counters_bring_a_prepared_pool_to_what_a_read_now_sees(db):
    sm, gate = db
    async with write_session(sm, gate) as s:
        s.add_all([technician("li", "李师傅", 31.23), technician("zhou", "周师傅", 31.20),
                   technician("qian", "钱师傅", 31.25)])
        customer = Customer(name="人民广场店", created_at=NOW)
        s.add(customer)
        await s.flush()
        # 周师傅 answered within a minute three days and five hours ago: inside the window of
        # a pool read as of last night, outside the one of now.
        await accepted(s, customer.id, "zhou", NOW - timedelta(days=3, hours=5), 60)
    as_of = NOW - timedelta(hours=11)  # 23:00 yesterday in Shanghai
    async with sm() as s:  # the prepare step: no write transaction
        prepared = await Pool.read(s, as_of)
    assert counters(prepared) == {"li": (0, None, 0), "zhou": (1, 60.0, 0), "qian": (0, None, 0)}
    async with write_session(sm, gate) as s:
        # Meanwhile 李师傅 took a job this morning, in 90 seconds.
        await accepted(s, customer.id, "li", NOW - timedelta(hours=1), 90)

    async with write_session(sm, gate) as s:  # the handler's transaction
        live = await prepared.live(s, NOW)
        fresh = await Pool.read(s, NOW)
        assert await live.live(s, NOW) is live  # nothing moved since: the same pool
    assert counters(live) == counters(fresh) == {
        "li": (1, 90.0, 1), "zhou": (1, None, 0), "qian": (0, None, 0)}
    assert live.technicians == fresh.technicians and live.staff.keys() == fresh.staff.keys()
    scoring = load_scoring_config()
    assert (live.index.rank(JOB, scoring, NOW).to_dict()
            == fresh.index.rank(JOB, scoring, NOW).to_dict())
    assert (prepared.index.rank(JOB, scoring, NOW).to_dict()
            != fresh.index.rank(JOB, scoring, NOW).to_dict())  # the counters did matter
