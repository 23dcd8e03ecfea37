"""Upserts compiled once and cached, and several new rows in one INSERT (models/upsert.py,
``models.db.add_many``), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select

from models.db import add_many, dialect_insert, write_session
from models.ticketing import create_ticket, customer_for
from models.tickets import TicketCounter, TicketCreate
from models.workflow import WorkflowNode

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def _watch(sm):
    """Each statement's SQL and whether it came from SQLAlchemy's compiled cache."""
    seen: list[tuple[str, str]] = []

    def after(conn, cursor, statement, params, context, executemany):
        seen.append((statement.split()[0], str(getattr(context, "cache_hit", ""))))
    engine = sm.kw["bind"].sync_engine
    event.listen(engine, "after_cursor_execute", after)
    return seen, lambda: event.remove(engine, "after_cursor_execute", after)


async def test_the_same_upsert_is_compiled_once_and_takes_each_call_s_values(db):
    sm, gate = db
    counter = TicketCounter.__table__

    def upsert(s, day, last_on_conflict):
        return dialect_insert(s, counter).values(day=day, last=1).on_conflict_do_update(
            index_elements=["day"], set_={"last": last_on_conflict})

    seen, stop = _watch(sm)
    try:
        async with write_session(sm, gate) as s:
            for day in ("20261125", "20261126", "20261125"):
                await s.execute(upsert(s, day, 100))
            # another value for DO UPDATE to set: the same statement, with its new value
            await s.execute(upsert(s, "20261126", 200))
            # another conflict target renders other SQL: a statement of its own
            await s.execute(dialect_insert(s, counter).values(day="20261127", last=7)
                            .on_conflict_do_nothing(index_elements=["day"]))
    finally:
        stop()
    inserts = [hit for verb, hit in seen if verb == "INSERT"]
    assert inserts[1:4] == ["CacheStats.CACHE_HIT"] * 3, inserts  # not compiled again
    assert inserts[4] != "CacheStats.CACHE_HIT"
    async with sm() as s:
        rows = dict((await s.execute(select(TicketCounter.day, TicketCounter.last))).all())
    assert rows == {"20261125": 100, "20261126": 200, "20261127": 7}


async def test_new_rows_of_one_table_go_in_one_insert_and_come_back_in_the_session(db):
    sm, gate = db
    async with write_session(sm, gate) as s:
        c = await customer_for(s, "wecom_userid", "zhangsan", NOW)
        t = await create_ticket(s, TicketCreate(customer_id=c.id, title="咖啡机坏了"),
                                actor="test", now=NOW)
        seen, stop = _watch(sm)
        try:
            nodes = await add_many(s, WorkflowNode, [
                dict(ticket_id=t.id, key=f"step{i}", name=f"第{i}步", kind="task", stage=i,
                     actions=["done"], created_at=NOW,
                     **({"done_by": "system"} if i == 4 else {})) for i in range(5)])
        finally:
            stop()
        assert [verb for verb, _ in seen] == ["INSERT"]  # one statement for five rows
        assert [n.key for n in nodes] == [f"step{i}" for i in range(5)]
        assert [n.id for n in nodes] == sorted(n.id for n in nodes)
        # the model's defaults applied (status, owners); a value one row alone has is kept
        assert all(n in s for n in nodes) and nodes[0].status == "waiting"
        assert nodes[0].owners == [] and [n.done_by for n in nodes] == [None] * 4 + ["system"]
        nodes[2].status = "active"  # the session's own objects: a change is saved
    async with sm() as s:
        stored = (await s.execute(select(WorkflowNode.key, WorkflowNode.status, WorkflowNode.actions)
                                  .order_by(WorkflowNode.id))).all()
    assert [tuple(r) for r in stored] == [
        (f"step{i}", "active" if i == 2 else "waiting", ["done"]) for i in range(5)]
    async with write_session(sm, gate) as s:
        assert await add_many(s, WorkflowNode, []) == []
        with pytest.raises(TypeError, match="created_at"):  # no default: it must be given
            await add_many(s, WorkflowNode, [dict(ticket_id=t.id, key="k", name="n",
                                                  kind="task", stage=0)])
