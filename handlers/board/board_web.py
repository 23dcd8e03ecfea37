"""The managers' board at /board/: opened from the WeCom 工作台 through web OAuth
(WORKFLOW_APIS.md §4.1: ``connect/oauth2/authorize`` → ``redirect_uri?code=…&state=…`` →
``GET /cgi-bin/auth/getuserinfo`` with the app's token → ``userid``; a code works once, for
5 minutes). The person's staff record decides what they see (``board_data.Scope``).

A signed cookie (HMAC-SHA256 with a key derived from the app secret, 12 hours) keeps them
signed in. Live updates are Server-Sent Events: the page refetches when what it shows changed.
Actions go through the chat's own handlers: 指派 is written into the inbox as the dispatcher's
own app message (``指派 GD… 李师傅``), handled by dispatch exactly as if typed.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import select

from bot.inbox import Unstorable
from handlers.board import board_data as D
from handlers.dispatch.base import DISPATCHERS
from models.keys import app_conversation
from models.messages import Event
from models.ticketing import staff_with_role
from models.tickets import Staff

log = logging.getLogger("handlers.board.web")

PAGE = Path(__file__).parent / "static" / "board.html"
COOKIE, STATE_COOKIE = "wo_board", "wo_board_state"
SESSION_SECONDS = 12 * 3600
ASSIGNERS = DISPATCHERS  # who may 指派 in chat may do it on the board


class BoardWeb:
    def __init__(self, sm: Any, gate: Any, services: Any, clock: Any, *, store: Any,
                 on_event: Any = None, sse_seconds: float = 1.0) -> None:
        from bot.settings import Settings

        self.sm, self.gate, self.services, self.clock = sm, gate, services, clock
        self.store = store
        self.on_event, self.sse_seconds = on_event, sse_seconds
        s = services[Settings]
        self.settings = s
        self.key = hashlib.sha256(b"board-session:" + s.WECOM_SECRET.get_secret_value()
                                  .encode()).digest()

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self.page)
        app.router.add_get("/oauth", self.oauth)
        app.router.add_get("/data", self.data)
        app.router.add_get("/t/{number}", self.ticket)
        app.router.add_get("/events", self.events)
        app.router.add_post("/assign", self.assign)
        app.router.add_get("/logout", self.logout)
        return app

    # -- sign-in ----------------------------------------------------------------------------

    def _sign(self, text: str) -> str:
        return hmac.new(self.key, text.encode(), hashlib.sha256).hexdigest()

    def _session(self, request: web.Request) -> str | None:
        raw = request.cookies.get(COOKIE, "")
        userid, _, rest = raw.partition("|")
        expires, _, mac = rest.partition("|")
        if not (userid and expires.isdigit() and mac):
            return None
        if not hmac.compare_digest(mac, self._sign(f"{userid}|{expires}")):
            return None
        return userid if int(expires) > time.time() else None

    def _authorize_url(self, request: web.Request, state: str) -> str:
        s = self.settings
        base = s.WECOM_API_BASE.rstrip("/")
        if base.startswith("https://qyapi.weixin.qq.com"):
            base = "https://open.weixin.qq.com"
        origin = (s.PUBLIC_URL or f"{request.scheme}://{request.host}").rstrip("/")
        q = {"appid": s.WECOM_CORP_ID, "redirect_uri": f"{origin}/board/oauth",
             "response_type": "code", "scope": "snsapi_base", "state": state,
             "agentid": str(s.WECOM_AGENT_ID or "")}
        return f"{base}/connect/oauth2/authorize?{urlencode(q)}#wechat_redirect"

    async def _scope(self, request: web.Request) -> D.Scope | None:
        userid = self._session(request)
        if userid is None:
            return None
        async with self.sm() as s:
            staff = (await s.execute(select(Staff).where(Staff.userid == userid))
                     ).scalar_one_or_none()
        return D.scope_of(staff)

    async def page(self, request: web.Request) -> web.StreamResponse:
        if await self._scope(request) is None:
            state = secrets.token_urlsafe(12)
            resp = web.HTTPFound(self._authorize_url(request, state))
            resp.set_cookie(STATE_COOKIE, state, max_age=600, httponly=True, samesite="Lax")
            raise resp
        return web.Response(text=PAGE.read_text(encoding="utf-8"), content_type="text/html")

    async def oauth(self, request: web.Request) -> web.StreamResponse:
        from bot.client import WeComClient, WeComError

        code, state = request.query.get("code", ""), request.query.get("state", "")
        if not code or not state or state != request.cookies.get(STATE_COOKIE):
            return _html(400, "登录已过期，请从工作台重新打开看板。")
        try:
            got = await self.services[WeComClient].call(
                "auth/getuserinfo", method="GET", params={"code": code[:512]})
        except WeComError as exc:
            log.warning("board sign-in refused by WeCom: %s", exc)
            return _html(403, "企业微信未确认你的身份，请从工作台重新打开看板。")
        userid = str(got.get("userid") or "")
        async with self.sm() as s:
            staff = (await s.execute(select(Staff).where(Staff.userid == userid))
                     ).scalar_one_or_none()
        if not userid or D.scope_of(staff) is None:
            return _html(403, "看板只对经理、调度、主管、财务、店长和技术员开放。")
        expires = str(int(time.time()) + SESSION_SECONDS)
        resp = web.HTTPFound("/board/")
        resp.set_cookie(COOKIE, f"{userid}|{expires}|{self._sign(f'{userid}|{expires}')}",
                        max_age=SESSION_SECONDS, httponly=True, samesite="Lax", path="/board")
        resp.del_cookie(STATE_COOKIE)
        raise resp

    async def logout(self, request: web.Request) -> web.StreamResponse:
        resp = web.HTTPFound("/board/")
        resp.del_cookie(COOKIE, path="/board")
        raise resp

    # -- what the page reads ----------------------------------------------------------------

    async def _view(self, scope: D.Scope, query: Any, *, whole: bool = True) -> dict[str, Any]:
        """The page's data; only its ``version`` when not ``whole`` (the live-update tick,
        every second per open page, reads no one's name it does not show)."""
        filters = {k: query.get(k, "")[:64] for k in D.FILTERS if query.get(k)}
        now = self.clock.now()
        async with self.sm() as s:
            rows = await D.open_tickets(s, scope, now, filters)
            # whom a ticket can be assigned to (and the page's technician filter): technicians
            techs = await staff_with_role(s, "technician") if whole else []
        if not whole:
            return {"version": D.version(rows)}
        view = {"me": {"name": scope.name, "scope": scope.label, "roles": list(scope.roles),
                       "can_assign": bool(set(scope.roles) & set(ASSIGNERS))},
                "tickets": rows, "bubbles": D.bubbles(rows),
                "technicians": sorted((p.userid, p.name or p.userid) for p in techs)}
        view["version"] = D.version(rows)
        return view

    async def data(self, request: web.Request) -> web.Response:
        scope = await self._scope(request)
        if scope is None:
            return web.json_response({"error": "signed out"}, status=401)
        return _json(await self._view(scope, request.query))

    async def ticket(self, request: web.Request) -> web.Response:
        scope = await self._scope(request)
        if scope is None:
            return web.json_response({"error": "signed out"}, status=401)
        async with self.sm() as s:
            page = await D.ticket_page(s, scope, request.match_info["number"][:24],
                                       self.clock.now())
        if page is None:
            return web.json_response({"error": "not found"}, status=404)
        return _json(page)

    async def events(self, request: web.Request) -> web.StreamResponse:
        """Server-Sent Events: ``change`` whenever the person's view changed."""
        scope = await self._scope(request)
        if scope is None:
            return web.json_response({"error": "signed out"}, status=401)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-cache"})
        await resp.prepare(request)
        last = ""
        try:
            while True:
                v = (await self._view(scope, request.query, whole=False))["version"]
                if v != last:
                    await resp.write(f"event: change\ndata: {v}\n\n".encode())
                    last = v
                await asyncio.sleep(self.sse_seconds)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return resp

    async def assign(self, request: web.Request) -> web.Response:
        """The board's actions, each the person's own chat command written into the inbox as
        their app message — dispatch and workflow handle it exactly as if typed, check who may,
        and answer in WeCom: 指派 GD… 李师傅 · 加质检 GD… · 同意 GD… 意见 · 驳回 GD… 原因."""
        scope = await self._scope(request)
        if scope is None:
            return web.json_response({"error": "signed out"}, status=401)
        try:
            body = await request.json()
            text = command(body)
        except (ValueError, KeyError, TypeError) as exc:
            return web.json_response({"error": str(exc) or "bad request"}, status=400)
        if text.startswith("指派") and not set(scope.roles) & set(ASSIGNERS):
            return web.json_response({"error": "not a dispatcher"}, status=403)
        event = Event("app", "message", "text", scope.userid, app_conversation(scope.userid),
                      f"board:{uuid.uuid4().hex}", {"text": text, "via": "board",
                                                    "agent_id": str(self.settings.WECOM_AGENT_ID)})
        try:  # as the person's chat messages are stored: in order with them
            await self.store(event)
        except Unstorable as exc:  # never storable as it is: trying again would not help
            return web.json_response({"error": exc.reason}, status=400)
        except Exception as exc:
            log.warning("board: %s's command was not stored (%s)", scope.userid,
                        type(exc).__name__)
            return web.json_response({"error": "not stored, try again"}, status=503)
        if self.on_event:
            self.on_event()
        log.info("board: %s wrote %r", scope.userid, text)
        return web.json_response({"queued": text}, status=202)


