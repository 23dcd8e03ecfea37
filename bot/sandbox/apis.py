"""The server side of every WeCom API the bot calls [PROTOCOL.md]: ``gettoken`` (40001 wrong
secret, 40013 unknown CorpID, 41004 no secret),
``message/send`` and ``message/update_template_card``, ``appchat/*``, ``kf/sync_msg`` and
``kf/send_msg``, ``externalcontact/get``, the group robot webhook and the AI bot's
``response_url``. Each call is checked against ``WeComRules`` and recorded (without its token).
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from typing import Any

from aiohttp import web

from bot.sandbox.state import (ERR_KF_ALLOWANCE, ERR_RESPONSE_CODE, ERR_RESPONSE_URL, KF_REPLIES,
                               KF_WINDOW, RESPONSE_CODE_TTL, RESPONSE_URL_TTL, TOKEN_TTL)


class WeComApis:
    """Mixed into ``Sandbox`` (``server.py``), with ``WeComRules`` (``rules.py``): its state,
    clock, ids and record (``_line``, ``_record``) are the sandbox's."""

    # -- APIs -------------------------------------------------------------------------------

    async def gettoken(self, request: web.Request) -> web.Response:
        if (resp := await self._fault("gettoken")) is not None:
            return resp
        if (resp := self._untrusted("gettoken")) is not None:
            self._record("gettoken", request, None, 60020)
            return resp
        # 41004 no secret, 40013 a CorpID WeCom does not know, 40001 a wrong secret [doc 90313]
        corpid, secret = request.query.get("corpid", ""), request.query.get("corpsecret", "")
        code, msg = ((41004, "corpsecret missing") if not secret else
                     (40013, "invalid corpid") if corpid != self.corp_id else
                     (40001, "invalid credential") if secret != self.secret else (0, "ok"))
        if code:
            self._record("gettoken", request, None, code)
            return web.json_response({"errcode": code, "errmsg": msg})
        tok = secrets.token_urlsafe(32)
        self.state.tokens[tok] = ("app", self.clock.now() + self._token_ttl(TOKEN_TTL))
        self._record("gettoken", request, None, 0)
        return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": tok,
                                  "expires_in": TOKEN_TTL})

    def _api(self, api: str):
        async def handler(request: web.Request) -> web.Response:
            if (resp := await self._fault(api)) is not None:
                self._record(api, request, None, -999)
                return resp
            if (resp := self._untrusted(api)) is not None:
                self._record(api, request, None, 60020)
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
            elif msgtype == "image":  # an uploaded media_id (media.py)
                self._line(conv, "bot", "image", (body.get("image") or {}).get("media_id", ""))
            else:
                self._line(conv, "bot", "text", (body.get(msgtype) or {}).get("content", ""))
        return out

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
            part = body.get(msgtype)
            if msgtype in ("text", "markdown") and isinstance(part, dict):
                part = part.get("content", "")  # what the group reads
            self._line(f"webhook:{key}", "bot", "card" if msgtype == "template_card" else msgtype,
                       part)
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
            if msgtype == "template_card":  # shown as sent; its clicks are not emulated
                self._line(entry["conversation"], "bot", "card", body.get(msgtype) or {})
            else:
                content = (body.get(msgtype) or {}).get("content", "")
                self._line(entry["conversation"], "bot", msgtype, content)
        else:
            self.state.dropped.append({"api": "response_url", "body": body})
        self._record("response_url", request, body, 0)
        await self._late_answer("response_url")
        return web.json_response({"errcode": 0, "errmsg": "ok"})
