"""What the benchmarks share: test credentials, a throw-away database, the bot as a process."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "QDG6eK"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
CORP_ID = "wwbench000000001"
SECRET = "bench-secret-0123456789abcdef0123456789abcd"
AGENT_ID = "1000002"


def database_arguments(ap: Any) -> None:
    """``--db sqlite|postgresql`` and ``--pg-url``: which database a bench runs on
    (``bench_database`` makes a fresh one of that kind)."""
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")


async def time_rounds(sm: Any, rounds: int, ask: Any) -> tuple[list[float], Any]:
    """``await ask(session)`` ``rounds`` times, each in its own session: the seconds each took
    and the last answer."""
    times, answer = [], None
    for _ in range(rounds):
        async with sm() as s:
            t0 = time.perf_counter()
            answer = await ask(s)
            times.append(time.perf_counter() - t0)
    return times, answer


def ms_at(xs: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of ``xs`` seconds, in milliseconds."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_up(url: str, proc: asyncio.subprocess.Process) -> None:
    """Wait for a starting server process to answer /healthz."""
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            if proc.returncode is not None:
                raise SystemExit(f"server exited with {proc.returncode}")
            try:
                async with http.get(url + "/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise SystemExit("server did not start")


@asynccontextmanager
async def bench_database(kind: str, pg_url: str) -> AsyncIterator[tuple[str, str]]:
    """A fresh database (SQLite file or PostgreSQL database) and a work directory; removed after."""
    tmp = tempfile.TemporaryDirectory(prefix="bench-")
    name = f"bench_{os.getpid()}"
    if kind == "postgresql":
        import psycopg
        from sqlalchemy.engine import make_url

        # psycopg takes a plain postgresql:// URL; the database's own keeps any driver and query
        server = make_url(pg_url)
        pg_url = server.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(pg_url, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            c.execute(f'CREATE DATABASE "{name}"')
        url = server.set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tmp.name}/bot.db"
    try:
        yield url, tmp.name
    finally:
        tmp.cleanup()
        if kind == "postgresql":
            import psycopg

            with psycopg.connect(pg_url, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def bot_process(db_url: str, api_base: str, cwd: str,
                      **env: str) -> AsyncIterator[str]:
    """``main.py serve`` with the bench credentials; yields its URL once healthy."""
    port = free_port()
    full_env = {**os.environ, "WECOM_CORP_ID": CORP_ID, "WECOM_AGENT_ID": AGENT_ID,
                "WECOM_SECRET": SECRET, "WECOM_TOKEN": TOKEN, "WECOM_AES_KEY": AES_KEY,
                "WECOM_API_BASE": api_base, "DATABASE_URL": db_url, "PORT": str(port),
                "LOG_LEVEL": "WARNING", **env}
    proc = await asyncio.create_subprocess_exec(sys.executable, str(ROOT / "main.py"), "serve",
                                                env=full_env, cwd=cwd)
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_up(url, proc)
        yield url
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            await proc.wait()


@asynccontextmanager
async def worker_process(db_url: str, api_base: str, cwd: str, command: str = "worker",
                         **env: str) -> AsyncIterator[None]:
    """``main.py worker`` (handlers, timers, sender; no listener) beside an ingest process, or
    ``main.py sender`` beside a worker with RUN_SENDER=false."""
    full_env = {**os.environ, "WECOM_CORP_ID": CORP_ID, "WECOM_AGENT_ID": AGENT_ID,
                "WECOM_SECRET": SECRET, "WECOM_TOKEN": TOKEN, "WECOM_AES_KEY": AES_KEY,
                "WECOM_API_BASE": api_base, "DATABASE_URL": db_url, "LOG_LEVEL": "INFO",
                "LOG_FORMAT": "text", **env}
    proc = await asyncio.create_subprocess_exec(sys.executable, str(ROOT / "main.py"), command,
                                                env=full_env, cwd=cwd,
                                                stderr=asyncio.subprocess.PIPE)
    try:
        while True:
            line = (await proc.stderr.readline()).decode()
            if not line:
                raise SystemExit(f"{command} exited with {await proc.wait()}")
            if f"{command} running" in line:
                break

        async def drain() -> None:  # keep its log flowing so the pipe never fills
            while await proc.stderr.readline():
                pass

        drainer = asyncio.create_task(drain())
        yield
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            await proc.wait()
        if "drainer" in locals():
            await drainer


def seed_history(url: str, n: int) -> None:
    """What a year of service leaves behind, so lookups that scan a table show it: ``n``
    customers (each with a phone and a WeCom identity), ``n`` closed tickets at their own
    addresses, 3·``n`` handled inbox messages, ``n`` dispatch jobs with an accepted offer and
    ``n`` finished drafts, and each ticket's two SLA clocks, met. None of it matches the run's
    reporters, phones or addresses."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import create_engine, insert, pool

    from models.db import sync_url
    from models.dispatch import DispatchJob, Offer
    from models.sla import DONE, SlaClock
    from models.tables import InboxEvent
    from models.tickets import Customer, CustomerIdentity, Draft, Ticket

    now = datetime.now(UTC)
    start = now - timedelta(days=365)
    at = [start + timedelta(seconds=i * 365 * 86400 // max(n, 1)) for i in range(n)]
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    step = 5000

    def rows(table: Any, make: Any, count: int) -> None:
        for lo in range(0, count, step):
            with engine.begin() as c:
                c.execute(insert(table.__table__), [make(i) for i in range(lo, min(count, lo + step))])

    try:
        rows(Customer, lambda i: dict(id=i + 1, name=f"客户{i}", phone=f"137{i:08d}",
                                      created_at=at[i]), n)
        rows(CustomerIdentity, lambda i: dict(customer_id=i + 1, kind="userid",
                                              value=f"hist{i:07d}", created_at=at[i]), n)
        rows(Ticket, lambda i: dict(
            id=i + 1, number=f"GDH{i:07d}", status="closed", customer_id=i + 1,
            category="coffee", title="咖啡机不出水", description="咖啡机不出水", fields={},
            phone=f"137{i:08d}", address=f"北京市朝阳区建国路{i}号", channel="app",
            conversation_key=f"app:hist{i:07d}", reporter=f"hist{i:07d}", assignee=f"h{i % 500}",
            created_at=at[i], updated_at=at[i], version=1,
            resolved_at=min(at[i] + timedelta(hours=5), now),
            closed_at=min(at[i] + timedelta(days=1), now)), n)
        rows(InboxEvent, lambda i: dict(
            dedupe_key=f"hist-{i}", channel="app", kind="message", type="text",
            conversation_key=f"app:hist{i // 3:07d}", sender=f"hist{i // 3:07d}", payload={},
            status="done", received_at=at[i // 3], next_attempt_at=at[i // 3]), 3 * n)
        rows(DispatchJob, lambda i: dict(id=i + 1, ticket_id=i + 1, mode="direct", status="done",
                                         escalated_to=[], created_at=at[i], updated_at=at[i]), n)
        rows(Offer, lambda i: dict(job_id=i + 1, ticket_id=i + 1, technician=f"h{i % 500}",
                                   mode="direct", status="accepted", offered_at=at[i],
                                   answered_at=at[i] + timedelta(minutes=3)), n)
        rows(SlaClock, lambda i: dict(
            ticket_id=i // 2 + 1, metric=("first_response", "resolution")[i % 2], status=DONE,
            started_at=at[i // 2], yellow_at=at[i // 2] + timedelta(hours=3),
            due_at=at[i // 2] + timedelta(hours=4), met_at=at[i // 2] + timedelta(hours=2),
            created_at=at[i // 2], updated_at=at[i // 2]), 2 * n)
        rows(Draft, lambda i: dict(conversation_key=f"app:hist{i:07d}", sender=f"hist{i:07d}",
                                   channel="app", customer_id=i + 1, status="done", fields={},
                                   description="咖啡机不出水", ticket_id=i + 1, created_at=at[i],
                                   updated_at=at[i]), n)
        if engine.dialect.name == "postgresql":  # the ids above were given, not drawn
            with engine.begin() as c:
                for table in ("customer", "ticket", "dispatch_job"):
                    c.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                      f"(SELECT max(id) FROM {table}))")
    finally:
        engine.dispose()
