"""The doctor against the WeCom sandbox, the bot's real callback routes and HTTPS fronts on
loopback with throwaway certificates."""

from __future__ import annotations

import pytest
from aiohttp import web
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from bot.crypto import WeComCrypto
from bot.metrics import Metrics
from bot.sandbox.server import Sandbox
from bot.server import CallbackServer, aibot_channel, app_channel
from models.db import sync_url
from models.tickets import Staff
from scheduler.clock import SystemClock
from tests.conftest import TEST_AES_KEY, TEST_CORP_ID, TEST_SECRET, TEST_TOKEN, make_settings
from tests.handlers.doctor.tls import Front, Pki


@pytest.fixture
async def sandbox():
    sb = Sandbox(corp_id=TEST_CORP_ID, agent_id=218, secret=TEST_SECRET, app_token=TEST_TOKEN,
                 app_aes_key=TEST_AES_KEY, aibot_token=TEST_TOKEN, aibot_aes_key=TEST_AES_KEY)
    await sb.start()
    yield sb
    await sb.stop()


class Edge:
    """The bot's HTTP edge (bot/server.py) with both callbacks, as ``serve`` runs it: URL
    verification needs no database, so nothing else is started."""

    def __init__(self, token: str = TEST_TOKEN, aes_key: str = TEST_AES_KEY,
                 corp_id: str = TEST_CORP_ID, aibot: bool = True) -> None:
        channels = {"app": app_channel(WeComCrypto(token, aes_key, corp_id))}
        if aibot:
            channels["aibot"] = aibot_channel(WeComCrypto(token, aes_key, ""))
        self.server = CallbackServer(channels=channels, writer=None,  # type: ignore[arg-type]
                                     metrics=Metrics(), clock=SystemClock())
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        self.runner = web.AppRunner(self.server.make_app(), access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore
        return self.url

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()


@pytest.fixture
def pki(tmp_path):
    return Pki(tmp_path)


@pytest.fixture
async def parts():
    """Start things and stop them all at the end: ``await parts(Edge())``."""
    started = []

    async def start(thing):
        await thing.start()
        started.append(thing)
        return thing

    yield start
    for thing in reversed(started):
        await thing.stop()


@pytest.fixture
async def public(parts, pki):
    """A correct deployment's public side: the bot's edge behind an HTTPS proxy whose
    certificate the doctor trusts through DOCTOR_CA_FILE. Returns (PUBLIC_URL, front, edge)."""
    edge = await parts(Edge())
    cert, key = pki.leaf("good")
    front = await parts(Front(edge.url, cert, key))
    return f"https://localhost:{front.port}", front, edge


def settings_for(db_url: str, sandbox: Sandbox, **over):
    return make_settings(db_url, WECOM_API_BASE=sandbox.base_url, **over)


def add_staff(db_url: str, *userids: str) -> None:
    engine = create_engine(sync_url(db_url))
    with Session(engine) as s:
        s.add_all([Staff(userid=u, name=u, roles=["technician"]) for u in userids])
        s.commit()
    engine.dispose()


def line(report, check_id: str):
    """The check's result, and its printed lines in both languages as one text."""
    result = report.get(check_id)
    assert result is not None, check_id
    return result, "\n".join(result.lines("both"))
