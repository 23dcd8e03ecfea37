"""Benchmark: deleting a backlog of finished queue rows, in the bot's rounds vs all at once.

    .venv/bin/python bench/retention.py [--rows 100000] [--db sqlite|postgresql]

A database holds ``--rows`` finished rows in each of the inbox (handled internal events, and a
customer message for every third, which stays), the outbox (sent) and the timers (fired), all
older than the retention, then as many recent ones. ``models.retention.prune`` deletes the old
ones in rounds of ``handlers.upkeep.router.BATCH`` rows per table, each round its own write
transaction (as the bot's retention timer runs them); printed are the rounds, the write
transaction's longest and median time (what a message waiting for the write lock can wait)
and the rows deleted per second. Baseline in the same run, on a copy of the same rows: one
transaction deleting every old row at once (what a plain ``DELETE … WHERE`` would hold).
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

from bench.common import bench_database, database_arguments  # noqa: E402


async def fill(sm, rows: int, now: datetime) -> None:
    from sqlalchemy import insert

    from models.tables import InboxEvent, OutboxMessage
    from models.timer import Timer

    old, new = now - timedelta(days=10), now - timedelta(hours=1)
    chunk = 5000
    async with sm() as s, s.begin():
        for start in range(0, 2 * rows, chunk):
            ids = range(start, min(start + chunk, 2 * rows))
            at = [old if i < rows else new for i in ids]
            await s.execute(insert(InboxEvent), [dict(
                dedupe_key=f"e{i}", channel="internal", kind="message" if i % 3 == 0 else "event",
                type="ticket_created", conversation_key=f"ticket:{i}", sender="", payload={"i": i},
                received_at=t, status="done", attempts=1, next_attempt_at=t, processed_at=t)
                for i, t in zip(ids, at)])
            await s.execute(insert(OutboxMessage), [dict(
                idempotency_key=f"o{i}", api="message/send", pace_key=f"user:u{i % 500}",
                payload={"touser": f"u{i % 500}"}, created_at=t, status="sent", attempts=1,
                next_attempt_at=t, sent_at=t) for i, t in zip(ids, at)])
            await s.execute(insert(Timer), [dict(
                key=f"offer:{i}", kind="offer_timeout", conversation_key=f"ticket:{i}",
                payload={}, due_at=t, status="fired", generation=1, fire_count=1, fired_at=t,
                created_at=t, updated_at=t) for i, t in zip(ids, at)])


async def run(kind: str, pg_url: str, rows: int, all_at_once: bool) -> dict:
    import models.db as mdb
    from handlers.upkeep.router import BATCH
    from models.retention import prune

    async with bench_database(kind, pg_url) as (url, _):
        await asyncio.to_thread(mdb.migrate, url)
        engine = mdb.make_engine(url)
        sm, gate = mdb.make_sessionmaker(engine), mdb.WriteGate.for_url(url)
        now = datetime.now(UTC)
        try:
            await fill(sm, rows, now)
            cutoff = now - timedelta(days=7)
            holds, deleted = [], 0
            t0 = time.perf_counter()
            while True:
                t = time.perf_counter()
                async with mdb.write_session(sm, gate) as s:
                    done = await prune(s, cutoff, 10 ** 9 if all_at_once else BATCH)
                holds.append(time.perf_counter() - t)
                deleted += done.total
                if not done.more:
                    break
            wall = time.perf_counter() - t0
        finally:
            await engine.dispose()
    return {"rounds": len(holds), "longest": max(holds), "median": statistics.median(holds),
            "deleted": deleted, "per_s": deleted / wall}


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    database_arguments(ap)
    args = ap.parse_args()
    ours = await run(args.db, args.pg_url, args.rows, False)
    once = await run(args.db, args.pg_url, args.rows, True)
    print(f"database: {args.db}; {args.rows:,} old finished rows in each of inbox, outbox, timers "
          f"(every third inbox row a customer's message, kept), as many recent ones")
    for name, r in (("rounds (the bot)", ours), ("all at once", once)):
        print(f"{name:<17}: deleted {r['deleted']:,} in {r['rounds']} transaction(s); write "
              f"transaction longest {r['longest'] * 1e3:,.1f} ms, median "
              f"{r['median'] * 1e3:,.1f} ms; {r['per_s']:,.0f} rows/s")
    print(f"ratio (longest write transaction, rounds / all at once): "
          f"{ours['longest'] / once['longest']:.4f}")


if __name__ == "__main__":
    asyncio.run(main())
