"""A digest reads only its period's rows, and says exactly what it said when it read them all.

Tickets and clocks are spread over three weeks before and into the period (opened, resolved,
closed and cancelled before, in and after it; clocks running, paused, met, breached and stopped
at every point); the digest of each kind of person — everyone, a region's supervisor, a store's
manager — over a day and over a week must match, number for number, the digest computed from
every ticket and every clock, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

import handlers.sla.digest as digest
from models.db import WriteGate, make_engine, make_sessionmaker, write_session
from models.sla import DONE, PAUSED, RUNNING, STOPPED, SlaClock
from models.tickets import Customer, Site, Staff, Ticket

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
STATUSES = ["new", "dispatched", "accepted", "in_progress", "pending_customer", "resolved",
            "closed", "cancelled", "reopened"]


@pytest.fixture
async def db(db_url):
    engine = make_engine(db_url)
    yield make_sessionmaker(engine), WriteGate.for_url(db_url)
    await engine.dispose()


def _at(rng: random.Random) -> datetime:
    return NOW - timedelta(hours=rng.randint(0, 21 * 24), minutes=rng.randint(0, 59))


async def _fill(sm, gate) -> None:
    rng = random.Random(7)
    async with write_session(sm, gate) as s:
        s.add(Customer(id=1, name="客户", created_at=NOW))
        s.add_all([Site(id=1, name="人民广场店", region_code="310101", created_at=NOW),
                   Site(id=2, name="西湖店", region_code="330106", created_at=NOW)])
        await s.flush()
        for i in range(300):
            created = _at(rng)
            status = rng.choice(STATUSES)
            later = [created + timedelta(hours=rng.randint(1, 200)) for _ in range(2)]
            t = Ticket(number=f"GD-{i:04d}", customer_id=1, description="d", status=status,
                       title="咖啡机", category="repair", created_at=created, updated_at=created,
                       site_id=rng.choice([None, 1, 2]),
                       district_code=rng.choice([None, "310101", "330106"]),
                       store=rng.choice([None, "人民广场店"]),
                       assignee=rng.choice([None, "lishifu", "zhoushifu"]),
                       resolved_at=min(later[0], NOW) if status in ("resolved", "closed")
                       else None,
                       closed_at=min(later[1], NOW) if status in ("closed", "cancelled")
                       else None)
            s.add(t)
            await s.flush()
            for metric in ("first_response", "resolution")[:rng.randint(0, 2)]:
                cstatus = rng.choice([RUNNING, PAUSED, DONE, STOPPED])
                breached = rng.random() < 0.4
                due = created + timedelta(hours=rng.randint(1, 72))
                s.add(SlaClock(ticket_id=t.id, metric=metric, status=cstatus, started_at=created,
                               created_at=created, updated_at=created,
                               yellow_at=due - timedelta(hours=1), due_at=due,
                               breached=breached, breached_at=due if breached else None,
                               met_at=min(due + timedelta(hours=rng.randint(-5, 5)), NOW)
                               if cstatus == DONE else None))
        s.add_all([Staff(userid="boss", name="经理", roles=["manager"]),
                   Staff(userid="sh", name="上海主管", roles=["supervisor"], regions=["310000"]),
                   Staff(userid="store", name="店长", roles=["store_manager"],
                         stores=["人民广场店"])])


async def _everything(session, start, end):
    """What the digest read before: every ticket created before the end, every clock."""
    tickets = list((await session.execute(select(Ticket).where(Ticket.created_at < end))).scalars())
    return tickets, list((await session.execute(select(SlaClock))).scalars())


async def test_a_digest_of_its_period_rows_says_what_one_of_every_row_said(db, monkeypatch):
    sm, gate = db
    await _fill(sm, gate)
    async with sm() as s:
        people = [None, *(await s.execute(select(Staff).order_by(Staff.id))).scalars()]
    periods = [(NOW - timedelta(days=1), NOW), (NOW - timedelta(days=7), NOW),
               (NOW - timedelta(days=10), NOW - timedelta(days=3))]
    compared = 0
    for start, end in periods:
        for person in people:
            async with sm() as s:
                mine = await digest.digest_stats(s, person, start=start, end=end, now=NOW,
                                                 period="p")
                read, _ = await digest.period_rows(s, start, end)
            with monkeypatch.context() as m:
                m.setattr(digest, "period_rows", _everything)
                async with sm() as s:
                    reference = await digest.digest_stats(s, person, start=start, end=end,
                                                          now=NOW, period="p")
                    every, _ = await _everything(s, start, end)
            assert mine == reference
            assert len(read) < len(every)  # it did leave rows unread
            compared += 1
    # the data made every number move somewhere
    assert compared == 12 and reference["open"] and reference["breached"]
