"""The HTTP API under /api: keys, scopes, rate limits, idempotency and RFC 9457 errors.

Mounted by ``main.py`` beside the callbacks (``bot/`` knows no use case). Every route comes
from ``openapi.OPS``; a handler is looked up by its operationId. Whatever a caller sends, the
answer is a 2xx or a 4xx ``application/problem+json`` — a 500 only for our own bug, and then
without its details (they go to the log).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from handlers.board.config import ApiConfig
from handlers.board.keys import find_key
from handlers.board.openapi import OPS, Op, document
from handlers.board.params import check as check_params
from handlers.board.usecases import Refused
from handlers.services import Services
from models.api import ApiIdempotency
from models.db import WriteGate, write_session
from models.settlement import _insert_ignore_any  # ON CONFLICT DO NOTHING, any key
from scheduler.clock import Clock

log = logging.getLogger("handlers.board.api")

PROBLEM = "application/problem+json"
MAX_BODY = 256 * 1024
KEY_CACHE_SECONDS = 30.0
_IDEM = re.compile(r"^[\x21-\x7e]{1,255}$")
_dumps = functools.partial(json.dumps, ensure_ascii=False, default=str)


def problem(status: int, slug: str, title: str, detail: str, *, instance: str | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> web.Response:
    body = {"type": f"/api/problems/{slug}", "title": title, "status": status,
            "detail": detail, **({"instance": instance} if instance else {}), **extra}
    return web.Response(status=status, text=_dumps(body), content_type=PROBLEM,
                        headers=headers)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None
                  ) -> web.Response:
    return web.Response(status=status, text=_dumps(data), content_type="application/json",
                        headers=headers)


class TokenBuckets:
    """Requests per minute per key, as a token bucket on the injected clock: a burst up to the
    minute's allowance, refilled continuously. Per process (N replicas allow N× the rate)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._state: dict[int, tuple[float, datetime]] = {}

    def take(self, key_id: int, per_minute: int) -> tuple[bool, int, float]:
        """(allowed, tokens left, seconds until one more)."""
        now = self.clock.now()
        tokens, at = self._state.get(key_id, (float(per_minute), now))
        rate = per_minute / 60.0
        tokens = min(float(per_minute), tokens + max(0.0, (now - at).total_seconds()) * rate)
        if tokens < 1.0:
            self._state[key_id] = (tokens, now)
            return False, 0, (1.0 - tokens) / rate
        self._state[key_id] = (tokens - 1.0, now)
        return True, int(tokens - 1.0), 0.0


@dataclass
class Caller:
    key_id: int
    name: str
    scopes: list[str]
    rate: int


Handler = Callable[["Api", web.Request, Caller, Any], Awaitable[web.StreamResponse]]


