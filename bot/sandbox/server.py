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
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import aiohttp
from aiohttp import web

from bot.crypto import WeComCrypto
from scheduler.clock import Clock, SystemClock

log = logging.getLogger("sandbox")

STATIC = Path(__file__).parent / "static"
TOKEN_TTL = 7200
RESPONSE_CODE_TTL = timedelta(hours=72)
RESPONSE_URL_TTL = timedelta(hours=1)
CALLBACK_TIMEOUT = 5.0
CALLBACK_DELIVERIES = 4  # the first try and three retries
# Errcodes the sandbox uses where WeCom's documentation names none (noted in PROTOCOL.md terms).
ERR_RESPONSE_CODE = 40191  # response_code spent, expired or unknown
ERR_RESPONSE_URL = 40192  # response_url spent, expired or unknown
ERR_KF_ALLOWANCE = 40193  # 微信客服: a 6th message, or one 48 h after the customer last wrote
KF_REPLIES, KF_WINDOW = 5, timedelta(hours=48)

RATE_LIMITS = {
    "app": ((60, 30), (3600, 1000)),
    "aibot": ((60, 30), (3600, 1000)),
    "webhook": ((60, 20),),
}


@dataclass
class Persona:
    id: str
    name: str
    role: str  # customer | store | technician | manager
    channel: str  # app | aibot_single | aibot_group | kf
    userid: str  # member userid, or external_userid for kf
    chat_id: str = ""


PERSONAS = [
    Persona("kf_chen", "陈女士（顾客，微信客服）", "customer", "kf", "wmCHENnvshi0001"),
    Persona("bot_liu", "刘先生（顾客，与机器人单聊）", "customer", "aibot_single", "liuxiansheng"),
    Persona("grp_zhang", "张三（3号店店员，在群里@机器人）", "store", "aibot_group", "zhangsan",
            "wrSTORE3group"),
    Persona("app_zhang", "张三（3号店店员，应用内）", "store", "app", "zhangsan"),
    Persona("app_li", "李师傅（技术员）", "technician", "app", "lishifu"),
    Persona("app_wangshifu", "王师傅（技术员）", "technician", "app", "wangshifu"),
    Persona("app_zhou", "周师傅（技术员）", "technician", "app", "zhoushifu"),
    Persona("app_wang", "王经理（经理、调度）", "manager", "app", "wangjingli"),
]
OPEN_KFID = "wkSANDBOXKF0001"
BOT_NAME = "工单助手"


@dataclass
class Fault:
    errcode: int | None = None
    http_status: int | None = None
    delay: float = 0.0  # stall before handling the call
    times: int = 1
    answer_after: float = 0.0  # handle the call (deliver), then stall before answering


@dataclass
class ChatLine:
    id: int
    conversation: str
    sender: str  # "bot" or a display name
    kind: str  # text | markdown | card | event
    content: Any
    ts: float
    task_id: str = ""


@dataclass
class SandboxState:
    tokens: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    response_codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    response_urls: dict[str, dict[str, Any]] = field(default_factory=dict)
    sent_times: dict[str, deque[datetime]] = field(default_factory=lambda: defaultdict(deque))
    faults: dict[str, deque[Fault]] = field(default_factory=lambda: defaultdict(deque))
    calls: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(default_factory=list)
    lines: list[ChatLine] = field(default_factory=list)
    cards: dict[str, dict[str, Any]] = field(default_factory=dict)  # task_id → card state
    kf_msgs: list[dict[str, Any]] = field(default_factory=list)
    kf_allowance: dict[str, dict[str, Any]] = field(default_factory=dict)  # ext → last, sent
    appchats: dict[str, dict[str, Any]] = field(default_factory=dict)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    # message/send's duplicate check: request JSON → when it was first accepted, and the answer
    dup_seen: dict[str, dict[str, Any]] = field(default_factory=dict)
    duplicates: list[dict[str, Any]] = field(default_factory=list)  # requests not delivered again


