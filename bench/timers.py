"""SLA clocks at scale: N clock timers (kind ``sla_clock``, what handlers/sla/ arms) on
PostgreSQL, swept by two processes at once; every step must fire exactly once. Prints the
lateness (fired_at − due_at) p50 / p99 against the sweep interval, and the same for one
process sweeping alone as the baseline of this run.

    .venv/bin/python bench/timers.py [--clocks 100000] [--spread 120] [--sweep 1.0]

``--spread``: the due times are spread evenly over this many seconds (100,000 over 120 s is
≈ 830 steps a second). The firing is measured up to the inbox: each fired timer is one inbox
event in the sweep's transaction, as in the bot; handling those events is the handlers' load,
not the timers'. Goal: p99 ≤ 1 s with a 1 s sweep.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import bench_database  # noqa: E402

PG = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


async def sweeper(url: str, name: str, interval: float) -> None:
    """One sweeping process: APScheduler-driven TimerSweep until nothing is armed."""
    from sqlalchemy import text

    from models.db import make_engine, make_sessionmaker
    from scheduler.clock import SystemClock
    from scheduler.timers import TimerSweep

    engine = make_engine(url)
    sweep = TimerSweep(make_sessionmaker(engine), SystemClock(), batch=500, name=name)
    sweep.start(interval)
    try:
        while True:
            await asyncio.sleep(0.5)
            async with engine.connect() as c:
                left = (await c.execute(text(
                    "SELECT count(*) FROM timers WHERE status = 'armed'"))).scalar_one()
            if not left:
                break
    finally:
        await sweep.stop()
        await engine.dispose()
    print(f"{name}: fired {sweep.fired}", flush=True)


def arm_all(url: str, n: int, start: datetime, spread: float) -> None:
    """Insert N armed clock timers (one COPY; ``scheduler.timers.arm`` writes the same rows)."""
    import json

    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as c, c.cursor() as cur:
        cur.execute("TRUNCATE timers, inbox RESTART IDENTITY")
        with cur.copy("COPY timers (key, kind, conversation_key, payload, due_at, status, "
                      "generation, fire_count, created_at, updated_at) FROM STDIN") as cp:
            for i in range(n):
                due = start + timedelta(seconds=spread * i / n)
                cp.write_row((f"sla:{i + 1}", "sla_clock", f"ticket:{i + 1}",
                              json.dumps({"clock_id": i + 1}), due, "armed", 1, 0, start, start))
        c.commit()


def measure(url: str) -> dict[str, float]:
    import psycopg

    with psycopg.connect(url) as c:
        row = c.execute(
            "SELECT count(*), count(*) FILTER (WHERE fire_count = 1), "
            "count(*) FILTER (WHERE fire_count > 1), "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM fired_at - due_at)),"
            "percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM fired_at - due_at)),"
            "max(extract(epoch FROM fired_at - due_at)) FROM timers").fetchone()
        events = c.execute("SELECT count(*) FROM inbox WHERE channel = 'timer'").fetchone()[0]
        by = dict(c.execute("SELECT fired_by, count(*) FROM timers GROUP BY fired_by").fetchall())
    return {"timers": row[0], "once": row[1], "twice": row[2], "p50": row[3], "p99": row[4],
            "max": row[5], "events": events, "by": by}


def run(url: str, n: int, spread: float, sweep: float, processes: int) -> dict[str, float]:
    # arming takes ≈ 8 s per 100,000 here; the sweepers start meanwhile
    start = datetime.now(UTC) + timedelta(seconds=8 + n / 8000)
    t0 = time.perf_counter()
    arm_all(url, n, start, spread)
    armed_in = time.perf_counter() - t0
    start_gap = (start - datetime.now(UTC)).total_seconds()
    if start_gap < 2:
        raise SystemExit(f"arming {n} timers took {armed_in:.1f}s: raise the start margin")
    procs = [subprocess.Popen([sys.executable, __file__, "--sweeper", url, "--name", f"p{i}",
                               "--sweep", str(sweep)], cwd=ROOT) for i in range(processes)]
    for p in procs:
        p.wait(timeout=spread + 600)
    out = measure(url)
    out["armed_s"] = armed_in
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clocks", type=int, default=100_000)
    ap.add_argument("--spread", type=float, default=120.0)
    ap.add_argument("--sweep", type=float, default=1.0)
    ap.add_argument("--sweeper")
    ap.add_argument("--name", default="p0")
    a = ap.parse_args()
    if a.sweeper:
        asyncio.run(sweeper(a.sweeper, a.name, a.sweep))
        return

    async def go() -> None:
        from models.db import migrate

        async with bench_database("postgresql", PG) as (url, _):
            migrate(url)
            base = run(url, a.clocks // 4, a.spread / 4, a.sweep, 1)
            two = run(url, a.clocks, a.spread, a.sweep, 2)
        print(f"\nbaseline, 1 process, {a.clocks // 4:,} clocks over {a.spread / 4:.0f} s: "
              f"p50 {base['p50']:.3f} s, p99 {base['p99']:.3f} s, max {base['max']:.3f} s; "
              f"fired once {base['once']:,}/{base['timers']:,}, twice {base['twice']}")
        print(f"2 processes, {a.clocks:,} clocks over {a.spread:.0f} s "
              f"({a.clocks / a.spread:,.0f} steps/s), sweep every {a.sweep:g} s: "
              f"p50 {two['p50']:.3f} s, p99 {two['p99']:.3f} s, max {two['max']:.3f} s")
        print(f"  fired exactly once: {two['once']:,}/{two['timers']:,}; twice or more: "
              f"{two['twice']}; inbox events: {two['events']:,}; by process: {two['by']}")
        print(f"  p99 / sweep interval: {two['p99'] / a.sweep:.2f} (goal ≤ 1.0); "
              f"p99 vs 1-process baseline: {two['p99'] / max(base['p99'], 1e-9):.2f}×; "
              f"armed in {two['armed_s']:.1f} s")

    asyncio.run(go())


if __name__ == "__main__":
    main()
