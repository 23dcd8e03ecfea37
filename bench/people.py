"""Benchmark: finding the people of a role (the dispatcher on duty, a workflow node's owners,
an escalation's recipients) among many technicians.

    .venv/bin/python bench/people.py [--techs 10000] [--db sqlite|postgresql] [--rounds 50]

``--techs`` technicians and two dispatchers are stored; then ``first_staff_with`` (dispatcher,
else supervisor, else manager — what every escalation asks) runs ``--rounds`` times, each in its
own session. Baseline in the same run: the same question answered as the bot did before,
every active person loaded as an object and their roles checked in Python.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import bench_database, database_arguments, ms_at, time_rounds  # noqa: E402


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--techs", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=50)
    database_arguments(ap)
    args = ap.parse_args()

    from sqlalchemy import select

    from handlers.dispatch.base import ESCALATE_TO
    from handlers.dispatch.engine.synthetic import random_technicians
    from models.db import make_engine, make_sessionmaker, migrate, write_session
    from models.ticketing import first_staff_with
    from models.tickets import Staff

    async def before(session) -> list[Staff]:  # the old way: everyone, then Python
        everyone = list((await session.execute(select(Staff).where(Staff.active.is_(True))
                                               .order_by(Staff.id))).scalars())
        for role in ESCALATE_TO:
            if found := [s for s in everyone if role in (s.roles or [])]:
                return found
        return []

    async with bench_database(args.db, args.pg_url) as (url, _tmp):
        await asyncio.to_thread(migrate, url)
        engine = make_engine(url)
        sm = make_sessionmaker(engine)
        async with write_session(sm, None) as s:
            s.add_all(Staff(userid=t.id, name=t.name, roles=["technician"],
                            skills=dict(t.skills), regions=list(t.regions), active=True)
                      for t in random_technicians(args.techs, seed=1))
            s.add_all([Staff(userid="disp0", name="调度甲", roles=["dispatcher"]),
                       Staff(userid="disp1", name="调度乙", roles=["technician", "dispatcher"])])

        async def new_way(s) -> list[str]:
            return [p.userid for p in await first_staff_with(s, ESCALATE_TO)]

        async def old_way(s) -> list[str]:
            return [p.userid for p in await before(s)]

        new, found = await time_rounds(sm, args.rounds, new_way)
        old, found_old = await time_rounds(sm, args.rounds, old_way)
        await engine.dispose()

    print(f"the dispatcher among {args.techs:,} technicians ({args.db}, {args.rounds} rounds): "
          f"found {found}; the old way found {found_old}")
    print(f"  database picks them : p50 {ms_at(new, .5):7.1f} ms  p99 {ms_at(new, .99):7.1f} ms")
    print(f"  baseline, load all  : p50 {ms_at(old, .5):7.1f} ms  p99 {ms_at(old, .99):7.1f} ms")
    print(f"  ratio (baseline / new, p50): {statistics.median(old) / statistics.median(new):.0f}x")
    if found != found_old:
        raise SystemExit("the two ways disagree")


if __name__ == "__main__":
    asyncio.run(main())
