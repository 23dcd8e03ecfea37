"""What the bot looks up while people work is found through an index, never by reading a whole
table that grows with the business (tickets, customers, the inbox, offers …).

On an empty database a full scan costs nothing, so no journey test notices it; with a year of
history (200,000 tickets) the lookups of a customer's history made a created ticket's write
transaction 9× longer (bench/tx_time.py --history). This test walks a ticket from report to
completion (the technician asks for their 待办 on the way), a second report from the same
store, a manager's 日报, finance's day of statements and a retention round, records every query the bot ran, and asks the database how it would run each one: SQLite's query plan must not SCAN a growing table;
PostgreSQL, told not to scan sequentially where it has a choice, must not need to.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import event

from handlers.board.finance import day_files
from handlers.settlement.config import SettlementSetup
from handlers.upkeep.router import BATCH
from models.retention import prune
from models.types import LOCAL_TZ
from tests.scenarios.test_dispatch import click, report, say

MANAGER = "wangjingli"  # 王经理 (config/sandbox/staff.yaml)

# Tables that grow with every report, message, offer or clock (not staff, settings or regions).
GROWING = {"ticket", "customer", "customer_identity", "inbox", "outbox", "draft", "dispatch_job",
           "dispatch_offer", "dispatch_decision", "ticket_event", "ticket_message", "timers",
           "sla_clock", "sla_escalation", "awaiting", "workflow_node", "work_report",
           "settlement_statement", "attachment", "card_code", "approval", "quote"}


async def _plans(st, statements: dict[str, object]) -> dict[str, str]:
    """Each SELECT / UPDATE / DELETE with the plan the database would use for it."""
    pg = st.bot.engine.dialect.name == "postgresql"
    out = {}
    async with st.bot.engine.connect() as c:
        if pg:
            await c.exec_driver_sql("SET enable_seqscan = off")
        for sql, params in statements.items():
            if not sql.lstrip()[:6].upper() in ("SELECT", "UPDATE", "DELETE"):
                continue
            explain = "EXPLAIN " if pg else "EXPLAIN QUERY PLAN "
            rows = (await c.exec_driver_sql(explain + sql, params)).all()
            out[sql] = "\n".join(str(r[0] if pg else r[3]) for r in rows)
        await c.rollback()
    return out


def _full_scans(plan: str, pg: bool) -> set[str]:
    pattern = r"Seq Scan on (\w+)" if pg else r"^SCAN (\w+)"
    return {t for t in re.findall(pattern, plan, re.M) if t in GROWING}


def _short(sql: str) -> str:
    """The statement from its FROM on (the column lists say nothing about the plan)."""
    flat = " ".join(sql.split())
    return flat[:20] + " …" + flat[flat.find(" FROM "):][:300] if " FROM " in flat else flat[:300]


async def test_a_ticket_from_report_to_done_reads_no_growing_table_whole(st, monkeypatch):
    await report(st, user="lisi")  # the technician pool is loaded once, on the first placement
    seen: dict[str, object] = {}
    test_reads = [False]  # the test's own look at the tables (st.rows) is not the bot's
    rows = st.rows

    async def quiet_rows(*a):
        test_reads[0] = True
        try:
            return await rows(*a)
        finally:
            test_reads[0] = False

    monkeypatch.setattr(st, "rows", quiet_rows)

    def record(conn, cursor, statement, parameters, context, executemany):
        if not executemany and not test_reads[0]:
            seen.setdefault(statement, parameters)

    sync_engine = st.bot.engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", record)
    try:
        t = await report(st)
        card = st.cards("lishifu")[-1]
        await click(st, "lishifu", card, "accept")
        work = st.cards("lishifu")[-1]
        assert t.number in await say(st, "lishifu", "我的待办")  # a person's open tickets
        for action in ("depart", "arrive", "done"):
            await click(st, "lishifu", work, action)
        answer = await say(st, "lishifu", "工时1小时 配件 压缩机电容1个35元")
        assert t.number in answer
        again = await report(st, "人民广场店咖啡机又坏了 13812345678")  # history, repeat
        assert again.number != t.number
        assert "工单日报" in await say(st, MANAGER, "日报")  # a manager's numbers of the day
        async with st.bot.sm() as s:  # finance's export of the day's statements (the month's too)
            day = st.clock.now().astimezone(LOCAL_TZ).date().isoformat()
            assert (await day_files(s, st.bot.services[SettlementSetup], day))[1] == 1
        async with st.bot.sm() as s, s.begin():  # a retention round (handlers/upkeep)
            assert (await prune(s, st.clock.now() + timedelta(days=1), BATCH)).total > 0
    finally:
        event.remove(sync_engine, "before_cursor_execute", record)

    assert len(seen) > 50  # the journey ran the bot's queries, not a handful
    pg = st.bot.engine.dialect.name == "postgresql"
    plans = await _plans(st, seen)
    scans = {_short(sql): sorted(_full_scans(plan, pg))
             for sql, plan in plans.items() if _full_scans(plan, pg)}
    assert scans == {}


async def test_the_api_list_filtered_by_district_or_category_reads_their_index(st):
    """A value few tickets have (or none) must not walk the newest tickets until the page
    fills: SQLite searches the filter's index; PostgreSQL, told not to scan, uses it too."""
    import aiohttp

    from tests.handlers.board.conftest import ALL, make_key

    await report(st)
    key = await make_key(st, "shop", ALL)
    seen: dict[str, object] = {}

    def record(conn, cursor, statement, parameters, context, executemany):
        if "FROM ticket" in statement and not executemany:
            seen.setdefault(statement, parameters)

    sync_engine = st.bot.engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", record)
    try:
        async with aiohttp.ClientSession() as http:
            for query in ("district=崇明区", "category=invoice", "status=new&district=黄浦区",
                          "category=repair&cursor=100"):
                async with http.get(f"{st.bot.url}/api/tickets?{query}", headers={
                        "Authorization": f"Bearer {key}"}) as r:
                    assert r.status == 200, await r.text()
    finally:
        event.remove(sync_engine, "before_cursor_execute", record)
    lists = {sql: p for sql, p in seen.items() if "ORDER BY ticket.id DESC" in sql}
    assert len(lists) == 4
    pg = st.bot.engine.dialect.name == "postgresql"
    for sql, plan in (await _plans(st, lists)).items():
        assert not _full_scans(plan, pg), (_short(sql), plan)
        index = "ix_ticket_district_id" if "district =" in sql else "ix_ticket_category_id"
        assert index in plan, (_short(sql), plan)
