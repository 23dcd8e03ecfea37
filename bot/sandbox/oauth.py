"""The sandbox's web OAuth for pages opened from the 工作台 (WORKFLOW_APIS.md §4.1):

* ``GET /connect/oauth2/authorize?appid=CORPID&redirect_uri=…&response_type=code
  &scope=snsapi_base&state=…&agentid=…`` — WeCom knows who is on the phone; the sandbox asks
  (a list of the app's members; ``&as=<userid>`` picks one directly, for tests) and redirects
  to ``redirect_uri?code=CODE&state=STATE``. A wrong ``appid`` gets WeCom's error page.
* ``GET /cgi-bin/auth/getuserinfo?access_token=…&code=CODE`` — ``{"userid": …}`` for a member;
  a code works **once** and **expires after 5 minutes** (40029 otherwise, "invalid code").
"""

from __future__ import annotations

import html
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

CODE_TTL = timedelta(minutes=5)
ERR_INVALID_CODE = 40029


class OAuthEmulator:
    clock: Any
    corp_id: str
    personas: dict[str, Any]

    @property
    def oauth_codes(self) -> dict[str, dict[str, Any]]:
        return self.__dict__.setdefault("_oauth_codes", {})

    def add_oauth_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/connect/oauth2/authorize", self.oauth_authorize)
        router.add_get("/cgi-bin/auth/getuserinfo", self.oauth_getuserinfo)

    def _oauth_members(self) -> list[Any]:
        return [p for p in self.personas.values() if p.channel == "app"]

    async def oauth_authorize(self, request: web.Request) -> web.Response:
        q = request.query
        redirect, state = q.get("redirect_uri", ""), q.get("state", "")
        if q.get("appid") != self.corp_id or not redirect.startswith(("http://", "https://")) \
                or q.get("response_type") != "code":
            return web.Response(status=400, text="oauth: bad appid, redirect_uri or "
                                                 "response_type", content_type="text/plain")
        userid = q.get("as", "")
        if userid:
            if userid not in {p.userid for p in self._oauth_members()}:
                return web.Response(status=400, text="oauth: no such member",
                                    content_type="text/plain")
            code = secrets.token_urlsafe(24)
            self.oauth_codes[code] = {"userid": userid, "at": self.clock.now()}
            sep = "&" if "?" in redirect else "?"
            raise web.HTTPFound(f"{redirect}{sep}{urlencode({'code': code, 'state': state})}")
        items = "".join(
            f'<li><a href="?{html.escape(urlencode({**q, "as": p.userid}))}">'
            f"{html.escape(p.name)} <small>{html.escape(p.detail)}</small></a></li>"
            for p in self._oauth_members())
        return web.Response(text=(
            '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><meta name="viewport" '
            'content="width=device-width,initial-scale=1"><title>企业微信授权（沙盒）</title>'
            '<body style="font:16px system-ui;margin:1rem"><h1>企业微信授权（沙盒）</h1>'
            "<p>在企业微信里打开时，企业微信知道是谁；沙盒里请选择你是谁：</p>"
            f"<ul>{items}</ul></body></html>"), content_type="text/html")

    async def oauth_getuserinfo(self, request: web.Request) -> web.Response:
        code = self._check_token(request)  # type: ignore[attr-defined]
        if code:
            return web.json_response({"errcode": code, "errmsg": "token rejected"})
        entry = self.oauth_codes.pop(request.query.get("code", ""), None)
        if entry is None or self.clock.now() - entry["at"] > CODE_TTL:
            body: dict[str, Any] = {"errcode": ERR_INVALID_CODE, "errmsg": "invalid code"}
        else:
            body = {"errcode": 0, "errmsg": "ok", "userid": entry["userid"]}
        self._record("auth/getuserinfo", request, {}, body["errcode"])  # type: ignore[attr-defined]
        return web.json_response(body)
