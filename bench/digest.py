"""Benchmark: a manager's digest (日报 / 周报) on a database with a year of history.

    .venv/bin/python bench/digest.py [--history 200000] [--open 2000] [--db sqlite|postgresql]

``--history`` closed tickets (each with two met SLA clocks) spread over the past year
(bench/common.py ``seed_history``), and ``--open`` tickets opened in the last two days, each
with a running clock. Then the numbers of a day and of a week (``digest_stats``, what each
recipient of a digest and every 日报 question costs, inside the worker's write transaction on
SQLite) are computed five times each. Baseline in the same run: the same numbers computed the way the
bot did before, from every ticket and every clock (checked equal).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import bench_database, database_arguments, seed_history  # noqa: E402


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--history", type=int, default=200_000)
    ap.add_argument("--open", type=int, default=2_000)
    ap.add_argument("--rounds", type=int, default=5)
    database_arguments(ap)
    args = ap.parse_args()

    from sqlalchemy import select

    import handlers.sla.digest as digest
    from models.db import make_engine, make_sessionmaker, migrate, write_session
    from models.sla import SlaClock
    from models.tickets import Customer, Ticket

    async def everything(session, start, end):  # the old way: every ticket, every clock
        tickets = (await session.execute(select(Ticket).where(Ticket.created_at < end))).scalars()
        return list(tickets), list((await session.execute(select(SlaClock))).scalars())

    now = datetime.now(UTC)
    async with bench_database(args.db, args.pg_url) as (url, _tmp):
        await asyncio.to_thread(migrate, url)
        t0 = time.perf_counter()
        await asyncio.to_thread(seed_history, url, args.history)
        engine = make_engine(url)
        sm = make_sessionmaker(engine)
        async with write_session(sm, None) as s:
            if not args.history:  # the open tickets' customer
                s.add(Customer(id=1, name="bench", created_at=now))
                await s.flush()
            for i in range(args.open):
                at = now - timedelta(minutes=i * 2880 // max(args.open, 1))
                t = Ticket(number=f"GDO{i:07d}", customer_id=1 + i % max(args.history, 1),
                           description="咖啡机坏了", title="咖啡机坏了", category="repair",
                           status="dispatched", created_at=at, updated_at=at)
                s.add(t)
                await s.flush()
                s.add(SlaClock(ticket_id=t.id, metric="first_response", started_at=at,
                               yellow_at=at + timedelta(hours=3), due_at=at + timedelta(hours=4),
                               created_at=at, updated_at=at))
        print(f"{args.db}: {args.history:,} tickets of history and {args.open:,} open "
              f"stored in {time.perf_counter() - t0:.0f} s")

        async def timed(start) -> tuple[list[float], dict]:
            times, stats = [], {}
            for _ in range(args.rounds):
                async with sm() as s:
                    t1 = time.perf_counter()
                    stats = await digest.digest_stats(s, None, start=start, end=now, now=now,
                                                      period="p")
                    times.append(time.perf_counter() - t1)
            return times, stats

        for name, start in (("day", now - timedelta(days=1)), ("week", now - timedelta(days=7))):
            new, stats = await timed(start)
            real = digest.period_rows
            digest.period_rows = everything
            try:
                old, old_stats = await timed(start)
            finally:
                digest.period_rows = real
            print(f"  the {name}'s digest: p50 {statistics.median(new) * 1000:8.1f} ms   "
                  f"baseline, every row: p50 {statistics.median(old) * 1000:8.1f} ms   "
                  f"ratio {statistics.median(old) / statistics.median(new):.0f}x   "
                  f"(received {stats['received']}, closed {stats['closed']}, "
                  f"open {stats['open']})")
            if stats != old_stats:
                raise SystemExit("the two ways disagree")
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
