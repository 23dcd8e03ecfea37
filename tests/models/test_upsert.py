"""Upserts compiled once and cached, and several new rows in one INSERT (models/upsert.py,
``models.db.add_many``, ``models.db.insert_rows``), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select

from models.db import UNNEST_FROM, add_many, dialect_insert, write_session
from models.messages import Event, inbox_row
from models.queues import inbox_insert
from models.tables import InboxEvent
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


async def test_many_inbox_rows_go_in_one_statement_in_order_and_only_new_keys_come_back(db, db_url):
    """Enough rows with RETURNING: on PostgreSQL one array per column (``unnest``), not a
    statement that grows with the rows; on both, one INSERT, rows stored in the order given
    with everything they said, a key stored before skipped and not returned."""
    sm, gate = db
    n = UNNEST_FROM * 3
    events = [Event("app", "message", "text", f"user{i % 3}", f"conv{i % 3}", f"msg{i}",
                    {"content": f"3号店咖啡机坏了 {i}", "n": i, "nested": {"ok": i % 2 == 0}})
              for i in range(n)]
    async with write_session(sm, gate) as s:
        assert await inbox_insert(s, [inbox_row(events[5], NOW)]) == {"msg5"}  # one row
    seen, stop = _watch(sm)
    statements: list[str] = []

    def sql(conn, cursor, statement, params, context, executemany):
        statements.append(statement)
    engine = sm.kw["bind"].sync_engine
    event.listen(engine, "before_cursor_execute", sql)
    try:
        async with write_session(sm, gate) as s:
            new = await inbox_insert(s, [inbox_row(e, NOW) for e in events])
    finally:
        stop()
        event.remove(engine, "before_cursor_execute", sql)
    assert [verb for verb, _ in seen if verb != "BEGIN"] == ["INSERT"]
    assert new == {f"msg{i}" for i in range(n)} - {"msg5"}  # stored before: skipped
    if db_url.startswith("postgresql"):
        insert = next(q for q in statements if q.startswith("INSERT"))
        assert "unnest" in insert and len(insert) < 2000
    async with sm() as s:
        rows = list((await s.execute(select(InboxEvent).where(InboxEvent.dedupe_key != "msg5")
                                     .order_by(InboxEvent.id))).scalars())
    assert [r.dedupe_key for r in rows] == [f"msg{i}" for i in range(n) if i != 5]
    r = rows[7]  # msg8
    assert (r.channel, r.kind, r.type, r.sender, r.conversation_key, r.status, r.attempts) == (
        "app", "message", "text", "user2", "conv2", "pending", 0)
    assert r.payload == {"content": "3号店咖啡机坏了 8", "n": 8, "nested": {"ok": True}}
    assert r.received_at == NOW and r.next_attempt_at == NOW and r.processed_at is None
