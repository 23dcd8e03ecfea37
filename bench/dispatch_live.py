"""Benchmark: placing a ticket the way the bot does — the process's kept pool
(handlers/dispatch/pool_cache.py) brought up to date from the change feed, then ranked —
against ranking alone on an index of the same pool built once beforehand (the engine's own
figures are in bench/dispatch.py). Before every placement another session commits a change to
one technician (a location report, alternating with an accepted job), so each placement reads
the feed and one technician again: the busy case, not the idle one. Each placement also reads
the offers awaiting an answer (``--pending``, 500 by default), as the bot's does. The old way
— read every technician, derive, build, rank — is timed on a few jobs for reference.

    .venv/bin/python bench/dispatch_live.py                      # 10,000 technicians, SQLite
    .venv/bin/python bench/dispatch_live.py --db postgresql      # the machine's PostgreSQL
    .venv/bin/python bench/dispatch_live.py --techs 500          # a typical team
    .venv/bin/python bench/dispatch_live.py --techs 100000 --seeded /tmp/dl-seed --old-jobs 0
        # SQLite: seed once into /tmp/dl-seed/100000.db, later runs start from a copy of it
    .venv/bin/python bench/dispatch_live.py --profile /tmp/live.prof --jobs 50
        # cProfile of the timed placements after a change only (pstats / snakeviz to read)

The technicians are the engine bench's seeded random ones (dispatching/synthetic.py), stored as
staff rows. Prints p50 / p99 milliseconds per placement for both, and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import shutil
import statistics
import sys
import time

from sqlalchemy import select
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import bench_database  # noqa: E402
from handlers.dispatch.engine import TechnicianIndex  # noqa: E402
from handlers.dispatch.config import load_scoring_config as load_config  # noqa: E402
from handlers.dispatch.engine.synthetic import NOW, random_jobs, random_technicians  # noqa: E402
from handlers.dispatch.pool import load_pool  # noqa: E402
from handlers.dispatch.pool_cache import PoolCache  # noqa: E402
from models.dispatch import (ACCEPTED, ASSIGNED, OFFERED, OFFERING,  # noqa: E402
                             DispatchJob, Offer, pending_offers)
from models.tickets import Customer, Ticket  # noqa: E402
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


async def change_one(sm, i: int, people, customer: int) -> None:
    """Another writer: technician i reports a location, or (odd i) takes a job."""
    who = people[(i * 7919) % len(people)]
    async with write_session(sm, None) as s:
        if i % 2:
            t = Ticket(number=f"B{i}", customer_id=customer, title="bench", status="accepted",
                       assignee=who.id, created_at=NOW, updated_at=NOW)
            s.add(t)
            await s.flush()
            job = DispatchJob(ticket_id=t.id, mode="direct", status=ASSIGNED, assigned_to=who.id,
                              created_at=NOW, updated_at=NOW)
            s.add(job)
            await s.flush()
            s.add(Offer(job_id=job.id, ticket_id=t.id, technician=who.id, mode="direct",
                        status=ACCEPTED, offered_at=NOW, answered_at=NOW))
        else:
            row = (await s.execute(select(Staff).where(Staff.userid == who.id))).scalar_one()
            row.last_lat, row.last_lon, row.last_seen_at = 31.2 + i * 1e-4, 121.47, NOW


async def awaiting(sm, people, customer: int, n: int) -> None:
    """``n`` offers awaiting an answer, spread over the technicians: what a placement also
    reads (each technician's pending offers count against their capacity)."""
    async with write_session(sm, None) as s:
        t = Ticket(number="B-pending", customer_id=customer, title="bench", status="dispatched",
                   created_at=NOW, updated_at=NOW)
        s.add(t)
        await s.flush()
        job = DispatchJob(ticket_id=t.id, mode="direct", status=OFFERING, created_at=NOW,
                          updated_at=NOW)
        s.add(job)
        await s.flush()
        s.add_all(Offer(job_id=job.id, ticket_id=t.id, technician=people[(i * 104729) % len(
            people)].id, mode="direct", status=OFFERED, offered_at=NOW) for i in range(n))


async def seed(url: str, people) -> None:
    """The staff rows and the bench's customer (id 1), in a fresh database."""
    await asyncio.to_thread(migrate, url)
    engine = make_engine(url)
    async with write_session(make_sessionmaker(engine), None) as s:
        for i in range(0, len(people), 5000):
            s.add_all(staff_row(t) for t in people[i:i + 5000])
            await s.flush()
        s.add(Customer(name="bench", created_at=NOW))
    await engine.dispose()


async def prepare(url: str, people, seeded: str | None) -> int:
    """Seed ``url``'s database, or (``seeded``, SQLite) copy a template seeded once before."""
    if not seeded:
        await seed(url, people)
    else:
        if not url.startswith("sqlite:///"):
            raise SystemExit("--seeded works with SQLite only")
        template = Path(seeded) / f"{len(people)}.db"
        if not template.exists():
            template.parent.mkdir(parents=True, exist_ok=True)
            partial = template.with_suffix(".partial")
            partial.unlink(missing_ok=True)
            await seed(f"sqlite:///{partial}", people)
            partial.rename(template)
        shutil.copyfile(template, url.removeprefix("sqlite:///"))
    engine = make_engine(url)
    async with make_sessionmaker(engine)() as s:
        customer = (await s.execute(select(Customer.id).where(Customer.name == "bench"))).scalar()
    await engine.dispose()
    await asyncio.to_thread(migrate, url)  # a template from an older schema is brought up
    return customer


async def run(url: str, techs: int, jobs: int, old_jobs: int, seeded: str | None = None,
              profile: str | None = None, pending: int = 500) -> None:
    people = random_technicians(techs, seed=1)
    customer_id = await prepare(url, people, seeded)
    engine = make_engine(url)
    sm = make_sessionmaker(engine)
    await awaiting(sm, people, customer_id, pending)
    config = load_config()
    work = random_jobs(jobs, seed=2)
    cache = PoolCache(engine)
    t0 = time.perf_counter()
    await cache.current(NOW)
    first_read = time.perf_counter() - t0
    async with sm() as s:  # the same pool, read once: the ranking-alone baseline's index
        prebuilt = TechnicianIndex.build((await load_pool(s, NOW))[0])
    live, alone, idle, cpu, agree = [], [], [], [], 0
    prof = cProfile.Profile() if profile else None
    gc0 = [g["collections"] for g in gc.get_stats()]
    for i, job in enumerate(work):
        async with sm() as s:  # the handler's transaction, already open when it places
            await s.connection()
            t0 = time.perf_counter()
            (await cache.current(NOW, s)).index.rank(job, config, NOW, k=5,
                                                     offered=await pending_offers(s))
            idle.append(time.perf_counter() - t0)  # nothing changed since the last placement
        await change_one(sm, i, people, customer_id)
        async with sm() as s:
            await s.connection()
            if prof:
                prof.enable()
            c0, t0 = time.process_time(), time.perf_counter()
            (await cache.current(NOW, s)).index.rank(job, config, NOW, k=5,
                                                     offered=await pending_offers(s))
            t1 = time.perf_counter()
            cpu.append(time.process_time() - c0)
            if prof:
                prof.disable()
        prebuilt.rank(job, config, NOW, k=5)  # ranking alone, on the index built beforehand
        t2 = time.perf_counter()
        live.append(t1 - t0)
        alone.append(t2 - t1)
    collections = [g["collections"] - c for g, c in zip(gc.get_stats(), gc0)]
    if prof:
        prof.dump_stats(profile)
    async with sm() as s:  # the kept pool after all the changes is what a full read gives
        fresh = TechnicianIndex.build((await load_pool(s, NOW))[0])
    for job in work:
        a, b = (await cache.current(NOW)).index.rank(job, config, NOW, k=5), fresh.rank(
            job, config, NOW, k=5)
        agree += a.to_dict() == b.to_dict()
    old = []
    for job in work[:old_jobs]:
        t0 = time.perf_counter()
        async with sm() as s:
            pool, _ = await load_pool(s, NOW)
        TechnicianIndex.build(pool).rank(job, config, NOW, k=5)
        old.append(time.perf_counter() - t0)
    await engine.dispose()
    print(f"database             : {url.split(':')[0]}")
    print(f"technicians          : {techs:,} (staff rows)   jobs: {jobs}   offers awaiting an "
          f"answer (read by each placement): {pending}")
    print(f"first read (once)    : {first_read * 1000:.0f} ms")
    print(f"placement, 1 change  : p50 {pct(live, .5):.2f}  p99 {pct(live, .99):.2f}  "
          f"mean {statistics.mean(live) * 1000:.2f} ms   (target p99 <= "
          f"{'20 ms at 10,000' if techs <= 10_000 else '50 ms at 100,000'})")
    print(f"  its CPU (process)  : p50 {pct(cpu, .5):.2f}  p99 {pct(cpu, .99):.2f} ms   slowest: "
          + ", ".join(f"#{i} {t * 1000:.1f} ms" for t, i in sorted(
              ((t, i) for i, t in enumerate(live)), reverse=True)[:3]))
    print(f"placement, no change : p50 {pct(idle, .5):.2f}  p99 {pct(idle, .99):.2f} ms")
    print(f"rank alone ms        : p50 {pct(alone, .5):.3f}  p99 {pct(alone, .99):.3f}")
    print(f"ratio (bot / alone)  : p50 {pct(live, .5) / pct(alone, .5):.1f}x  "
          f"p99 {pct(live, .99) / pct(alone, .99):.1f}x")
    if old:
        print(f"old way (read all)   : p50 {pct(old, .5):.0f} ms over {len(old)} jobs  "
              f"({pct(old, .5) / pct(live, .5):.0f}x the kept pool)")
    print(f"same decision as a full read after {jobs} changes: {agree}/{jobs}")
    print(f"gc collections (gen 0/1/2) during the placements: {collections}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--techs", type=int, default=10_000)
    ap.add_argument("--jobs", type=int, default=200)
    ap.add_argument("--old-jobs", type=int, default=3, help="placements the old way (slow)")
    ap.add_argument("--pending", type=int, default=500,
                    help="offers awaiting an answer, which every placement reads")
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--seeded", metavar="DIR",
                    help="SQLite: seed DIR/<techs>.db once, then start each run from a copy")
    ap.add_argument("--profile", metavar="FILE",
                    help="cProfile the placements after a change into FILE")
    args = ap.parse_args()

    async def go() -> None:
        async with bench_database(args.db, args.pg) as (url, _):
            await run(url, args.techs, args.jobs, args.old_jobs, args.seeded, args.profile,
                      args.pending)

    asyncio.run(go())


if __name__ == "__main__":
    main()
