"""Benchmark: placing a ticket the way the bot does — read every technician from the database,
derive load / jobs today / response speed / rating, build the index, rank — against ranking
alone on an index of the same pool built once beforehand (what a cached pool would cost;
the engine's own figures are in bench/dispatch.py).

    .venv/bin/python bench/dispatch_live.py                      # 10,000 technicians, SQLite
    .venv/bin/python bench/dispatch_live.py --db postgresql      # the machine's PostgreSQL
    .venv/bin/python bench/dispatch_live.py --techs 500          # a typical team

The technicians are the engine bench's seeded random ones (dispatching/synthetic.py), stored as
staff rows. Prints p50 / p99 milliseconds per placement for both, and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import bench_database  # noqa: E402
from handlers.dispatch.engine import TechnicianIndex  # noqa: E402
from handlers.dispatch.config import load_scoring_config as load_config  # noqa: E402
from handlers.dispatch.engine.synthetic import NOW, random_jobs, random_technicians  # noqa: E402
from handlers.dispatch.pool import load_pool  # noqa: E402
from models.db import make_engine, make_sessionmaker, migrate, write_session  # noqa: E402
from models.tickets import Staff  # noqa: E402

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def staff_row(t) -> Staff:
    """A synthetic engine technician as the staff row the bot would hold."""
    return Staff(
        userid=t.id, name=t.name, roles=["technician"], skills=dict(t.skills),
        regions=list(t.regions), home_lat=t.home.lat, home_lon=t.home.lon,
        last_lat=t.last_known.lat if t.last_known else None,
        last_lon=t.last_known.lon if t.last_known else None, last_seen_at=t.last_seen_at,
        shifts=[{"days": DAYS[w.weekday], "start": f"{w.start_min // 60:02d}:{w.start_min % 60:02d}",
                 "end": f"{w.end_min // 60:02d}:{w.end_min % 60:02d}"} for w in t.shifts],
        leave=[{"from": lv.start.isoformat(), "to": lv.end.isoformat()} for lv in t.leave],
        capacity=t.capacity, rating=t.rating)


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))] * 1000.0


async def run(url: str, techs: int, jobs: int) -> None:
    await asyncio.to_thread(migrate, url)
    engine = make_engine(url)
    sm = make_sessionmaker(engine)
    people = random_technicians(techs, seed=1)
    async with write_session(sm, None) as s:
        s.add_all(staff_row(t) for t in people)
    config = load_config()
    work = random_jobs(jobs, seed=2)
    async with sm() as s:  # the same pool, read once: what a cache would hold
        prebuilt = TechnicianIndex.build((await load_pool(s, NOW))[0])
    live, alone, agree = [], [], 0
    for job in work:
        t0 = time.perf_counter()
        async with sm() as s:
            pool, _ = await load_pool(s, NOW)
        decision = TechnicianIndex.build(pool).rank(job, config, NOW, k=5)
        t1 = time.perf_counter()
        baseline = prebuilt.rank(job, config, NOW, k=5)
        t2 = time.perf_counter()
        live.append(t1 - t0)
        alone.append(t2 - t1)
        agree += (decision.chosen.tech_id if decision.chosen else None) == (
            baseline.chosen.tech_id if baseline.chosen else None)
    await engine.dispose()
    print(f"database             : {url.split(':')[0]}")
    print(f"technicians          : {techs:,} (staff rows)   jobs: {jobs}")
    print(f"placement (bot) ms   : p50 {pct(live, .5):.1f}  p99 {pct(live, .99):.1f}  "
          f"mean {statistics.mean(live) * 1000:.1f}")
    print(f"rank alone ms        : p50 {pct(alone, .5):.3f}  p99 {pct(alone, .99):.3f}")
    print(f"ratio (bot / alone)  : p50 {pct(live, .5) / pct(alone, .5):.0f}x")
    print(f"same choice          : {agree}/{jobs}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--techs", type=int, default=10_000)
    ap.add_argument("--jobs", type=int, default=20)
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()

    async def go() -> None:
        async with bench_database(args.db, args.pg) as (url, _):
            await run(url, args.techs, args.jobs)

    asyncio.run(go())


if __name__ == "__main__":
    main()
