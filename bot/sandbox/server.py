"""The local WeCom sandbox: the server side of every API the bot calls, plus WeCom's callbacks.

Faithful where it matters to the bot (PROTOCOL.md):

* ``gettoken`` issues tokens that expire (7200 s on the sandbox clock); a stale token gets 42001,
  an unknown one 40014.
* ``message/send`` of a template card returns a ``response_code``; every click makes a fresh one;
  each works once and expires after 72 h.
* 微信客服: at most 5 messages within 48 hours of the customer's last message (a 6th gets an
  error; the errcode is the sandbox's own, WeCom's is not in our material).
* Past 30 messages a minute or 1,000 an hour per app and member (20 a minute per group robot,
  30/1,000 per AI-bot conversation) messages are **dropped silently**: errcode 0, never delivered.
* Tests inject failures per API: an errcode (-1, 45009 …), an HTTP status, or a delay.
* Callbacks go to the bot encrypted and signed, with WeCom's 5-second timeout and up to three
  retries (four deliveries in all).
* Every call is recorded (without its token) for tests and the web page.

The sandbox is one class, ``Sandbox``, put together from one part per concern:

* ``state.py``: the limits and the dataclasses of its state;
* ``personas.py``: the people on the page, read from ``config/sandbox/``, and their chats;
* ``rules.py``: ``WeComRules``, tokens, rate limits, response codes and injected faults;
* ``apis.py``: ``WeComApis``, the server side of every API the bot calls;
* ``admin.py``: ``WeComAdmin``, the admin console as the setup doctor reads it (app, visible
  range, 微信客服 accounts, 审批 permission) and switches that get each setting wrong;
* ``people.py``: ``People``, what members and customers do, delivered as callbacks;
* ``page.py``: ``PersonaPage``, the person-facing page and its JSON API;
* this module: the lifecycle (routes, start, stop) and the record tests wait on.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.crypto import WeComCrypto
from bot.sandbox.admin import WeComAdmin
from bot.sandbox.approvals import ApprovalEmulator
from bot.sandbox.apis import WeComApis
from bot.sandbox.media import MediaEmulator
from bot.sandbox.oauth import OAuthEmulator
from bot.sandbox.page import STATIC, PersonaPage
from bot.sandbox.people import People, log
from bot.sandbox.personas import SANDBOX_CONFIG, load_personas
from bot.sandbox.rules import WeComRules
from bot.sandbox.sms import SmsEmulator
from bot.sandbox.state import (BOT_NAME, CALLBACK_DELIVERIES, CALLBACK_TIMEOUT, ERR_KF_ALLOWANCE,
                               ERR_RESPONSE_CODE, ERR_RESPONSE_URL, KF_REPLIES, KF_WINDOW,
                               OPEN_KFID, RATE_LIMITS, RESPONSE_CODE_TTL, RESPONSE_URL_TTL,
                               TOKEN_TTL, Chat, ChatLine, Fault, Persona, SandboxState)
from scheduler.clock import Clock, SystemClock

# What callers import from here (tests, bench, main.py), wherever it now lives.
__all__ = ["BOT_NAME", "CALLBACK_DELIVERIES", "CALLBACK_TIMEOUT", "ERR_KF_ALLOWANCE",
           "ERR_RESPONSE_CODE", "ERR_RESPONSE_URL", "KF_REPLIES", "KF_WINDOW", "OPEN_KFID",
           "RATE_LIMITS", "RESPONSE_CODE_TTL", "RESPONSE_URL_TTL", "STATIC", "TOKEN_TTL", "Chat",
           "ChatLine", "Fault", "Persona", "Sandbox", "SandboxState", "load_personas", "log"]


class Sandbox(WeComRules, WeComApis, WeComAdmin, People, PersonaPage, SmsEmulator,
              MediaEmulator, ApprovalEmulator, OAuthEmulator):
    """One emulated WeCom corp, its app and AI bot, and the people on the page."""

    def __init__(self, *, corp_id: str, agent_id: int, secret: str, app_token: str,
                 app_aes_key: str, aibot_token: str = "", aibot_aes_key: str = "",
                 bot_url: str = "http://127.0.0.1:8080", clock: Clock | None = None,
                 callback_timeout: float = CALLBACK_TIMEOUT,
                 config_dir: Path = SANDBOX_CONFIG) -> None:
        self.corp_id, self.agent_id, self.secret = corp_id, agent_id, secret
        self.app_crypto = WeComCrypto(app_token, app_aes_key, corp_id)
        self.aibot_crypto = (WeComCrypto(aibot_token, aibot_aes_key, "")
                             if aibot_token else None)
        self.bot_url = bot_url.rstrip("/")
        self.clock = clock or SystemClock()
        self.callback_timeout = callback_timeout
        self.state = SandboxState()
        self.base_url = ""
        self._ids = itertools.count(1)
        self._msgids = itertools.count(7_000_000_000_000_000_001)
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self._changed = asyncio.Event()
        # Everyone in config/sandbox/ (staff.yaml, groups.yaml), in the page's order.
        self.personas = {p.id: p for p in load_personas(config_dir)}

    # -- lifecycle --------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        r = app.router
        r.add_get("/cgi-bin/gettoken", self.gettoken)
        for api in ("message/send", "message/update_template_card", "appchat/create",
                    "appchat/send", "kf/sync_msg", "kf/send_msg"):
            r.add_post(f"/cgi-bin/{api}", self._api(api))
        r.add_get("/cgi-bin/externalcontact/get", self._api("externalcontact/get"))
        # What the setup doctor reads of the admin console (admin.py).
        for api in ("agent/get", "user/get"):
            r.add_get(f"/cgi-bin/{api}", self._api(api))
        for api in ("kf/account/list", "oa/gettemplatedetail"):
            r.add_post(f"/cgi-bin/{api}", self._api(api))
        app.on_response_prepare.append(self._date_header)
        r.add_post("/cgi-bin/webhook/send", self.webhook_send)
        r.add_post("/aibot/response/{rid}", self.aibot_response)
        self.add_sms_routes(r)  # Tencent / Aliyun SMS (sms.py)
        self.add_media_routes(r)  # media/upload (media.py)
        self.add_approval_routes(r)  # oa/applyevent and its callbacks (approvals.py)
        self.add_oauth_routes(r)  # web OAuth for the board (oauth.py)
        # The person-facing page and its JSON API.
        r.add_get("/", self.page)
        r.add_get("/favicon.ico", self.favicon)
        r.add_get("/favicon.svg", self.favicon)
        r.add_get("/sandbox/api/personas", self.api_personas)
        r.add_get("/sandbox/api/lines", self.api_lines)
        r.add_post("/sandbox/api/say", self.api_say)
        r.add_post("/sandbox/api/click", self.api_click)
        r.add_post("/sandbox/api/location", self.api_location)
        r.add_get("/sandbox/api/calls", self.api_calls)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner = web.AppRunner(self.make_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sock = site._server.sockets[0]  # type: ignore[union-attr]
        self.base_url = f"http://{host}:{sock.getsockname()[1]}"
        self._http = aiohttp.ClientSession()
        return self.base_url

    async def stop(self) -> None:
        if self._http:
            await self._http.close()
        if self._runner:
            await self._runner.cleanup()

    # -- what tests observe -----------------------------------------------------------------

    def calls(self, api: str | None = None) -> list[dict[str, Any]]:
        return [c for c in self.state.calls if api is None or c["api"] == api]

    def delivered(self, conversation: str) -> list[ChatLine]:
        return [ln for ln in self.state.lines if ln.conversation == conversation and ln.sender == "bot"]

    async def wait_until(self, predicate, timeout: float = 10.0, what: str = "condition") -> None:
        """Wait until ``predicate()``: woken by every call and message the sandbox sees, and
        re-checked at least every 50 ms for conditions that live outside the sandbox."""
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"sandbox: timed out waiting for {what}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.05))
            except asyncio.TimeoutError:
                pass

    async def wait_for_lines(self, conversation: str, n: int, timeout: float = 10.0) -> list[ChatLine]:
        """Wait until the bot has said ``n`` things in a conversation."""
        await self.wait_until(lambda: len(self.delivered(conversation)) >= n, timeout,
                              f"{n} bot lines in {conversation}")
        return self.delivered(conversation)

    async def wait_for_calls(self, api: str, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        await self.wait_until(lambda: len(self.calls(api)) >= n, timeout, f"{n} {api} calls")
        return self.calls(api)

    # -- bookkeeping ------------------------------------------------------------------------

    def _line(self, conversation: str, sender: str, kind: str, content: Any,
              task_id: str = "") -> ChatLine:
        line = ChatLine(next(self._ids), conversation, sender, kind, content, time.time(), task_id)
        self.state.lines.append(line)
        self._changed.set()
        return line

    def _record(self, api: str, request: web.Request, body: Any, errcode: int) -> None:
        params = {k: v for k, v in request.query.items() if k not in ("access_token", "corpsecret", "key")}
        self.state.calls.append({"api": api, "params": params, "body": body, "errcode": errcode,
                                 "at": self.clock.now().isoformat()})
        self._changed.set()
