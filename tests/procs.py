"""Real bot processes for tests: start ``main.py`` with the test credentials, wait, stop."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import sys
from pathlib import Path

import aiohttp
from sqlalchemy import create_engine, text

from models.db import sync_url
from models.spool import spool_path
from tests.conftest import ROOT, TEST_AES_KEY, TEST_CORP_ID, TEST_SECRET, TEST_TOKEN

MAIN = str(ROOT / "main.py")


def query(db_url: str, sql: str) -> list:
    """Rows of one statement, on a connection of its own (the bot runs in other processes)."""
    eng = create_engine(sync_url(db_url))
    try:
        with eng.connect() as c:
            return list(c.execute(text(sql)).all())
    finally:
        eng.dispose()


def unhandled(db_url: str) -> int:
    """Callbacks acked and not yet handled: pending in the inbox, or still in the ingest's spool
    (SQLite, models/spool.py) waiting for a worker to move them in."""
    path = spool_path(db_url)  # the spool first: a move in between counts rows twice, not never
    spooled = query(f"sqlite:///{path}", "SELECT count(*) FROM inbox")[0][0] if (
        path and path.exists()) else 0
    return spooled + query(db_url, "SELECT count(*) FROM inbox WHERE status = 'pending'")[0][0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WECOM_", "AIBOT_", "DATABASE_", "PORT", "HOST", "SANDBOX_"))}
    env.update(extra)
    return env


def bot_env(db_url: str, sandbox_url: str, port: int, **env: str) -> dict[str, str]:
    return clean_env(WECOM_CORP_ID=TEST_CORP_ID, WECOM_AGENT_ID="218", WECOM_SECRET=TEST_SECRET,
                     WECOM_TOKEN=TEST_TOKEN, WECOM_AES_KEY=TEST_AES_KEY,
                     WECOM_API_BASE=sandbox_url, DATABASE_URL=db_url, PORT=str(port), **env)


async def wait_healthy(url: str, proc, timeout: float = 30.0) -> None:
    """Wait for the process to answer /healthz (it is starting: migrations, sockets)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with aiohttp.ClientSession() as http:
        while loop.time() < deadline:
            if proc.returncode is not None:
                raise AssertionError(f"bot exited early with {proc.returncode}")
            try:
                async with http.get(f"{url}/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)  # polling a starting process, not waiting for time to pass
    raise AssertionError("bot did not become healthy")


async def spawn_bot(db_url: str, sandbox_url: str, port: int, cwd: Path, *,
                    command: str = "serve", **env: str):
    """``main.py <command>`` as a child process (not waited for)."""
    return await asyncio.create_subprocess_exec(
        sys.executable, MAIN, command, cwd=cwd, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=bot_env(db_url, sandbox_url, port, **env))


async def start_bot(db_url: str, sandbox_url: str, port: int, cwd: Path, **env: str):
    proc = await spawn_bot(db_url, sandbox_url, port, cwd, **env)
    await wait_healthy(f"http://127.0.0.1:{port}", proc)
    return proc


async def start_worker(db_url: str, sandbox_url: str, cwd: Path, command: str = "worker",
                       **env: str):
    """``main.py worker`` (or ``sender``): no listener; ready once it logs that it runs."""
    proc = await spawn_bot(db_url, sandbox_url, 0, cwd, command=command, LOG_FORMAT="text",
                           **env)
    while True:
        line = (await asyncio.wait_for(proc.stderr.readline(), 30)).decode()
        if not line:
            raise AssertionError(f"{command} exited early with {await proc.wait()}")
        if f"{command} running" in line:
            return proc


async def stop_all(procs, engine=None, sandbox=None) -> None:
    """Stop the bot processes (SIGTERM to all, as an operator would), then the engine and
    sandbox. One that has not exited 30 s later is killed, and the test fails saying so: it
    must not outlive its test, where it would take the next tests' events from the shared
    database."""
    running = [p for p in procs if p.returncode is None]
    for p in running:
        p.send_signal(signal.SIGTERM)
    # Every process's pipes are read from now on (a full pipe would block its logging), each
    # in a task that keeps what it read when the wait for it times out.
    outputs = [asyncio.ensure_future(p.communicate()) for p in running]
    stuck = []
    for p, out in zip(running, outputs):
        try:
            await asyncio.wait_for(asyncio.shield(out), 30)
        except TimeoutError:
            stacks = await _stacks(p.pid)
            p.kill()
            _, err = await out
            stuck.append(f"pid {p.pid}: " + (err or b"").decode(errors="replace")[-6000:]
                         + stacks)
            continue
        if p.returncode != 0:  # 1: its own stop watch ended it (bot/shutdown.py), stacks in err
            _, err = out.result()
            stuck.append(f"pid {p.pid} exited {p.returncode}: "
                         + (err or b"").decode(errors="replace")[-8000:])
    if engine is not None:
        await engine.dispose()
    if sandbox is not None:
        await sandbox.stop()
    assert not stuck, "bot processes did not stop cleanly on SIGTERM:\n" + "\n".join(stuck)


async def _stacks(pid: int) -> str:
    """Where a stuck process is (py-spy, when this machine has it): for the failure message."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        return ""
    proc = await asyncio.create_subprocess_exec(spy, "dump", "--locals", "--pid", str(pid),
                                                stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 20)
    except TimeoutError:
        proc.kill()
        return "\n(py-spy dump timed out)"
    return "\npy-spy dump:\n" + out.decode(errors="replace")[-8000:]
