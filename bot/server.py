"""The HTTP edge: callback routes, health and metrics.

A callback only verifies, decrypts, parses, stores (group commit) and acks with an empty 200
[doc 90238: WeCom waits 5 s, then retries]. Anything that is not a genuine WeCom payload gets a
4xx, one log line, and nothing stored — whatever it is, never a 500; a 503 only means that
storing failed (WeCom retries). Handling happens later, in the worker.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from bot.aibot import event_from_aibot_json
from bot.crypto import CryptoError, ReceiveIdError, SignatureError, WeComCrypto
from bot.events import event_from_app_xml
from bot.inbox import InboxWriter, Unstorable
from bot.metrics import CONTENT_TYPE_LATEST, Metrics
from bot.payloads import PayloadError, parse_json, parse_xml
from models.messages import Event
from scheduler.clock import Clock

log = logging.getLogger("bot.server")

MAX_BODY = 1024 * 1024  # 1 MiB: nothing WeCom sends comes close


class Reject(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def raw_query(request: web.Request) -> dict[str, str]:
    """Query parameters percent-decoded exactly once, ``+`` kept as ``+`` [doc 91144].

    (Form decoding would turn the ``+`` of a base64 ``echostr`` into a space.)
    """
    out: dict[str, str] = {}
    for part in request.rel_url.raw_query_string.split("&"):
        if part:
            k, _, v = part.partition("=")
            out.setdefault(unquote(k), unquote(v))
    return out


@dataclass
class Channel:
    """One callback endpoint: its crypto and how its plaintext becomes an Event."""

    name: str  # app | aibot
    crypto: WeComCrypto
    extract_encrypt: Callable[[bytes], str]
    parse: Callable[[str], Event]


def _encrypt_value(enc: object, what: str) -> str:
    if not isinstance(enc, str) or not enc:
        raise PayloadError(f"no {what}")
    if not enc.isascii():  # base64; anything else could not even be signed (lone surrogates)
        raise PayloadError(f"{what} is not base64 text")
    return enc


def encrypt_from_xml(body: bytes) -> str:
    """The ``Encrypt`` of an app callback's envelope (nesting bounded, DTDs refused)."""
    return _encrypt_value(parse_xml(body).get("Encrypt"), "Encrypt element")


def encrypt_from_json(body: bytes) -> str:
    """The ``encrypt`` of an AI-bot callback's envelope (UTF-8 JSON, nesting bounded)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError("body is not UTF-8") from None
    outer = parse_json(text, "body")
    return _encrypt_value(outer.get("encrypt") if isinstance(outer, dict) else None,
                          "encrypt field")


class _Unexpected(PayloadError):
    public = "unreadable payload"


def _unexpected(exc: Exception) -> PayloadError:
    """A parser bug met this payload: still a 4xx for the sender; the log says where."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno}" if frames else ""
    return _Unexpected(f"unreadable payload ({type(exc).__name__}{where})")


def app_channel(crypto: WeComCrypto) -> Channel:
    return Channel("app", crypto, encrypt_from_xml, event_from_app_xml)


def aibot_channel(crypto: WeComCrypto) -> Channel:
    return Channel("aibot", crypto, encrypt_from_json, event_from_aibot_json)