class Sandbox:
    def __init__(self, *, corp_id: str, agent_id: int, secret: str, app_token: str,
                 app_aes_key: str, aibot_token: str = "", aibot_aes_key: str = "",
                 bot_url: str = "http://127.0.0.1:8080", clock: Clock | None = None,
                 callback_timeout: float = CALLBACK_TIMEOUT) -> None:
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
        self.personas = {p.id: p for p in PERSONAS}

    # -- lifecycle --------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        r = app.router
        r.add_get("/cgi-bin/gettoken", self.gettoken)
        for api in ("message/send", "message/update_template_card", "appchat/create",
                    "appchat/send", "kf/sync_msg", "kf/send_msg"):
            r.add_post(f"/cgi-bin/{api}", self._api(api))
        r.add_get("/cgi-bin/externalcontact/get", self._api("externalcontact/get"))
        r.add_post("/cgi-bin/webhook/send", self.webhook_send)
        r.add_post("/aibot/response/{rid}", self.aibot_response)
        # The person-facing page and its JSON API.
        r.add_get("/", self.page)
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

    # -- test controls ----------------------------------------------------------------------

    def fail(self, api: str, *, errcode: int | None = None, http_status: int | None = None,
             delay: float = 0.0, times: int = 1, answer_after: float = 0.0) -> None:
        """Make the next ``times`` calls of ``api`` fail (or stall for ``delay`` seconds before
        handling them); ``answer_after``: handle (deliver) them, then answer that much later —
        WeCom accepting a message and answering after the client gave up."""
        self.state.faults[api].append(Fault(errcode, http_status, delay, times, answer_after))

    def expire_tokens(self) -> None:
        """WeCom may expire a token early: every issued token becomes stale now."""
        for tok, (app, _) in list(self.state.tokens.items()):
            self.state.tokens[tok] = (app, self.clock.now() - timedelta(seconds=1))

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

    def _within_limit(self, key: str, kind: str) -> bool:
        """Count this message against the recipient's windows; False means WeCom drops it."""
        now = self.clock.now()
        times = self.state.sent_times[key]
        windows = RATE_LIMITS[kind]
        longest = max(w for w, _ in windows)
        while times and times[0] <= now - timedelta(seconds=longest):
            times.popleft()
        for window, limit in windows:
            if sum(1 for t in times if t > now - timedelta(seconds=window)) >= limit:
                return False
        times.append(now)
        return True

    async def _fault(self, api: str) -> web.Response | None:
        queue = self.state.faults.get(api)
        if not queue or queue[0].answer_after:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.popleft()
        if fault.delay:
            await asyncio.sleep(fault.delay)  # stalls like a slow WeCom; the client times out
        if fault.http_status:
            return web.Response(status=fault.http_status, text="injected")
        if fault.errcode is not None:
            return web.json_response({"errcode": fault.errcode, "errmsg": "injected by sandbox"})
        return None

    async def _late_answer(self, api: str) -> None:
        """An ``answer_after`` fault: the call was handled; hold the answer back."""
        queue = self.state.faults.get(api)
        if not queue or not queue[0].answer_after:
            return
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.popleft()
        await asyncio.sleep(fault.answer_after)

    def _check_token(self, request: web.Request) -> int:
        tok = request.query.get("access_token", "")
        entry = self.state.tokens.get(tok)
        if entry is None:
            return 40014
        if entry[1] <= self.clock.now():
            return 42001
        return 0

    # -- APIs -------------------------------------------------------------------------------

    async def gettoken(self, request: web.Request) -> web.Response:
        if (resp := await self._fault("gettoken")) is not None:
            return resp
        if (request.query.get("corpid") != self.corp_id
                or request.query.get("corpsecret") != self.secret):
            self._record("gettoken", request, None, 40001)
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        tok = secrets.token_urlsafe(32)
        self.state.tokens[tok] = ("app", self.clock.now() + timedelta(seconds=TOKEN_TTL))
        self._record("gettoken", request, None, 0)
        return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": tok,
                                  "expires_in": TOKEN_TTL})

    def _api(self, api: str):
        async def handler(request: web.Request) -> web.Response:
            if (resp := await self._fault(api)) is not None:
                self._record(api, request, None, -999)
                return resp
            code = self._check_token(request)
            body = await request.json() if request.method == "POST" else None
            if code:
                self._record(api, request, body, code)
                return web.json_response({"errcode": code, "errmsg": "token rejected"})
            result = await getattr(self, "_" + api.replace("/", "_"))(body or {}, request)
            self._record(api, request, body, result.get("errcode", 0))
            await self._late_answer(api)
            return web.json_response(result)

        return handler

    async def _message_send(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        users = [u for u in str(body.get("touser", "")).split("|") if u]
        if not users:
            return {"errcode": 81013, "errmsg": "all recipients invalid"}
        # Duplicate check [doc 90236]: with enable_duplicate_check 1, the same request JSON
        # within duplicate_check_interval seconds (default 1800, at most 4 h) is not delivered
        # again. The answer repeats the first one's (WeCom's own answer is not documented).
        dup_key = None
        if body.get("enable_duplicate_check") == 1:
            interval = min(int(body.get("duplicate_check_interval") or 1800), 4 * 3600)
            dup_key = json.dumps(body, sort_keys=True, ensure_ascii=False)
            seen = self.state.dup_seen.get(dup_key)
            if seen is not None and self.clock.now() - seen["at"] < timedelta(seconds=interval):
                self.state.duplicates.append(body)
                return dict(seen["result"])
        result = self._deliver_app_message(users, body)
        if dup_key is not None:
            self.state.dup_seen[dup_key] = {"at": self.clock.now(), "result": result}
        return result

    def _deliver_app_message(self, users: list[str], body: dict[str, Any]) -> dict[str, Any]:
        msgtype = body.get("msgtype")
        out: dict[str, Any] = {"errcode": 0, "errmsg": "ok", "msgid": f"sbx{next(self._ids)}"}
        for user in users:
            if not self._within_limit(f"app:{body.get('agentid')}:{user}", "app"):
                self.state.dropped.append({"api": "message/send", "touser": user, "body": body})
                continue  # WeCom answers ok and drops it: the sender must pace itself
            conv = f"app:{user}"
            if msgtype == "template_card":
                card = body.get("template_card") or {}
                task_id = card.get("task_id", "")
                self.state.cards[task_id] = {"card": card, "user": user, "replaced": None}
                self._line(conv, "bot", "card", card, task_id)
                code = self._new_response_code(user, task_id)
                out["response_code"] = code
            elif msgtype == "markdown":
                self._line(conv, "bot", "markdown", (body.get("markdown") or {}).get("content", ""))
            else:
                self._line(conv, "bot", "text", (body.get(msgtype) or {}).get("content", ""))
        return out

    def _new_response_code(self, user: str, task_id: str) -> str:
        code = secrets.token_hex(16)
        self.state.response_codes[code] = {"user": user, "task_id": task_id,
                                           "created": self.clock.now(), "used": False}
        return code

    async def _message_update_template_card(self, body: dict[str, Any],
                                            request: web.Request) -> dict[str, Any]:
        code = body.get("response_code", "")
        entry = self.state.response_codes.get(code)
        if (entry is None or entry["used"]
                or self.clock.now() - entry["created"] > RESPONSE_CODE_TTL):
            return {"errcode": ERR_RESPONSE_CODE, "errmsg": "response_code invalid or used"}
        entry["used"] = True
        state = self.state.cards.get(entry["task_id"])
        if state is not None:
            if "button" in body:
                state["replaced"] = (body.get("button") or {}).get("replace_name", "")
            elif "template_card" in body:
                state["card"] = body["template_card"]
                state["replaced"] = None
            self._changed.set()
        return {"errcode": 0, "errmsg": "ok", "invaliduser": []}

    async def _appchat_create(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        members = body.get("userlist") or []
        if not 2 <= len(members) <= 2000:
            return {"errcode": 40050, "errmsg": "chat member count must be 2..2000"}
        chatid = body.get("chatid") or f"wrAPP{secrets.token_hex(6)}"
        self.state.appchats[chatid] = {"name": body.get("name", ""), "members": members}
        return {"errcode": 0, "errmsg": "ok", "chatid": chatid}

    async def _appchat_send(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        chatid = body.get("chatid", "")
        if chatid not in self.state.appchats:
            return {"errcode": 86003, "errmsg": "chat not exists"}
        msgtype = body.get("msgtype", "text")
        self._line(f"appchat:{chatid}", "bot", msgtype, (body.get(msgtype) or {}).get("content", ""))
        return {"errcode": 0, "errmsg": "ok"}

    async def _kf_sync_msg(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        start = int(body.get("cursor") or 0)
        limit = min(int(body.get("limit") or 1000), 1000)
        msgs = [m for m in self.state.kf_msgs if m["open_kfid"] == body.get("open_kfid")]
        page = msgs[start:start + limit]
        nxt = start + len(page)
        return {"errcode": 0, "errmsg": "ok", "next_cursor": str(nxt),
                "has_more": 1 if nxt < len(msgs) else 0, "msg_list": page}

    async def _kf_send_msg(self, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        ext = body.get("touser", "")
        # WeCom: at most 5 messages within 48 hours of the customer's last message.
        allowance = self.state.kf_allowance.get(ext)
        if (allowance is None or allowance["sent"] >= KF_REPLIES
                or self.clock.now() - allowance["last"] > KF_WINDOW):
            return {"errcode": ERR_KF_ALLOWANCE,
                    "errmsg": "no reply allowance left for this customer"}
        allowance["sent"] += 1
        self._line(f"kf:{ext}", "bot", "text", (body.get("text") or {}).get("content", ""))
        # A msgid the caller chose is echoed back; WeCom's docs say nothing of deduplicating
        # on it, so neither does the sandbox.
        return {"errcode": 0, "errmsg": "ok", "msgid": body.get("msgid") or f"sbxkf{next(self._ids)}"}

    async def _externalcontact_get(self, body: dict[str, Any],
                                   request: web.Request) -> dict[str, Any]:
        ext = request.query.get("external_userid", "")
        return {"errcode": 0, "errmsg": "ok", "external_contact": {
            "external_userid": ext, "name": "陈女士", "type": 1}, "follow_user": []}

    async def webhook_send(self, request: web.Request) -> web.Response:
        if (resp := await self._fault("webhook")) is not None:
            return resp
        body = await request.json()
        key = request.query.get("key", "")
        if self._within_limit(f"webhook:{key}", "webhook"):
            msgtype = body.get("msgtype", "text")
            self._line(f"webhook:{key}", "bot", msgtype, body.get(msgtype))
        else:
            self.state.dropped.append({"api": "webhook", "key": key, "body": body})
        self._record("webhook", request, body, 0)
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def aibot_response(self, request: web.Request) -> web.Response:
        if (resp := await self._fault("response_url")) is not None:
            return resp
        rid = request.match_info["rid"]
        body = await request.json()
        entry = self.state.response_urls.get(rid)
        if (entry is None or entry["used"]
                or self.clock.now() - entry["created"] > RESPONSE_URL_TTL):
            self._record("response_url", request, body, ERR_RESPONSE_URL)
            return web.json_response({"errcode": ERR_RESPONSE_URL,
                                      "errmsg": "response_url invalid, expired or used"})
        entry["used"] = True
        if self._within_limit(f"aibot:{entry['conversation']}", "aibot"):
            msgtype = body.get("msgtype", "markdown")
            content = (body.get(msgtype) or {}).get("content", "")
            self._line(entry["conversation"], "bot", "markdown" if msgtype == "markdown" else msgtype,
                       content)
        else:
            self.state.dropped.append({"api": "response_url", "body": body})
        self._record("response_url", request, body, 0)
        await self._late_answer("response_url")
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    # -- callbacks to the bot ---------------------------------------------------------------

    async def deliver(self, channel: str, plaintext: str) -> dict[str, Any]:
        """Encrypt, sign and POST a callback like WeCom: 5 s timeout, up to 3 retries."""
        crypto = self.app_crypto if channel == "app" else self.aibot_crypto
        if crypto is None:
            raise RuntimeError("the AI bot is not configured")
        ts, nonce = str(int(self.clock.now().timestamp())), secrets.token_hex(5)
        encrypt, sig = crypto.seal(plaintext, ts, nonce)
        if channel == "app":
            body = (f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
                    f"<Encrypt><![CDATA[{encrypt}]]></Encrypt>"
                    f"<AgentID><![CDATA[{self.agent_id}]]></AgentID></xml>").encode()
            path, ctype = "/wecom/callback", "text/xml"
        else:
            body = json.dumps({"encrypt": encrypt}).encode()
            path, ctype = "/wecom/aibot", "application/json"
        url = f"{self.bot_url}{path}?msg_signature={sig}&timestamp={ts}&nonce={nonce}"
        assert self._http is not None, "sandbox not started"
        record: dict[str, Any] = {"channel": channel, "attempts": [], "acked": False}
        for _ in range(CALLBACK_DELIVERIES):
            try:
                async with self._http.post(url, data=body, headers={"Content-Type": ctype},
                                           timeout=aiohttp.ClientTimeout(
                                               total=self.callback_timeout)) as resp:
                    text = await resp.text()
                    record["attempts"].append(resp.status)
                    if resp.status == 200:
                        record["acked"] = True
                        record["reply"] = text
                        break
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                record["attempts"].append(type(exc).__name__)
        self.state.deliveries.append(record)
        if not record["acked"]:
            log.warning("callback to the bot failed %d times: %s", CALLBACK_DELIVERIES,
                        record["attempts"])
        return record

    def _now_s(self) -> int:
        return int(self.clock.now().timestamp())

    def _app_xml(self, user: str, fields: str) -> str:
        return (f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
                f"<FromUserName><![CDATA[{escape(user)}]]></FromUserName>"
                f"<CreateTime>{self._now_s()}</CreateTime>{fields}"
                f"<AgentID>{self.agent_id}</AgentID></xml>")

    async def member_says(self, userid: str, text: str) -> dict[str, Any]:
        """A member writes to the app 1:1 (text message, with a MsgId)."""
        self._line(f"app:{userid}", userid, "text", text)
        xml = self._app_xml(userid, f"<MsgType><![CDATA[text]]></MsgType>"
                                    f"<Content><![CDATA[{text.replace(']]>', ']] >')}]]></Content>"
                                    f"<MsgId>{next(self._msgids)}</MsgId>")
        return await self.deliver("app", xml)

    async def member_location(self, userid: str, lat: float, lon: float,
                              label: str = "") -> dict[str, Any]:
        self._line(f"app:{userid}", userid, "text", f"[位置] {label or f'{lat},{lon}'}")
        xml = self._app_xml(userid, f"<MsgType><![CDATA[location]]></MsgType>"
                                    f"<Location_X>{lat}</Location_X><Location_Y>{lon}</Location_Y>"
                                    f"<Scale>15</Scale><Label><![CDATA[{escape(label)}]]></Label>"
                                    f"<MsgId>{next(self._msgids)}</MsgId>")
        return await self.deliver("app", xml)

    async def member_image(self, userid: str, pic_url: str,
                           media_id: str = "MEDIA_SANDBOX") -> dict[str, Any]:
        """A member sends a picture to the app."""
        self._line(f"app:{userid}", userid, "image", pic_url)
        xml = self._app_xml(userid, f"<MsgType><![CDATA[image]]></MsgType>"
                                    f"<PicUrl><![CDATA[{escape(pic_url)}]]></PicUrl>"
                                    f"<MediaId><![CDATA[{escape(media_id)}]]></MediaId>"
                                    f"<MsgId>{next(self._msgids)}</MsgId>")
        return await self.deliver("app", xml)

    async def member_event(self, userid: str, event: str, extra: str = "") -> dict[str, Any]:
        xml = self._app_xml(userid, f"<MsgType><![CDATA[event]]></MsgType>"
                                    f"<Event><![CDATA[{event}]]></Event>{extra}")
        return await self.deliver("app", xml)

    async def click(self, userid: str, task_id: str, key: str) -> dict[str, Any]:
        """A member clicks a card button: template_card_event with a fresh ResponseCode."""
        code = self._new_response_code(userid, task_id)
        self._line(f"app:{userid}", userid, "event", f"点击了按钮 {key}")
        extra = (f"<EventKey><![CDATA[{escape(key)}]]></EventKey>"
                 f"<TaskId><![CDATA[{escape(task_id)}]]></TaskId>"
                 f"<CardType><![CDATA[button_interaction]]></CardType>"
                 f"<ResponseCode><![CDATA[{code}]]></ResponseCode>")
        return await self.member_event(userid, "template_card_event", extra)

    async def aibot_says(self, userid: str, text: str, chat_id: str = "",
                         mention: bool = True) -> dict[str, Any]:
        """A member writes to the AI bot: 1:1, or with ``chat_id`` an @-mention in a group
        (``mention=False``: a group message the bot sees without being @-mentioned)."""
        conv = f"aibot:g:{chat_id}" if chat_id else f"aibot:u:{userid}"
        self._line(conv, userid, "text", text)
        rid = secrets.token_hex(8)
        self.state.response_urls[rid] = {"conversation": conv, "created": self.clock.now(),
                                         "used": False}
        msg = {"msgid": f"aibot{next(self._msgids)}", "aibotid": "aibSANDBOX",
               "chattype": "group" if chat_id else "single", "from": {"userid": userid},
               "response_url": f"{self.base_url}/aibot/response/{rid}", "msgtype": "text",
               "text": {"content": f"@{BOT_NAME} {text}" if chat_id and mention else text}}
        if chat_id:
            msg["chatid"] = chat_id
        return await self.deliver("aibot", json.dumps(msg, ensure_ascii=False))

    def kf_customer_wrote(self, external_userid: str) -> None:
        """The customer wrote: WeCom allows 5 messages to them within the next 48 hours."""
        self.state.kf_allowance[external_userid] = {"last": self.clock.now(), "sent": 0}

    async def customer_kf(self, external_userid: str, text: str) -> dict[str, Any]:
        """A WeChat customer writes to 微信客服: queue the message, ring the app callback."""
        self._line(f"kf:{external_userid}", external_userid, "text", text)
        self.kf_customer_wrote(external_userid)
        self.state.kf_msgs.append({
            "msgid": f"kf{next(self._msgids)}", "open_kfid": OPEN_KFID,
            "external_userid": external_userid, "send_time": self._now_s(), "origin": 3,
            "msgtype": "text", "text": {"content": text}})
        token = secrets.token_hex(8)
        extra = (f"<Token><![CDATA[{token}]]></Token>"
                 f"<OpenKfId><![CDATA[{OPEN_KFID}]]></OpenKfId>")
        return await self.member_event("sys", "kf_msg_or_event", extra)

    # -- the page ---------------------------------------------------------------------------

    def conversation_of(self, p: Persona) -> str:
        return {"app": f"app:{p.userid}", "aibot_single": f"aibot:u:{p.userid}",
                "aibot_group": f"aibot:g:{p.chat_id}", "kf": f"kf:{p.userid}"}[p.channel]

    async def page(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def api_personas(self, request: web.Request) -> web.Response:
        return web.json_response([p.__dict__ for p in PERSONAS])

    async def api_lines(self, request: web.Request) -> web.Response:
        p = self.personas.get(request.query.get("persona", ""))
        if p is None:
            return web.json_response({"error": "unknown persona"}, status=404)
        conv = self.conversation_of(p)
        out = []
        for ln in self.state.lines:
            if ln.conversation != conv:
                continue
            item = {"id": ln.id, "sender": ln.sender, "kind": ln.kind, "content": ln.content,
                    "ts": ln.ts, "task_id": ln.task_id}
            if ln.kind == "card" and ln.task_id in self.state.cards:
                st = self.state.cards[ln.task_id]
                item["content"], item["replaced"] = st["card"], st["replaced"]
            out.append(item)
        return web.json_response({"conversation": conv, "lines": out})

    async def api_say(self, request: web.Request) -> web.Response:
        data = await request.json()
        p = self.personas.get(data.get("persona", ""))
        text = str(data.get("text", ""))
        if p is None:
            return web.json_response({"error": "unknown persona"}, status=404)
        if p.channel == "app":
            rec = await self.member_says(p.userid, text)
        elif p.channel == "kf":
            rec = await self.customer_kf(p.userid, text)
        else:
            rec = await self.aibot_says(p.userid, text, p.chat_id)
        return web.json_response({"acked": rec["acked"], "attempts": rec["attempts"]})

    async def api_click(self, request: web.Request) -> web.Response:
        data = await request.json()
        p = self.personas.get(data.get("persona", ""))
        if p is None or p.channel != "app":
            return web.json_response({"error": "cards are clicked by app members"}, status=400)
        rec = await self.click(p.userid, str(data.get("task_id", "")), str(data.get("key", "")))
        return web.json_response({"acked": rec["acked"], "attempts": rec["attempts"]})

    async def api_location(self, request: web.Request) -> web.Response:
        data = await request.json()
        p = self.personas.get(data.get("persona", ""))
        if p is None or p.channel != "app":
            return web.json_response({"error": "locations are sent by app members"}, status=400)
        rec = await self.member_location(p.userid, float(data.get("lat", 31.23)),
                                         float(data.get("lon", 121.47)), str(data.get("label", "")))
        return web.json_response({"acked": rec["acked"], "attempts": rec["attempts"]})

    async def api_calls(self, request: web.Request) -> web.Response:
        return web.json_response({"calls": self.state.calls[-200:],
                                  "dropped": len(self.state.dropped),
                                  "deliveries": self.state.deliveries[-50:]})
