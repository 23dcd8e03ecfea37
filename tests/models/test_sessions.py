"""The sessions of models/db.py keep what they loaded for as long as the session lives."""

from __future__ import annotations

import gc
from datetime import UTC, datetime

from sqlalchemy import event as sa_event

from models.db import make_engine, make_sessionmaker, write_session
from models.tickets import Customer

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


async def test_a_row_one_handler_let_go_is_not_read_again_in_the_same_session(db_url):
    """Three handlers of one event each ``session.get`` the same ticket: one SELECT, not
    three (SQLAlchemy's identity map alone holds objects weakly and forgot it)."""
    engine = make_engine(db_url)
    sm = make_sessionmaker(engine)
    async with write_session(sm, None) as s:
        s.add(Customer(name="张三", created_at=NOW))
    selects: list[str] = []
    sa_event.listen(engine.sync_engine, "before_cursor_execute",
                    lambda c, cur, statement, *a: selects.append(statement)
                    if statement.lstrip().upper().startswith("SELECT") else None)
    async with sm() as s:
        for _ in range(3):
            assert (await s.get(Customer, 1)).name == "张三"  # and let go at once
            gc.collect()
    assert len(selects) == 1
    async with sm() as s:  # a new session reads again: nothing is kept beyond its end
        await s.get(Customer, 1)
    assert len(selects) == 2
    await engine.dispose()
