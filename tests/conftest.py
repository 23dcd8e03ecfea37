"""Shared fixtures: no network beyond loopback, both databases, the sandbox and the bot."""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import subprocess
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# A copy of ../shared/wecom/vectors.json (official WeCom vectors A, B and derived F), kept in the
# repo so a clone tests on its own; test_vectors_copy_is_current checks it against shared/.
VECTORS = json.loads((ROOT / "tests" / "data" / "wecom_vectors.json").read_text())
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")


def vector(vid: str) -> dict:
    for v in VECTORS:
        if v["id"] == vid:
            return v
    pytest.fail(f"official vector {vid} not found in ../shared/wecom/vectors.json")


# -- no network beyond loopback -------------------------------------------------------------

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check(sock: socket.socket, address) -> None:
    if sock.family == socket.AF_UNIX:
        return
    host = address[0]
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        if host == "localhost":
            return
        raise AssertionError(f"test tried to reach {host!r}: only loopback is allowed")
    if not ip.is_loopback:
        raise AssertionError(f"test tried to reach {host}: only loopback is allowed")


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    def connect(self, address):
        _check(self, address)
        return _real_connect(self, address)

    def connect_ex(self, address):
        _check(self, address)
        return _real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


@pytest.fixture(autouse=True)
def _drop_aiohttp_handler_cache():
    """aiohttp keeps the middleware chain of up to 1,024 (handler, apps) pairs in a
    module-level LRU cache (``web_app._cached_build_middleware``, aiohttp PR #9158). One bot per
    process never notices; here every test's bot stays reachable through it (its engines,
    compiled statements, pools: 5.5 million objects by the end of the suite), and the
    collector's full passes over them stalled the event loop 2-4 s, longer than the sandbox
    client's timeout: a 微信客服 send answered after it was sent again (at least once), and a
    journey saw the 接单 notice twice. Emptied after each test."""
    yield
    from aiohttp import web_app

    cache = getattr(web_app, "_cached_build_middleware", None)
    if cache is not None:
        cache.cache_clear()


# -- databases ------------------------------------------------------------------------------


def _pg_up() -> bool:
    import psycopg

    try:
        psycopg.connect(PG_ADMIN_URL, connect_timeout=3).close()
        return True
    except psycopg.OperationalError:
        return False


def ensure_postgres() -> None:
    """Start the machine's PostgreSQL if it is down; fail (never skip) if it cannot start."""
    if _pg_up():
        return
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if versions:
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main",
                        "start"], check=False, capture_output=True, timeout=60)
    if not _pg_up():
        pytest.fail("PostgreSQL is not reachable at " + PG_ADMIN_URL + " and could not be started")


@pytest.fixture(scope="session")
def pg_database():
    """A fresh PostgreSQL database for this test session, migrated once, dropped at the end."""
    import psycopg

    from models.db import migrate

    ensure_postgres()
    name = f"wo_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    migrate(url)
    yield url
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _truncate_pg(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname='public' "
            "AND tablename NOT IN ('alembic_version', 'region')")]  # keep reference data
        if tables:
            conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) +
                         " RESTART IDENTITY CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """Every test using this runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        from models.db import migrate

        url = f"sqlite:///{tmp_path / 'bot.db'}"
        migrate(url)
        return url
    url = request.getfixturevalue("pg_database")
    _truncate_pg(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path):
    from models.db import migrate

    url = f"sqlite:///{tmp_path / 'bot.db'}"
    migrate(url)
    return url


# -- the sandbox and the bot ----------------------------------------------------------------

TEST_TOKEN = "QDG6eK"
TEST_AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
TEST_CORP_ID = "wx5823bf96d3bd56c7"
TEST_SECRET = "sandbox-secret-0123456789abcdef0123456789abc"


def make_settings(db_url: str, **over):
    from bot.settings import Settings

    values = dict(WECOM_CORP_ID=TEST_CORP_ID, WECOM_AGENT_ID=218, WECOM_SECRET=TEST_SECRET,
                  WECOM_TOKEN=TEST_TOKEN, WECOM_AES_KEY=TEST_AES_KEY, AIBOT_TOKEN=TEST_TOKEN,
                  AIBOT_AES_KEY=TEST_AES_KEY, DATABASE_URL=db_url, PORT=0, LOG_FORMAT="text",
                  GROUPS_CONFIG=str(ROOT / "config" / "sandbox" / "groups.yaml"))
    values.update(over)
    return Settings(_env_file=None, **values)