_NUMBER = re.compile(r"^GD[0-9]{8}-[0-9]{4,6}$")
_NODE = re.compile(r"^[\u4e00-\u9fff]{1,6}$")


def command(body: dict[str, Any]) -> str:
    """The chat command a board action stands for (nlp/staff_commands.py,
    nlp/workflow_commands.py read it back)."""
    number = str(body["number"])
    if not _NUMBER.match(number):
        raise ValueError("number: a ticket number (GD…)")
    action = body.get("action", "assign")
    note = " ".join(str(body.get("note", "")).split())[:200]
    if action == "assign":
        tech = str(body["technician"])
        if not re.fullmatch(r"[A-Za-z0-9_.@-]{1,64}", tech):
            raise ValueError("technician: a userid")
        return f"指派 {number} {tech}"
    if action == "insert":
        node = str(body["node"])
        if not _NODE.match(node):
            raise ValueError("node: 1–6 Chinese characters (质检 …)")
        return f"加{node} {number}"
    if action == "approve":
        return f"同意 {number} {note}".strip()
    if action == "reject":
        if not note:
            raise ValueError("note: the reason")
        return f"驳回 {number} {note}"
    raise ValueError("action: assign, insert, approve or reject")


def _json(data: Any) -> web.Response:
    return web.Response(text=json.dumps(data, ensure_ascii=False, default=str),
                        content_type="application/json")


def _html(status: int, text: str) -> web.Response:
    return web.Response(status=status, content_type="text/html", text=(
        '<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width,'
        f'initial-scale=1"><body style="font:16px system-ui;margin:1rem"><p>{text}</p>'))
