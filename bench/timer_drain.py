"""Benchmark: a burst of durable timers — fired by the sweep into the inbox, then handled.

    .venv/bin/python bench/timer_drain.py [--timers 20000] [--spread 10] [--db sqlite|postgresql]
                                          [--before 3000]

The bot runs in this process as ``main.py worker`` would (handlers, timers, no listener, no
sender), real clock. ``--timers`` ``offer_timeout`` timers are armed, due evenly within
``--spread`` seconds starting 3 s from now, for offers that no longer exist (each firing is
claimed, its offer looked up and not found, and the event closed by the dispatch handler: the
cheapest real timer work, which isolates the sweep → inbox → worker path from what a handler
does; the process's kept technician pool is read first, as it is after the bot's first
placement). Measured per timer:

* fire lateness — when the sweep put it into the inbox, minus when it was due;
* handler lateness — when its handler's transaction committed, minus when it was due;
* the handlers' drain rate (timer events handled per second, first to last commit).

Baseline in the same run: the same on a fresh database with the worker handling one event per
transaction (``InboxWorker.batch = 1``, as before batching), on ``--before`` timers (it is slow).
"""

from __future__ import annotations

import argparse
import os
import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (AES_KEY, AGENT_ID, CORP_ID, SECRET, TOKEN, bench_database,  # noqa: E402
                          database_arguments)


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


async def one_run(url: str, timers: int, spread: float, batch: int | None) -> dict[str, float]:
    from sqlalchemy import func, insert, select

    from bot.settings import Settings
    from main import BotRuntime
    from models.tables import InboxEvent
    from models.timer import Timer

    settings = Settings(_env_file=None, WECOM_CORP_ID=CORP_ID, WECOM_AGENT_ID=int(AGENT_ID),
                        WECOM_SECRET=SECRET, WECOM_TOKEN=TOKEN, WECOM_AES_KEY=AES_KEY,
                        WECOM_API_BASE="http://127.0.0.1:9", DATABASE_URL=url, PORT=0,
                        LOG_LEVEL="WARNING", DOCTOR_AT_START=False,
                        WORKER_CONCURRENCY=int(os.environ.get("BENCH_CONCURRENCY", "8")))
    bot = BotRuntime(settings, run_http=False, run_sender=False)
    await bot.start()
    if batch is not None:
        bot.worker.batch = batch
    from sqlalchemy import event as sa_event

    statements: dict[str, int] = {}

    @sa_event.listens_for(bot.engine.sync_engine, "before_cursor_execute")
    def count(conn, cursor, statement, params, context, executemany):  # noqa: ARG001
        word = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"
        statements[word] = statements.get(word, 0) + 1
    now = datetime.now(UTC)
    from handlers.dispatch.pool_cache import cache_for

    await cache_for(bot.engine).current(now)  # as after the bot's first placement (no staff here)
    start = now + timedelta(seconds=3)
    rows = [{"key": f"offer:{i}", "kind": "offer_timeout", "conversation_key": f"ticket:{i}",
             "payload": {"offer_id": 10_000_000 + i},
             "due_at": start + timedelta(seconds=spread * i / timers), "status": "armed",
             "generation": 1, "fire_count": 0, "created_at": now, "updated_at": now}
            for i in range(timers)]
    async with bot.sm() as s, s.begin():
        for i in range(0, len(rows), 2000):
            await s.execute(insert(Timer), rows[i:i + 2000])
    t0 = time.monotonic()
    while True:  # a cheap count while it runs: the bot shares this event loop
        await asyncio.sleep(0.5)
        async with bot.sm() as s:
            n = (await s.execute(select(func.count()).select_from(InboxEvent).where(
                InboxEvent.channel == "timer", InboxEvent.status == "done"))).scalar_one()
        if n == timers or time.monotonic() - t0 > spread + 600:
            break
    await bot.stop()
    async with bot.sm() as s:
        finished = (await s.execute(select(InboxEvent.received_at, InboxEvent.processed_at,
                                           InboxEvent.payload)
                                    .where(InboxEvent.channel == "timer",
                                           InboxEvent.status == "done"))).all()
    fire, handle = [], []
    for d in finished:
        due = datetime.fromisoformat(d.payload["due_at"])
        fire.append((d.received_at - due).total_seconds())
        handle.append((d.processed_at - due).total_seconds())
    ends = sorted(d.processed_at for d in finished)
    span = (ends[-1] - max(ends[0], start)).total_seconds() if ends else float("nan")
    n = max(len(finished), 1)
    print(f"  statements per timer event (batch={getattr(bot.worker, 'batch', 1)}): "
          f"{sum(statements.values()) / n:.2f} — " + ", ".join(
              f"{k} {v / n:.2f}" for k, v in sorted(statements.items(), key=lambda kv: -kv[1])))
    return {"handled": len(finished), "timers": timers, "fire_p50": pct(fire, .5),
            "fire_p99": pct(fire, .99), "handle_p50": pct(handle, .5),
            "handle_p99": pct(handle, .99), "rate": len(finished) / max(span, spread / timers)}


def show(label: str, r: dict[str, float]) -> None:
    print(f"{label:<28}: {int(r['handled']):,}/{int(r['timers']):,} handled; "
          f"fire late p50 {r['fire_p50']:.2f} s p99 {r['fire_p99']:.2f} s; handler late "
          f"p50 {r['handle_p50']:.2f} s p99 {r['handle_p99']:.2f} s; {r['rate']:,.0f} events/s")


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--timers", type=int, default=20_000)
    ap.add_argument("--spread", type=float, default=10.0)
    ap.add_argument("--before", type=int, default=3000, help="timers for the baseline run")
    database_arguments(ap)
    args = ap.parse_args()
    async with bench_database(args.db, args.pg_url) as (url, _):
        now = await one_run(url, args.timers, args.spread, None)
    before = None
    if args.before:
        async with bench_database(args.db, args.pg_url) as (url, _):
            before = await one_run(url, args.before, args.spread * args.before / args.timers, 1)
    print(f"database: {args.db}; {args.timers:,} offer_timeout timers due within "
          f"{args.spread:g} s (target: >= 1,000 events/s, handler lateness p99 <= 2 s)")
    show("this code", now)
    if before:
        show("one event per transaction", before)
        print(f"ratio (drain rate)          : {now['rate'] / before['rate']:.1f}x")


if __name__ == "__main__":
    asyncio.run(main())