async def no_sleep(_seconds: float) -> None:
    """Backoff sleeps in the client are injected: tests do not wait."""


class Stack:
    """The sandbox and the bot in one process, driven by hand (no background loops)."""

    def __init__(self, bot, sandbox, clock) -> None:
        self.bot, self.sandbox, self.clock = bot, sandbox, clock

    async def settle(self, rounds: int = 5000) -> None:
        """Handle everything in the inbox and send everything due in the outbox."""
        for _ in range(rounds):
            await self.bot.timers.tick()
            handled = await self.bot.worker.drain()
            sent = await self.bot.sender.run_once()
            if not handled and not sent:
                return

    async def rows(self, model, *where):
        """Rows of ``model`` (a table) matching ``where``, in id order."""
        from sqlmodel import select

        async with self.bot.sm() as s:
            return list((await s.execute(select(model).where(*where).order_by(model.id))
                         ).scalars())

    def said(self, conversation: str) -> list[str]:
        """What the bot said in ``conversation`` (not its cards), as people read it: without
        the invisible mark that keeps a repeated text apart for WeCom's duplicate check."""
        from bot.outbox import DISTINCT_MARK

        def text(content):
            if isinstance(content, dict):  # a group robot's post: {"content": …}
                content = content.get("content", "")
            return content.replace(DISTINCT_MARK, "") if isinstance(content, str) else content

        return [text(ln.content) for ln in self.sandbox.delivered(conversation)
                if ln.kind != "card"]

    def cards(self, user: str):
        """The cards an app member was sent."""
        return [ln for ln in self.sandbox.delivered(f"app:{user}") if ln.kind == "card"]

    async def inbox(self):
        from sqlmodel import select

        from models.tables import InboxEvent

        async with self.bot.sm() as s:
            return list((await s.execute(select(InboxEvent).order_by(InboxEvent.id))).scalars())

    async def outbox(self):
        from sqlmodel import select

        from models.tables import OutboxMessage

        async with self.bot.sm() as s:
            return list((await s.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())


_ANALYZER = None


def shared_analyzer():
    """One loaded analyzer for the whole session (loading jieba takes most of a second)."""
    global _ANALYZER
    if _ANALYZER is None:
        from nlp.analyzer import Analyzer

        _ANALYZER = Analyzer.load()
    return _ANALYZER


async def start_stack(db_url: str, *, loops: bool = False, spool: bool = False,
                      **settings_over) -> Stack:
    from datetime import UTC, datetime

    from bot.sandbox.server import Sandbox
    from main import BotRuntime
    from scheduler.clock import ManualClock

    clock = ManualClock(datetime(2026, 11, 25, 2, 0, tzinfo=UTC))
    sandbox = Sandbox(corp_id=TEST_CORP_ID, agent_id=218, secret=TEST_SECRET,
                      app_token=TEST_TOKEN, app_aes_key=TEST_AES_KEY, aibot_token=TEST_TOKEN,
                      aibot_aes_key=TEST_AES_KEY, clock=clock)
    base = await sandbox.start()
    settings = make_settings(db_url, WECOM_API_BASE=base, **settings_over)
    bot = BotRuntime(settings, clock=clock, run_worker=loops, run_sender=loops,
                     # the client's own 10 s timeout, as deployed; a test about timeouts
                     # sets a shorter one itself (tests/reliability/test_delivery.py)
                     client_kwargs={"sleep": no_sleep},
                     analyzer=shared_analyzer(), spool=spool)
    await bot.start()
    sandbox.bot_url = bot.url
    return Stack(bot, sandbox, clock)


@pytest.fixture
async def stack(db_url):
    st = await start_stack(db_url)
    yield st
    await st.bot.stop()
    await st.sandbox.stop()


@pytest.fixture
async def st(db_url):
    """The bot and its sandbox with the sandbox's own people and stores (config/sandbox/)."""
    from handlers.staff.seed import seed_sandbox

    stack = await start_stack(db_url)
    async with stack.bot.sm() as s, s.begin():
        await seed_sandbox(s, stack.clock.now())
    yield stack
    await stack.bot.stop()
    await stack.sandbox.stop()
