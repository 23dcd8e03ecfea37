"""Benchmark: many-row INSERTs with RETURNING on PostgreSQL, arrays vs a multi-row VALUES.

    .venv/bin/python bench/insert_rows.py [--rows 1,8,16,32,100,1000] [--repeats 25]
                                          [--pg-url postgresql://postgres@127.0.0.1/test]

``models.db.insert_rows`` sends an INSERT with RETURNING of ``UNNEST_FROM`` rows or more as
``INSERT … SELECT … FROM unnest(…)``, one array per column: one short statement that psycopg
converts once. Below that, it sends what SQLAlchemy makes of it, a multi-row ``VALUES`` whose
placeholders psycopg parses anew at each run. On a fresh database, inbox rows are inserted
(``inbox_insert``, RETURNING the new keys) three ways: always as VALUES (the baseline, the code
before), always as arrays, and as this code chooses; printed is the client CPU per INSERT
(median of ``--repeats`` after five warm-up runs, the three ways taking turns) and this code's ratio to the baseline.
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

from bench.common import bench_database  # noqa: E402


def inbox_rows(tag: str, n: int, now: datetime) -> list[dict]:
    return [{"dedupe_key": f"{tag}:{i}", "channel": "timer", "kind": "event",
             "type": "offer_timeout", "conversation_key": f"ticket:{i}", "sender": "",
             "payload": {"offer_id": i, "due_at": now.isoformat()}, "received_at": now,
             "status": "pending", "attempts": 0, "next_attempt_at": now} for i in range(n)]


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", default="1,8,16,32,100,1000")
    ap.add_argument("--repeats", type=int, default=25)
    ap.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1/test")
    args = ap.parse_args()
    import models.db as mdb
    from models.queues import inbox_insert

    threshold = mdb.UNNEST_FROM
    ways = {"values": 10 ** 9, "arrays": 1, "this code": threshold}
    async with bench_database("postgresql", args.pg_url) as (url, _):
        await asyncio.to_thread(mdb.migrate, url)
        engine = mdb.make_engine(url)
        sm = mdb.make_sessionmaker(engine)
        now = datetime.now(UTC)
        print(f"inbox rows, client CPU per INSERT in ms (median of {args.repeats}); this code "
              f"sends arrays from {threshold} rows")
        try:
            for n in (int(x) for x in args.rows.split(",")):
                times: dict[str, list[float]] = {way: [] for way in ways}
                for rep in range(args.repeats + 5):  # the ways take turns: drift hits all alike
                    for way, at in ways.items():
                        mdb.UNNEST_FROM = at
                        rows = inbox_rows(f"{way}{n}:{rep}", n, now)
                        async with sm() as s, s.begin():
                            t = time.process_time()
                            await inbox_insert(s, rows)
                            times[way].append(time.process_time() - t)
                cpu = {way: statistics.median(ts[5:]) * 1e3 for way, ts in times.items()}
                print(f"{n:>5} rows: " + "  ".join(f"{w} {v:7.2f}" for w, v in cpu.items())
                      + f"  ratio (this code / values) {cpu['this code'] / cpu['values']:.2f}")
        finally:
            mdb.UNNEST_FROM = threshold
            await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