class Api:
    """The API's state: the database, the services the use cases need, the clock."""

    def __init__(self, sm: Any, gate: WriteGate | None, services: Services, clock: Clock,
                 config: ApiConfig, *, on_event: Callable[[], None] | None = None) -> None:
        self.sm, self.gate, self.services, self.clock = sm, gate, services, clock
        self.config = config
        self.on_event = on_event  # wakes the worker: a use case raised an internal event
        self.buckets = TokenBuckets(clock)
        self._keys: dict[str, tuple[Any, float]] = {}
        self.handlers: dict[str, Handler] = {}
        from handlers.board import finance_api, orders, routes  # register their handlers

        for module in (routes, orders, finance_api):
            self.handlers.update(module.HANDLERS)

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY, middlewares=[self._problems])
        app.router.add_get("/openapi.json", self.openapi, allow_head=False)
        for op in OPS:
            app.router.add_route(op.method, op.path, self._route(op))
        from handlers.board import orders

        orders.add_form_routes(self, app)
        return app

    async def openapi(self, request: web.Request) -> web.Response:
        return json_response(document())

    # -- every request ----------------------------------------------------------------------

    @web.middleware
    async def _problems(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            return await handler(request)
        except Refused as exc:
            return problem(exc.status, exc.slug, exc.title, exc.detail,
                           instance=request.path)
        except ValidationError as exc:
            errors = [{"field": ".".join(str(x) for x in e["loc"]), "message": e["msg"]}
                      for e in exc.errors()]
            return problem(422, "invalid-body", "Invalid request body",
                           f"{len(errors)} field(s) invalid", instance=request.path,
                           errors=errors)
        except web.HTTPRequestEntityTooLarge:
            return problem(413, "too-large", "Body too large", "the body is over 256 KiB")
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
            return problem(exc.status, "http-" + str(exc.status), exc.reason,
                           f"{request.method} {request.path}: {exc.reason}", headers=headers)
        except Exception:
            log.exception("API %s %s failed", request.method, request.path)
            return problem(500, "internal", "Internal error",
                           "the request failed on our side; it was logged")

    def _route(self, op: Op) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            caller = None
            if op.scope:
                caller = await self.authenticate(request, op.scope)
                allowed, left, wait = self.buckets.take(caller.key_id, caller.rate)
                if not allowed:
                    return problem(429, "rate-limited", "Too many requests",
                                   f"this key allows {caller.rate} requests a minute",
                                   headers={"Retry-After": str(max(1, int(wait + 0.999)))})
            check_params(op, request.match_info, request.query)
            body = await self.read_body(request, op.body) if op.body else None
            fn = self.handlers[op.op_id]
            if op.idempotent_create:
                return await self.idempotent(request, op, caller, body, fn)  # type: ignore[arg-type]
            return await fn(self, request, caller, body)  # type: ignore[arg-type]

        return handle

    async def authenticate(self, request: web.Request, scope: str) -> Caller:
        auth = request.headers.get("Authorization", "")
        kind, _, presented = auth.partition(" ")
        if kind.lower() != "bearer" or not presented.strip():
            raise Refused(401, "unauthorized", "No valid API key",
                          "send Authorization: Bearer <key>")
        row = await self._key(presented.strip())
        if row is None:
            raise Refused(401, "unauthorized", "No valid API key",
                          "the key is unknown or revoked")
        if scope not in (row.scopes or []):
            raise Refused(403, "forbidden", "Missing scope",
                          f"this key's scopes do not include {scope}")
        return Caller(row.id, row.name, list(row.scopes),  # type: ignore[arg-type]
                      row.rate_per_minute)

    async def _key(self, presented: str) -> Any:
        """The key's row, remembered for ``KEY_CACHE_SECONDS`` (a revoked key stops working
        within that long; an unknown one is looked up every time)."""
        digest = hashlib.sha256(presented.encode("utf-8", "replace")).hexdigest()
        now = time.monotonic()
        hit = self._keys.get(digest)
        if hit is not None and hit[1] > now:
            return hit[0]
        async with self.sm() as s:
            row = await find_key(s, presented)
        if row is not None:
            if len(self._keys) > 10_000:
                self._keys.clear()
            self._keys[digest] = (row, now + KEY_CACHE_SECONDS)
        return row

    async def read_body(self, request: web.Request, model: type[BaseModel]) -> BaseModel:
        ctype = request.headers.get("Content-Type", "")
        if not ctype.split(";")[0].strip().lower().endswith("json"):
            raise Refused(415 if ctype else 400, "json-required", "JSON body required",
                          "send Content-Type: application/json")
        raw = await request.read()
        try:
            return model.model_validate_json(raw or b"null", strict=True)
        except ValidationError as exc:
            if any(e["type"] == "json_invalid" for e in exc.errors()):
                raise Refused(400, "invalid-json", "Body is not JSON",
                              "the body could not be read as UTF-8 JSON") from None
            raise

    # -- idempotent creates -----------------------------------------------------------------

    async def idempotent(self, request: web.Request, op: Op, caller: Caller, body: BaseModel,
                         fn: Handler) -> web.StreamResponse:
        """Run a create once per (key, Idempotency-Key): the first answer is stored with what
        it created, in the same transaction; the same key again gets that answer back, and
        the same key with another body a 422."""
        idem = request.headers.get("Idempotency-Key", "")
        if not _IDEM.match(idem):
            raise Refused(400, "idempotency-key-required", "Idempotency-Key required",
                          "send an Idempotency-Key header (1–255 visible ASCII characters)")
        operation = f"{op.method} {op.path}"
        digest = hashlib.sha256((operation + "\n" + request.path + "\n" +
                                 body.model_dump_json()).encode("utf-8")).hexdigest()
        request["idem"] = f"{caller.name}:{idem}"
        for _ in range(2):
            replay = await self._stored(caller.key_id, idem, digest)
            if replay is not None:
                return replay
            try:
                async with write_session(self.sm, self.gate) as s:
                    got = await s.execute(_insert_ignore_any(s, ApiIdempotency.__table__)
                                          .returning(ApiIdempotency.__table__.c.id),
                                          [{"api_key_id": caller.key_id, "idem_key": idem,
                                            "operation": operation, "request_hash": digest,
                                            "status_code": 0, "response": {},
                                            "created_at": self.clock.now()}])
                    row_id = got.scalar_one_or_none()
                    if row_id is None:  # stored meanwhile by a concurrent request
                        raise _Concurrent
                    request["session"] = s
                    resp = await fn(self, request, caller, body)
                    await s.execute(update(ApiIdempotency).where(ApiIdempotency.id == row_id)
                                    .values(status_code=resp.status,
                                            response=json.loads(resp.text or "null")))
            except (_Concurrent, IntegrityError):
                continue
            if self.on_event:
                self.on_event()
            return resp
        raise Refused(409, "idempotency-conflict", "Request in progress",
                      "another request with this Idempotency-Key is being handled; retry")

    async def _stored(self, key_id: int, idem: str, digest: str) -> web.Response | None:
        async with self.sm() as s:
            row = (await s.execute(select(ApiIdempotency).where(
                ApiIdempotency.api_key_id == key_id, ApiIdempotency.idem_key == idem))
            ).scalar_one_or_none()
        if row is None:
            return None
        if row.request_hash != digest:
            raise Refused(409, "idempotency-key-reused", "Idempotency-Key reused",
                          "this Idempotency-Key was used for a different request")
        return json_response(row.response, row.status_code,
                             headers={"Idempotent-Replayed": "true"})


class _Concurrent(Exception):
    pass

