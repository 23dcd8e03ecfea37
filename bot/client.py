"""Async WeCom API client on aiohttp. It owns its transport.

* ``gettoken`` → access_token cached per app, refreshed before expiry, single-flight (a refresh
  storm gets the corp blocked), dropped and retried once on 40014 / 42001 [doc 91039].
* Bounded retries with backoff on -1 (busy), 45009 (rate limited), 45033 (too many concurrent
  calls), HTTP 5xx and timeouts; every other errcode raises at once [doc 90313 全局错误码].
* Exceptions are typed from ``errcode``, never from ``errmsg``.
* wechatpy's HTTP client is blocking ``requests`` and is never used here.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

from scheduler.clock import Clock, SystemClock

log = logging.getLogger("bot.client")


# -- exceptions ----------------------------------------------------------------------------


class WeComError(Exception):
    """A WeCom API call failed. ``retryable`` says whether trying later may succeed."""

    retryable = False

    def __init__(self, errcode: int | None, errmsg: str = "", api: str = "") -> None:
        super().__init__(f"{api}: errcode={errcode} {errmsg}".strip())
        self.errcode, self.errmsg, self.api = errcode, errmsg, api


class WeComBusy(WeComError):  # -1
    retryable = True


class WeComRateLimited(WeComError):  # 45009
    retryable = True


class WeComTooManyConcurrent(WeComError):  # 45033
    retryable = True


class WeComTransportError(WeComError):  # timeouts, connection errors, HTTP 5xx
    retryable = True

    def __init__(self, errcode: int | None, errmsg: str = "", api: str = "", *,
                 unknown: bool = False) -> None:
        super().__init__(errcode, errmsg, api)
        #: the request may have reached WeCom (a timeout, a dropped connection): whether the
        #: message was delivered is not known
        self.unknown = unknown


class WeComTokenError(WeComError):  # 40014, 42001, 40001 after the one retry
    retryable = True


class WeComPermissionError(WeComError):  # 48002, 60011: a person must grant it
    pass


class WeComInvalidRecipients(WeComError):  # 81013: every recipient invalid
    pass


class WeComResponseCodeError(WeComError):  # a card's response_code is spent or expired
    pass


class WeComUntrustedIp(WeComError):  # 60020: this server's IP is not in the app's 企业可信IP
    """WeCom names the refused address in ``errmsg`` ("… from ip: 203.0.113.7, more info at …",
    the wording reported in every 60020 we found; the errcode's meaning is doc 90313 #60020).
    ``ip`` is that address, or ``None`` when the wording changes — decide on ``errcode``."""

    @property
    def ip(self) -> str | None:
        return reported_ip(self.errmsg)


_FROM_IP = re.compile(r"from ip:\s*([0-9A-Fa-f:.]+[0-9A-Fa-f])")


def reported_ip(errmsg: str) -> str | None:
    """The address in a 60020 errmsg ("not allow to access from your ip, hint: […], from ip:
    115.227.127.185, more info at …"), or ``None``."""
    m = _FROM_IP.search(errmsg or "")
    return m.group(1) if m else None


_BY_CODE: dict[int, type[WeComError]] = {
    -1: WeComBusy, 45009: WeComRateLimited, 45033: WeComTooManyConcurrent,
    40014: WeComTokenError, 42001: WeComTokenError, 40001: WeComTokenError,
    48002: WeComPermissionError, 60011: WeComPermissionError, 81013: WeComInvalidRecipients,
    # update_template_card: response_code invalid / used / expired (sandbox and real API)
    40191: WeComResponseCodeError, 40190: WeComResponseCodeError,
    60020: WeComUntrustedIp,
}
TOKEN_CODES = {40014, 42001, 40001}


def error_for(errcode: int, errmsg: str, api: str) -> WeComError:
    return _BY_CODE.get(errcode, WeComError)(errcode, errmsg, api)


# -- client --------------------------------------------------------------------------------


@dataclass
class AppCredentials:
    corp_id: str
    secret: str

    def __repr__(self) -> str:
        return f"AppCredentials(corp_id={self.corp_id!r}, secret=***)"


class WeComClient:
    def __init__(self, base_url: str, apps: dict[str, AppCredentials], *,
                 session: aiohttp.ClientSession | None = None, clock: Clock | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 max_retries: int = 3, backoff_base: float = 0.5,
                 timeout: float = 10.0, refresh_margin: float = 300.0,
                 on_call: Callable[[str, int | None], None] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.apps = apps
        self._session = session
        self._own_session = session is None
        self.clock = clock or SystemClock()
        self._sleep = sleep
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.refresh_margin = refresh_margin
        self._tokens: dict[str, tuple[str, Any]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._on_call = on_call
        self.token_fetches = 0  # observable in tests: single-flight means one per expiry
        #: WeCom's ``Date`` header of the last answer and our clock when it came (or None):
        #: how far our clock is from WeCom's (the setup doctor's clock check)
        self.server_date: tuple[datetime, datetime] | None = None

    async def __aenter__(self) -> "WeComClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._own_session = True
        return self._session

    async def close(self) -> None:
        if self._own_session and self._session and not self._session.closed:
            await self._session.close()

    # -- tokens -----------------------------------------------------------------------------

    async def token(self, app: str = "app") -> str:
        cached = self._tokens.get(app)
        if cached and cached[1] > self.clock.now():
            return cached[0]
        lock = self._locks.setdefault(app, asyncio.Lock())
        async with lock:  # single flight: whoever waited finds the fresh token
            cached = self._tokens.get(app)
            if cached and cached[1] > self.clock.now():
                return cached[0]
            creds = self.apps[app]
            data = await self._request("GET", f"{self.base_url}/cgi-bin/gettoken", "gettoken",
                                       params={"corpid": creds.corp_id,
                                               "corpsecret": creds.secret})
            self.token_fetches += 1
            ttl = max(float(data.get("expires_in", 7200)) - self.refresh_margin, 30.0)
            self._tokens[app] = (data["access_token"],
                                 self.clock.now() + timedelta(seconds=ttl))
            return data["access_token"]

    def drop_token(self, app: str = "app") -> None:
        self._tokens.pop(app, None)

    # -- the one request path ---------------------------------------------------------------

    async def _request(self, method: str, url: str, api: str, *,
                       params: dict[str, Any] | None = None,
                       json: dict[str, Any] | None = None, data: bytes | None = None,
                       retry_unknown: bool = True) -> dict[str, Any]:
        """One logical call with bounded retries on system failures. Returns the JSON body.

        ``data`` is a ready JSON body sent as is (the outbox's stored bytes). With
        ``retry_unknown=False`` a call whose outcome is unknown (a timeout or a dropped
        connection after the request left) is not repeated here: the caller decides.
        """
        attempt = 0
        headers = {"Content-Type": "application/json"} if data is not None else None
        while True:
            attempt += 1
            try:
                async with self.session.request(method, url, params=params, json=json,
                                                data=data, headers=headers,
                                                timeout=self.timeout) as resp:
                    self._note_date(resp.headers.get("Date"))
                    if resp.status >= 500:
                        raise WeComTransportError(None, f"HTTP {resp.status}", api)
                    if resp.status != 200:
                        raise WeComError(None, f"HTTP {resp.status}", api)
                    data_out = await resp.json(content_type=None)
            except aiohttp.ClientConnectorError as exc:  # never connected: nothing was sent
                err: WeComError = WeComTransportError(None, type(exc).__name__, api)
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                err = WeComTransportError(None, type(exc).__name__ or "timeout", api,
                                          unknown=True)
            except WeComError as exc:
                err = exc
            else:
                if not isinstance(data_out, dict):
                    raise WeComError(None, "response is not a JSON object", api)
                code = int(data_out.get("errcode", 0) or 0)
                if self._on_call:
                    self._on_call(api, code)
                if code == 0:
                    return data_out
                err = error_for(code, str(data_out.get("errmsg", "")), api)
                if isinstance(err, WeComTokenError):
                    raise err  # the caller refreshes the token and retries once
            if (not err.retryable or attempt > self.max_retries
                    or (getattr(err, "unknown", False) and not retry_unknown)):
                raise err
            delay = self.backoff_base * (2 ** (attempt - 1))
            log.info("retrying %s after %s (attempt %d of %d, %.1fs)", api, err, attempt,
                     self.max_retries + 1, delay)
            await self._sleep(delay)

    def _note_date(self, header: str | None) -> None:
        if not header:
            return
        try:
            self.server_date = (parsedate_to_datetime(header), self.clock.now())
        except (TypeError, ValueError):
            pass  # an unreadable Date header says nothing about the clock

    async def call(self, path: str, payload: dict[str, Any] | None = None, *, app: str = "app",
                   method: str = "POST", params: dict[str, Any] | None = None,
                   body: bytes | None = None, retry_unknown: bool = True) -> dict[str, Any]:
        """Call ``/cgi-bin/<path>`` with the app's token; refresh and retry once on 40014/42001.
        ``body``: the exact JSON bytes to send instead of ``payload``."""
        api = path.strip("/")
        for refreshed in (False, True):
            token = await self.token(app)
            try:
                return await self._request(
                    method, f"{self.base_url}/cgi-bin/{api}", api,
                    params={**(params or {}), "access_token": token},
                    json=payload if method == "POST" and body is None else None,
                    data=body, retry_unknown=retry_unknown)
            except WeComTokenError:
                self.drop_token(app)
                if refreshed:
                    raise
                log.info("access token rejected by %s; refreshing once", api)
        raise AssertionError("unreachable")

    # -- the one read a handler does itself (微信客服's "there is news": pull it) -------------

    async def kf_sync_msg(self, token: str, open_kfid: str, cursor: str | None = None,
                          limit: int = 1000) -> dict[str, Any]:
        body: dict[str, Any] = {"token": token, "open_kfid": open_kfid, "limit": limit}
        if cursor:
            body["cursor"] = cursor
        return await self.call("kf/sync_msg", body)

    # -- the outbox's entry ------------------------------------------------------------------

    async def perform(self, api: str, payload: dict[str, Any], body: str | None = None, *,
                      retry_unknown: bool = True) -> dict[str, Any]:
        """Run one outbox row: ``api`` names the call, ``payload`` its routing and body,
        ``body`` the stored request JSON to send byte for byte (bot/outbox.py)."""
        data = body.encode("utf-8") if body is not None else None
        if api == "response_url":
            return await self._request("POST", payload["url"], "response_url",
                                       json=None if data else payload["body"], data=data,
                                       retry_unknown=retry_unknown)
        if api == "webhook":
            return await self._request("POST", f"{self.base_url}/cgi-bin/webhook/send",
                                       "webhook", params={"key": payload["key"]},
                                       json=None if data else payload["body"], data=data,
                                       retry_unknown=retry_unknown)
        if api in ("message/send", "message/update_template_card", "appchat/send",
                   "kf/send_msg"):
            return await self.call(api, payload, body=data, retry_unknown=retry_unknown)
        raise ValueError(f"unknown outbox api {api!r}")
