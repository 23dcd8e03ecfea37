"""What the benchmarks share: test credentials, a throw-away database, the bot as a process."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "QDG6eK"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
CORP_ID = "wwbench000000001"
SECRET = "bench-secret-0123456789abcdef0123456789abcd"
AGENT_ID = "1000002"


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

        with psycopg.connect(pg_url, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            c.execute(f'CREATE DATABASE "{name}"')
        url = pg_url.rsplit("/", 1)[0] + "/" + name
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
async def worker_process(db_url: str, api_base: str, cwd: str, **env: str) -> AsyncIterator[None]:
    """``main.py worker`` (handlers, timers, sender; no listener) beside an ingest process."""
    full_env = {**os.environ, "WECOM_CORP_ID": CORP_ID, "WECOM_AGENT_ID": AGENT_ID,
                "WECOM_SECRET": SECRET, "WECOM_TOKEN": TOKEN, "WECOM_AES_KEY": AES_KEY,
                "WECOM_API_BASE": api_base, "DATABASE_URL": db_url, "LOG_LEVEL": "INFO",
                "LOG_FORMAT": "text", **env}
    proc = await asyncio.create_subprocess_exec(sys.executable, str(ROOT / "main.py"), "worker",
                                                env=full_env, cwd=cwd,
                                                stderr=asyncio.subprocess.PIPE)
    try:
        while True:
            line = (await proc.stderr.readline()).decode()
            if not line:
                raise SystemExit(f"worker exited with {await proc.wait()}")
            if "worker running" in line:
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
