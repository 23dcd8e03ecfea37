"""How long the handler's write transaction is held per event, this code against an earlier one,
in the same run: the restructure moved the text analysis (jieba) and the technician-pool read
out of the transaction into the ``prepare`` step (on SQLite the transaction is the one writer).

    .venv/bin/python bench/tx_time.py [--before f2afb1d] [--messages 40] [--techs 10000]
                                      [--history N] [--db-url URL] [--calls]

For each revision (``--before`` checked out into a temporary git worktree, and the working tree)
a child process runs the bot in-process against the sandbox, times every write transaction the
inbox worker opens (``bot.worker.write_session``, per event type), and answers:

* ``e2e``: ``--messages`` store employees report a problem and confirm it (two text messages
  each) — the analysis of each text;
* ``dispatch``: the same with ``--techs`` technicians stored — each confirmed ticket's
  ``ticket_created`` event places it among them (the pool read).

With ``--history N`` the database first gets a year of someone else's history (N customers,
tickets, jobs and drafts, 3·N inbox messages): a lookup that scans a whole table is cheap on
an empty database and shows only here.

Prints p50 / p99 / mean milliseconds of the write transaction per event type, the mean CPU
time this process spent meanwhile (steadier than wall time on a shared machine) and the mean
number of SQL statements it ran, before and after, and the ratios. CPU time moves by ±10 %
between two runs of the same code on a shared machine; ``--calls`` adds a figure that hardly
does (two runs agreed within 0.1 %): the Python and C function calls the transaction's own
task made, from the claim to its last statement (a profile hook on the event loop's thread).
Not in it: the session's closing flush and COMMIT (the done mark, the transaction's last
statement, has flushed what was pending), and what SQLite's C code does. A coroutine's every
resumption also counts as a call, so waiting more often (at the write gate, for PostgreSQL)
adds a few: run with ``--users-at-once 1`` for it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REPORT = "上海市浦东新区张江路{n}号 咖啡机坏了 139{n:08d} 明天上午"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# -- the child: one revision, in-process --------------------------------------------------


async def child(args) -> dict:
    import bot.worker as worker_module
    from bot.sandbox.server import Sandbox
    from main import BotRuntime
    from models.db import make_engine, make_sessionmaker, migrate, write_session
    from models.tickets import Staff
    from tests.conftest import (TEST_AES_KEY, TEST_CORP_ID, TEST_SECRET, TEST_TOKEN,
                                make_settings)

    kind = contextvars.ContextVar("kind", default="?")
    durations: dict[str, list[float]] = defaultdict(list)
    statements: dict[str, list[int]] = defaultdict(list)  # per transaction, by event type
    cpu: dict[str, list[float]] = defaultdict(list)  # this process's CPU seconds in it
    counting: dict[int, list[Any]] = {}  # id(connection) -> [statements so far, their SQL]
    shown: dict[str, list[str]] = {}  # --show-sql: one transaction's statements per event type
    calls: dict[str, list[int]] = defaultdict(list)  # --calls: Python and C calls in it
    active: dict[Any, list[int]] = {}  # --calls: task with a transaction open -> its count
    real_ws = worker_module.write_session

    @contextlib.asynccontextmanager
    async def timed(*a, **kw):
        async with real_ws(*a, **kw) as session:
            conn = (await session.connection()).sync_connection
            counting[id(conn)] = n = [0, []]
            active[asyncio.current_task()] = c = [0]
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                yield session
            finally:
                counting.pop(id(conn), None)
                active.pop(asyncio.current_task(), None)
            durations[kind.get()].append(time.perf_counter() - t0)  # to the commit
            cpu[kind.get()].append(time.process_time() - c0)
            statements[kind.get()].append(n[0])
            calls[kind.get()].append(c[0])
            if len(n[1]) > len(shown.get(kind.get(), [])):
                shown[kind.get()] = n[1]

    def count(conn, cursor, statement, *_):
        n = counting.get(id(conn))
        if n is not None:
            n[0] += 1
            n[1].append(" ".join(statement.split())[:150])

    real_process = worker_module.InboxWorker.process

    async def process(self, row):
        token = kind.set(row.type)
        try:
            return await real_process(self, row)
        finally:
            kind.reset(token)

    worker_module.write_session = timed
    worker_module.InboxWorker.process = process

    from bench.common import bench_database

    # PostgreSQL: a fresh database per run (each revision's, each scenario's), made from the
    # server of --db-url; SQLite: a fresh file, or --db-url's own
    pg = args.db_url.startswith("postgres")
    async with bench_database("postgresql" if pg else "sqlite", args.db_url) as (fresh, _):
        url = fresh if pg or not args.db_url else args.db_url
        await asyncio.to_thread(migrate, url)
        if args.history:
            from bench.common import seed_history
            await asyncio.to_thread(seed_history, url, args.history)
        if args.scenario == "dispatch":
            try:
                from handlers.dispatch.engine.synthetic import random_technicians
            except ImportError:  # the layout before the restructure
                from dispatching.synthetic import random_technicians
            engine = make_engine(url)
            async with write_session(make_sessionmaker(engine), None) as s:
                s.add_all(Staff(
                    userid=t.id, name=t.name, roles=["technician"], skills=dict(t.skills),
                    regions=list(t.regions), home_lat=t.home.lat, home_lon=t.home.lon,
                    shifts=[{"days": "daily", "start": "00:00", "end": "24:00"}],
                    capacity=t.capacity, rating=t.rating, active=True)
                    for t in random_technicians(args.techs, seed=1))
            await engine.dispose()
        sandbox = Sandbox(corp_id=TEST_CORP_ID, agent_id=218, secret=TEST_SECRET,
                          app_token=TEST_TOKEN, app_aes_key=TEST_AES_KEY)
        base = await sandbox.start()
        bot = BotRuntime(make_settings(url, WECOM_API_BASE=base, LOG_LEVEL="ERROR"))
        await bot.start()
        from sqlalchemy import event as sa_event
        sa_event.listen(bot.engine.sync_engine, "before_cursor_execute", count)
        bot.worker.batch = 1  # one event per transaction, so each is timed and counted alone
        sandbox.bot_url = bot.url
        current_task = asyncio.current_task

        def profile(frame, event, arg):  # counts what the transaction's own task runs
            if event == "call" or event == "c_call":
                c = active.get(current_task())
                if c is not None:
                    c[0] += 1

        if args.calls:  # the loop's thread only: BEGIN and COMMIT run in the connection's
            sys.setprofile(profile)
        try:
            async def user(i: int) -> None:
                u = f"tx{i:04d}"
                for text, lines in ((REPORT.format(n=i), 1), ("确认", 2)):
                    before = len(sandbox.delivered(f"app:{u}"))
                    await sandbox.member_says(u, text)
                    await sandbox.wait_until(
                        lambda: len(sandbox.delivered(f"app:{u}")) >= before + lines, 60)

            step = max(1, args.users_at_once)
            for start in range(0, args.messages, step):
                await asyncio.gather(*(user(i) for i in range(start,
                                                              min(start + step, args.messages))))
            await sandbox.wait_until(lambda: len(durations.get("ticket_created", [])) >=
                                     args.messages, 120, "every ticket_created handled")
        finally:
            sys.setprofile(None)
            await bot.stop()
            await sandbox.stop()
    if args.show_sql:
        for k, sql in shown.items():
            print(f"-- {k}: {len(sql)} statements", *sql, sep="\n", file=sys.stderr)
    return {"durations": dict(durations), "statements": dict(statements), "cpu": dict(cpu),
            "calls": dict(calls)}


# -- the parent: both revisions, side by side ----------------------------------------------


def run_child(tree: Path, scenario: str, args) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}  # run as a module from the tree: its own code
    out = subprocess.run(
        [sys.executable, "-m", "bench.tx_time", "--child", scenario,
         "--messages", str(args.messages), "--techs", str(args.techs),
         "--users-at-once", str(args.users_at_once), "--history", str(args.history)]
        + (["--db-url", args.db_url] if args.db_url else [])
        + (["--show-sql"] if args.show_sql else []) + (["--calls"] if args.calls else []),
        cwd=tree, env=env, capture_output=True, text=True, timeout=3600)
    if out.returncode != 0:
        raise SystemExit(f"{tree}: {scenario} failed:\n{out.stderr[-3000:]}")
    if args.show_sql:
        first = re.search(r"(?m)^-- ", out.stderr)
        sql = out.stderr[first.start():] if first else ""
        print(f"\n== {tree.name} {scenario}\n{sql}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def stats(xs: list[float]) -> str:
    if not xs:
        return "—"
    s = sorted(xs)
    return (f"p50 {s[len(s) // 2] * 1000:7.1f}  p99 {s[min(len(s) - 1, int(.99 * len(s)))] * 1000:7.1f}"
            f"  mean {statistics.mean(s) * 1000:7.1f} ms  (n={len(s)})")


def _ms(xs: list[float]) -> str:
    return f"{statistics.mean(xs) * 1000:6.1f} ms" if xs else "—"


def _mean(xs: list[int]) -> str:
    return f"{statistics.mean(xs):5.1f}" if xs else "—"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", default="f2afb1d", help="the earlier revision (git)")
    ap.add_argument("--messages", type=int, default=40)
    ap.add_argument("--techs", type=int, default=10_000)
    ap.add_argument("--history", type=int, default=0,
                    help="seed a year of history first: this many customers, tickets, jobs and "
                         "drafts, three times as many inbox messages")
    ap.add_argument("--db-url", default="",
                    help="default: a fresh SQLite file per run; postgresql://…: a fresh "
                         "database on that server per run")
    ap.add_argument("--users-at-once", type=int, default=10,
                    help="1: one user at a time, so no other event's work falls into a "
                         "transaction's CPU time")
    ap.add_argument("--show-sql", action="store_true",
                    help="print the longest transaction's statements per event type")
    ap.add_argument("--calls", action="store_true",
                    help="also count the Python and C function calls each transaction makes: "
                         "the same for the same work whatever else the machine does (a "
                         "profile hook: time and CPU figures are then inflated)")
    ap.add_argument("--child", choices=("e2e", "dispatch"), help=argparse.SUPPRESS)
    ap.add_argument("--scenario", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        args.scenario = args.child
        print(json.dumps(asyncio.run(child(args))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "before"
        subprocess.run(["git", "worktree", "add", "--detach", str(old), args.before],
                       cwd=ROOT, check=True, capture_output=True)
        # the earlier tree runs this same script (it may predate it) with its own code
        for name in ("tx_time.py", "common.py"):
            (old / "bench" / name).write_text((ROOT / "bench" / name).read_text(encoding="utf-8"),
                                              encoding="utf-8")
        try:
            for scenario in ("e2e", "dispatch"):
                before = run_child(old, scenario, args)
                after = run_child(ROOT, scenario, args)
                print(f"\n{scenario}: write transaction per event ({args.messages} users"
                      + (f", {args.techs:,} technicians" if scenario == "dispatch" else "") + ")")
                for kind in ("text", "ticket_created"):
                    b, a = before["durations"].get(kind, []), after["durations"].get(kind, [])
                    ratio = (statistics.mean(a) / statistics.mean(b)) if a and b else float("nan")
                    sb = before["statements"].get(kind, [])
                    sa = after["statements"].get(kind, [])
                    cb, ca = before["cpu"].get(kind, []), after["cpu"].get(kind, [])
                    cratio = statistics.mean(ca) / statistics.mean(cb) if ca and cb else float("nan")
                    print(f"  {kind:15} before {stats(b)}  cpu {_ms(cb)}  statements {_mean(sb)}")
                    print(f"  {'':15} after  {stats(a)}  cpu {_ms(ca)}  statements {_mean(sa)}"
                          f"   after/before: time {ratio:.2f}, cpu {cratio:.2f}")
                    kb, ka = before.get("calls", {}).get(kind), after.get("calls", {}).get(kind)
                    if args.calls and kb and ka:
                        print(f"  {'':15} calls per transaction: before {statistics.mean(kb):,.0f}"
                              f", after {statistics.mean(ka):,.0f}, after/before "
                              f"{statistics.mean(ka) / statistics.mean(kb):.3f}")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT,
                           capture_output=True)


if __name__ == "__main__":
    main()