class CallbackServer:
    def __init__(self, *, channels: dict[str, Channel], writer: InboxWriter, metrics: Metrics,
                 clock: Clock, max_skew_seconds: int = 0,
                 health: Callable[[], Any] | None = None,
                 refresh_gauges: Callable[[], Any] | None = None,
                 verbose_health: Callable[[], Awaitable[dict[str, Any]]] | None = None) -> None:
        self.channels = channels
        self.writer = writer
        self.metrics = metrics
        self.clock = clock
        self.max_skew = max_skew_seconds
        self.health = health
        self.refresh_gauges = refresh_gauges
        # /healthz?verbose=1: the setup doctor's checks, handed in by main.py (bot/ knows no
        # use case); {"ok": bool, "checks": [...]}, never a secret.
        self.verbose_health = verbose_health
        self.accepting = True

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        for path, name in (("/wecom/callback", "app"), ("/wecom/aibot", "aibot")):
            app.router.add_get(path, self._verify_url_handler(name))
            app.router.add_post(path, self._callback_handler(name))
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.metrics_route)
        return app

    # -- shared checks ----------------------------------------------------------------------

    def _channel(self, name: str) -> Channel:
        ch = self.channels.get(name)
        if ch is None:
            raise Reject(404, f"{name} callback is not configured")
        return ch

    def _params(self, request: web.Request) -> tuple[str, str, str, dict[str, str]]:
        q = raw_query(request)
        sig, ts, nonce = q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", "")
        if not (sig and ts and nonce):
            raise Reject(400, "missing msg_signature, timestamp or nonce")
        if self.max_skew:
            try:
                skew = abs(self.clock.now().timestamp() - int(ts))
            except (ValueError, OverflowError):  # not digits, or far beyond any clock
                raise Reject(400, "timestamp is not a usable integer") from None
            if skew > self.max_skew:
                raise Reject(403, f"timestamp outside the {self.max_skew}s window")
        return sig, ts, nonce, q

    def _reject(self, channel: str, request: web.Request, exc: Exception) -> web.Response:
        if isinstance(exc, Reject):
            status, reason = exc.status, exc.reason
        elif isinstance(exc, (SignatureError, ReceiveIdError)):
            status, reason = 403, exc.reason
        elif isinstance(exc, CryptoError):
            status, reason = 400, exc.reason
        elif isinstance(exc, web.HTTPRequestEntityTooLarge):
            status, reason = 413, "body over 1 MiB"
        else:  # PayloadError
            status, reason = 400, str(exc)
        reason = reason.replace("\n", " ")  # one log line, whatever a message holds
        self.metrics.callbacks.labels(channel, f"rejected_{status}").inc()
        log.warning("callback rejected: channel=%s status=%d reason=%s remote=%s",
                    channel, status, reason, request.remote)
        # Where our own code failed is for the log, not for whoever sent the request.
        return web.Response(status=status, text=getattr(exc, "public", reason))

    # -- routes -----------------------------------------------------------------------------

    def _verify_url_handler(self, name: str):
        async def handler(request: web.Request) -> web.StreamResponse:
            try:
                ch = self._channel(name)
                sig, ts, nonce, q = self._params(request)
                echostr = q.get("echostr", "")
                if not echostr:
                    raise Reject(400, "missing echostr")
                plain = ch.crypto.verify_and_decrypt(sig, ts, nonce, echostr)
            except (Reject, CryptoError) as exc:
                return self._reject(name, request, exc)
            except Exception as exc:  # never a 500 for what a sender can put in a request
                return self._reject(name, request, _unexpected(exc))
            self.metrics.callbacks.labels(name, "url_verified").inc()
            # The bare plaintext: no quotes, BOM or newline [doc 90238].
            return web.Response(body=plain.message, content_type="text/plain")

        return handler

    def _callback_handler(self, name: str):
        # The channel's series, looked up once (labels() per ack was ~2.5 µs of it).
        counted = {True: self.metrics.callbacks.labels(name, "stored"),
                   False: self.metrics.callbacks.labels(name, "duplicate")}
        acks, latency = self.metrics.acks.labels(name), self.metrics.ack_latency.labels(name)

        async def handler(request: web.Request) -> web.StreamResponse:
            started = time.perf_counter()
            if not self.accepting:
                return web.Response(status=503, text="shutting down")
            try:
                ch = self._channel(name)
                sig, ts, nonce, _ = self._params(request)
                body = await request.read()
                encrypt = ch.extract_encrypt(body)
                plain = ch.crypto.verify_and_decrypt(sig, ts, nonce, encrypt)
                event = ch.parse(plain.text)
            except (Reject, CryptoError, PayloadError, web.HTTPRequestEntityTooLarge) as exc:
                return self._reject(name, request, exc)
            except UnicodeDecodeError:
                return self._reject(name, request, PayloadError("plaintext is not UTF-8"))
            except Exception as exc:  # never a 500 for what a sender can put in a request
                return self._reject(name, request, _unexpected(exc))
            try:
                fresh = await self.writer.store(event)
            except Unstorable as exc:
                # This event itself can never be stored (the others of its batch were).
                return self._reject(name, request, Reject(400, exc.reason))
            except Exception:
                # A storage fault (database down or locked): not stored, so not acked, and
                # WeCom retries.
                self.metrics.callbacks.labels(name, "store_failed").inc()
                return web.Response(status=503, text="try again")
            counted[bool(fresh)].inc()
            acks.inc()
            latency.observe(time.perf_counter() - started)
            return web.Response(status=200)  # empty body: ack with no passive reply

        return handler

    async def healthz(self, request: web.Request) -> web.Response:
        try:
            info = await self.health() if self.health else {}
        except Exception as exc:
            return web.json_response({"status": "unhealthy", "error": type(exc).__name__},
                                     status=503)
        if self.verbose_health and request.query.get("verbose") in ("1", "true", "yes"):
            try:
                doctor = await self.verbose_health()
            except Exception as exc:
                doctor = {"ok": False, "error": type(exc).__name__}
            ok = bool(doctor.get("ok"))
            # 503 while a check fails: a monitor polling the verbose form alerts a person.
            return web.json_response({"status": "ok" if ok else "degraded", **info,
                                      "doctor": doctor}, status=200 if ok else 503,
                                     dumps=functools.partial(json.dumps, ensure_ascii=False))
        return web.json_response({"status": "ok", **info})

    async def metrics_route(self, request: web.Request) -> web.Response:
        if self.refresh_gauges:
            try:
                await self.refresh_gauges()
            except Exception:
                log.warning("could not read queue depths for /metrics")
        resp = web.Response(body=self.metrics.render())
        resp.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return resp
