"""The lifecycle table, and transition(): audit, no partial writes, optimistic concurrency."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from handlers.lifecycle import (STATUSES, IllegalTransition, TicketConflict, allowed, change,
                                transition)
from models.db import WriteGate, make_engine, make_sessionmaker, write_session
from models.ticketing import create_ticket, customer_for
from models.tickets import Ticket, TicketCreate, TicketEvent

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)

HAPPY = ["new", "dispatched", "accepted", "in_progress", "resolved", "closed"]


def test_the_happy_path_is_legal_step_by_step_and_not_by_skipping():
    for a, b in zip(HAPPY, HAPPY[1:]):
        assert allowed(a, b)
    assert allowed("new", "in_progress")  # a ticket nobody dispatches, its first task started
    assert not allowed("new", "resolved")
    assert not allowed("accepted", "closed")
    assert not allowed("new", "accepted")  # a technician takes a job that was offered


def test_a_technician_can_hand_an_accepted_job_back_before_starting():
    assert allowed("accepted", "dispatched")
    assert not allowed("in_progress", "dispatched")


@pytest.mark.parametrize("frm", STATUSES)
def test_cancel_only_before_work_starts(frm):
    assert allowed(frm, "cancelled") == (frm in {"new", "accepted", "dispatched",
                                                 "pending_customer"})


def test_pending_customer_returns_to_where_it_came_from():
    for frm in ("accepted", "dispatched", "in_progress"):
        assert allowed(frm, "pending_customer")
        assert allowed("pending_customer", frm, came_from=frm)
        others = {"accepted", "dispatched", "in_progress"} - {frm}
        assert not any(allowed("pending_customer", o, came_from=frm) for o in others)
    assert not allowed("new", "pending_customer")
    assert not allowed("resolved", "pending_customer")


def test_reopen_from_resolved_or_closed_then_back_to_a_technician_or_dispatch():
    assert allowed("resolved", "reopened") and allowed("closed", "reopened")
    assert allowed("reopened", "accepted") and allowed("reopened", "dispatched")
    assert not allowed("reopened", "in_progress")
    assert not any(allowed("cancelled", s) for s in STATUSES)


@pytest.fixture
async def db(db_url):
    engine = make_engine(db_url)
    sm, gate = make_sessionmaker(engine), WriteGate.for_url(db_url)
    async with write_session(sm, gate) as s:
        c = await customer_for(s, "wecom_userid", "zhangsan", NOW)
        t = await create_ticket(s, TicketCreate(customer_id=c.id, title="空调不制冷"),
                                actor="test", now=NOW)
    yield sm, gate, t.id
    await engine.dispose()


async def _walk(sm, gate, ticket_id, *steps):
    async with write_session(sm, gate) as s:
        t = await s.get(Ticket, ticket_id)
        for to in steps:
            await transition(s, t, to, actor="ops:wang", reason="test", now=NOW)
        return t.status


async def test_transitions_are_audited_with_before_and_after(db):
    sm, gate, tid = db
    assert await _walk(sm, gate, tid, "dispatched", "accepted", "pending_customer") == \
        "pending_customer"
    assert await _walk(sm, gate, tid, "accepted", "in_progress", "resolved") == "resolved"
    async with sm() as s:
        t = await s.get(Ticket, tid)
        events = (await s.execute(select(TicketEvent).where(TicketEvent.ticket_id == tid)
                                  .order_by(TicketEvent.id))).scalars().all()
    assert [e.action for e in events] == ["create", "status:dispatched", "status:accepted",
                                          "status:pending_customer", "status:accepted",
                                          "status:in_progress", "status:resolved"]
    assert [(e.before["status"], e.after["status"]) for e in events[1:3]] == [
        ("new", "dispatched"), ("dispatched", "accepted")]
    assert all(e.actor == "ops:wang" for e in events[1:])
    assert t.resolved_at is not None and t.accepted_at is not None and t.version == 7


async def test_an_illegal_transition_explains_itself_and_writes_nothing(db):
    sm, gate, tid = db
    await _walk(sm, gate, tid, "dispatched", "accepted", "in_progress")
    with pytest.raises(IllegalTransition) as info:
        await _walk(sm, gate, tid, "cancelled")
    err = info.value
    assert "in_progress -> cancelled" in str(err) and err.number.startswith("GD")
    assert "处理中" in err.chat and "不能取消" in err.chat
    async with sm() as s:
        t = await s.get(Ticket, tid)
        n = len((await s.execute(select(TicketEvent).where(TicketEvent.ticket_id == tid)))
                .scalars().all())
    assert t.status == "in_progress" and n == 4


async def test_a_stale_copy_loses_with_a_conflict_and_no_partial_write(db):
    sm, gate, tid = db
    async with sm() as s1, sm() as s2:
        b = await s2.get(Ticket, tid)
        await s2.commit()  # b stays loaded (version 1); SQLite would refuse a stale snapshot
        a = await s1.get(Ticket, tid)
        assert a.version == b.version == 1
        await transition(s1, a, "dispatched", actor="ops:wang", now=NOW)
        await s1.commit()
        with pytest.raises(TicketConflict) as info:
            await change(s2, b, actor="customer", action="urge", now=NOW, priority="high")
        await s2.rollback()
    assert "stale version" in str(info.value) and "稍后再试" in info.value.chat
    async with sm() as s:
        t = await s.get(Ticket, tid)
        actions = (await s.execute(select(TicketEvent.action).where(
            TicketEvent.ticket_id == tid).order_by(TicketEvent.id))).scalars().all()
    assert (t.status, t.priority, t.version) == ("dispatched", "normal", 2)
    assert actions == ["create", "status:dispatched"]
