"""Benchmark: a month settled from its stored statements (``settle period --month``, the API's
``GET /api/vouchers/{month}`` and, a day at a time, the finance export), this code against one
ticket read per statement (the code before).

    .venv/bin/python bench/vouchers.py [--statements 20000] [--repeat 5] [--db sqlite|postgresql]

A database holds ``--statements`` tickets completed in 2026-11, each with its stored statement
priced by the project's price books (``bench/settle.py``'s tickets), two in three rated by their
customer after completion. Printed, as the median of ``--repeat`` runs each (taking turns): the
time and SQL statements of ``handlers.settlement.cli.accumulate_stored``, which reads the
month's statements and its customers' ratings, and of the baseline, which reads the same
statements and then each ticket with its own ``SELECT``; both feed the same accumulator, and
the two must give the same month to the fen. Then the whole ``period_from_db`` once (it also
stores the month).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import bench_database, database_arguments  # noqa: E402
from bench.settle import MONTH, gen_chunk  # noqa: E402


async def fill(sm, dialect: str, setup, n: int) -> None:
    from sqlalchemy import insert

    from handlers.settlement.engine.period import PeriodAccumulator
    from models.settlement import SettlementStatement
    from models.tickets import Customer, Ticket

    acc = PeriodAccumulator(setup.books, MONTH)
    now = datetime.now(UTC)
    tickets, statements = [], []
    for i, t in enumerate(gen_chunk(20261101, 0, n, 200), start=1):
        rated = t.pop("satisfaction")
        st = acc.add(t)
        assert st is not None, "a generated ticket outside the month"
        doc = st.to_dict()
        tickets.append(dict(
            id=i, number=f"GDV{i:07d}", status="closed", customer_id=1, category="repair",
            title="维修",
            description="维修", fields={}, channel="app", conversation_key=f"app:v{i}",
            reporter=f"v{i}", assignee=t["technician"], created_at=st.completed_at,
            updated_at=now, version=1, satisfaction=rated if i % 3 else None))
        statements.append(dict(
            statement_id=st.id, ticket_id=i, ticket_number=f"GDV{i:07d}", revision=0,
            kind="original", book_id=st.book_id, book_version=st.book_version,
            service=st.service, service_rule=st.service_rule, provider=st.provider,
            technician=st.technician, currency=st.currency, net=doc["totals"]["net"],
            tax=doc["totals"]["tax"], gross=doc["totals"]["gross"], technician_share="0",
            completed_at=st.completed_at, ticket_input=t, statement=doc, created_at=now))
    async with sm() as s, s.begin():
        await s.execute(insert(Customer), [dict(id=1, name="连锁门店", created_at=now)])
        for lo in range(0, n, 5000):
            await s.execute(insert(Ticket), tickets[lo:lo + 5000])
            await s.execute(insert(SettlementStatement), statements[lo:lo + 5000])
    if dialect == "postgresql":  # the ids above were given, not drawn
        from sqlalchemy import text

        async with sm() as s, s.begin():
            for table in ("customer", "ticket"):
                await s.execute(text(
                    f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))


async def one_by_one(s, acc, start, end):
    """The code before: the month's statements, then each one's ticket read by itself."""
    from handlers.settlement.engine.quote import Statement
    from handlers.settlement.engine.ticket import Ticket as EngineTicket
    from models.settlement import statements_completed_between
    from models.tickets import Ticket

    kept = []
    for row in await statements_completed_between(s, start, end):
        ticket = await s.get(Ticket, row.ticket_id)
        data = dict(row.ticket_input)
        if ticket is not None and ticket.satisfaction is not None:
            data["satisfaction"] = ticket.satisfaction
        st = Statement.from_dict(row.statement)
        if acc.add_statement(EngineTicket.from_dict(data), st) is not None:
            kept.append(st)
    return None, kept


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--statements", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=5)
    database_arguments(ap)
    args = ap.parse_args()

    from sqlalchemy import event

    import models.db as mdb
    from handlers.settlement.cli import accumulate_stored, period_from_db
    from handlers.settlement.config import load_settlement
    from handlers.settlement.engine.period import PeriodAccumulator, month_bounds

    setup = await asyncio.to_thread(load_settlement)
    start, end = month_bounds(MONTH)
    async with bench_database(args.db, args.pg_url) as (url, _):
        await asyncio.to_thread(mdb.migrate, url)
        engine = mdb.make_engine(url)
        sm = mdb.make_sessionmaker(engine)
        count = [0]
        event.listen(engine.sync_engine, "before_cursor_execute",
                     lambda *a: count.__setitem__(0, count[0] + 1))
        try:
            await fill(sm, engine.dialect.name, setup, args.statements)
            ways = {"this code": lambda s, acc: accumulate_stored(s, acc, start, end),
                    "one by one": lambda s, acc: one_by_one(s, acc, start, end)}
            times: dict[str, list[float]] = {k: [] for k in ways}
            sql: dict[str, int] = {}
            months: dict[str, object] = {}
            for _ in range(args.repeat):
                for name, way in ways.items():
                    acc = PeriodAccumulator(setup.books, MONTH,
                                            segments=setup.config.provider_segments())
                    count[0] = 0
                    t0 = time.perf_counter()
                    async with sm() as s:
                        _, kept = await way(s, acc)
                    times[name].append(time.perf_counter() - t0)
                    sql[name] = count[0]
                    months[name] = acc.result(kept).to_dict()
            assert months["this code"] == months["one by one"], "the two ways disagree"
            t0 = time.perf_counter()
            result, stored, _ = await period_from_db(sm, setup, MONTH, now=datetime.now(UTC))
            whole = time.perf_counter() - t0
        finally:
            await engine.dispose()

    print(f"database: {args.db}; {args.statements:,} statements in {MONTH}, "
          f"median of {args.repeat} runs each")
    for name in ways:
        print(f"  {name:>10}: {statistics.median(times[name]) * 1000:9.1f} ms, "
              f"{sql[name]:,} SQL statements")
    ratio = statistics.median(times["this code"]) / statistics.median(times["one by one"])
    print(f"ratio this code / one by one: {ratio:.2f}; the same month to the fen: yes")
    print(f"period_from_db (read, settle, store the month): {whole * 1000:.1f} ms; "
          f"{result.tickets:,} tickets, stored {stored}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
