"""Benchmark: what one ``/healthz`` (or ``/metrics`` scrape) costs the database after a year.

    .venv/bin/python bench/health.py [--history 200000] [--db sqlite|postgresql] [--rounds 50]

``bench.common.seed_history`` stores a year of service (3·N handled inbox messages, …) and 20
events still waiting; then the inbox counts the health check reports are read ``--rounds``
times, each in its own session. Baseline in the same run: the counts as the bot read them
before, every status grouped, the handled history included.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (bench_database, database_arguments, ms_at, seed_history,  # noqa: E402
                          time_rounds)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--history", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=50)
    database_arguments(ap)
    args = ap.parse_args()

    from datetime import UTC, datetime

    from sqlalchemy import func, select

    from models.db import make_engine, make_sessionmaker, migrate, write_session
    from models.messages import Event, inbox_row
    from models.queues import inbox_counts, inbox_insert
    from models.tables import InboxEvent

    async def before(session) -> dict[str, int]:
        rows = await session.execute(
            select(InboxEvent.status, func.count()).group_by(InboxEvent.status))
        return dict(rows.all())

    async with bench_database(args.db, args.pg_url) as (url, _tmp):
        await asyncio.to_thread(migrate, url)
        await asyncio.to_thread(seed_history, url, args.history)
        engine = make_engine(url)
        sm = make_sessionmaker(engine)
        now = datetime.now(UTC)
        async with write_session(sm, None) as s:
            await inbox_insert(s, [inbox_row(Event("app", "message", "text", f"u{i}", f"c{i}",
                                                   f"waiting:{i}", {"text": "在吗"}), now)
                                   for i in range(20)])

        new, counts = await time_rounds(sm, args.rounds, inbox_counts)
        old, counts_old = await time_rounds(sm, args.rounds, before)
        await engine.dispose()

    print(f"/healthz inbox counts, {3 * args.history:,} handled inbox rows ({args.db}, "
          f"{args.rounds} rounds): {counts}; before: {counts_old}")
    print(f"  now:    p50 {ms_at(new, .5):.2f} ms  p99 {ms_at(new, .99):.2f} ms")
    print(f"  before: p50 {ms_at(old, .5):.2f} ms  p99 {ms_at(old, .99):.2f} ms")
    print(f"  ratio (median now / before): {statistics.median(new) / statistics.median(old):.4f}")


if __name__ == "__main__":
    asyncio.run(main())
