"""Status goes back: signed webhooks (and the orders' SMS) from a durable outbox.

One durable timer, ``api:pump`` (``scheduler/timers.py``: it fires once across replicas, as an
inbox event on its own conversation), drives everything, every ``poll_seconds`` while there is
anything to send or any webhook configured:

1. ``deliver`` (the timer's ``prepare`` step, outside the event's transaction, because it
   talks to the network): for each target (``webhook:<name>``, ``sms``) its due pending
   deliveries, oldest first, are claimed with a lease (two replicas never post the same one),
   posted in order — a failure stops that target, so receivers see each ticket's news in order —
   and every attempt is logged (``api_delivery_attempt``). A failed delivery is retried with
   ``models.queues.backoff`` (2, 4, 8 … s, at most 10 min) and parked after ``max_attempts``.
2. ``collect`` (the handler, in the event's transaction): new status changes from the audit
   trail (``ticket_event``, action ``status:*``, which ``handlers/lifecycle.transition`` writes
   for every change) and new statements become ``api_event`` rows (unique per source row) and
   one delivery per webhook that wants them, with the exact body that every attempt sends.

Signature: ``X-WO-Signature: sha256=<hex HMAC-SHA256(secret, "<X-WO-Timestamp>.<body>")>``;
``X-WO-Timestamp`` (Unix seconds) is set per attempt; ``X-WO-Event-Id`` is stable across retries
(receivers deduplicate on it). Delivery is at least once, in order per webhook.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from handlers.board.config import ApiConfig
from handlers.board.sms import SmsError, SmsSender
from models.api import ApiDelivery, ApiDeliveryAttempt
from models.db import WriteGate, write_session
from models.messages import Event
from models.queues import backoff
from scheduler.clock import Clock
from scheduler.timers import arm

log = logging.getLogger("handlers.board.webhooks")

PUMP_KEY, PUMP_KIND, PUMP_CONVERSATION = "api:pump", "api_pump", "api:pump"
LEASE = timedelta(seconds=120)
BATCH = 50  # deliveries per target per pump


def sign(secret: str, timestamp: str, body: str) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.{body}".encode("utf-8"),
                   hashlib.sha256)
    return "sha256=" + mac.hexdigest()


async def arm_pump(session: Any, now: datetime, delay: float = 0.0) -> None:
    """Run the pump at ``now + delay`` — unless it is armed to run by then already (read
    without a lock: every order would otherwise queue on the one timer row)."""
    from models.timer import Timer

    due = now + timedelta(seconds=delay)
    armed = (await session.execute(select(Timer.due_at).where(
        Timer.key == PUMP_KEY, Timer.status == "armed"))).scalar_one_or_none()
    if armed is not None and armed <= due:
        return
    await arm(session, PUMP_KEY, due, PUMP_KIND, conversation_key=PUMP_CONVERSATION, now=now)


# -- 1. deliver (prepare: network, outside the event's transaction) --------------------------


@dataclass
class Deps:
    """What the pump needs beyond the event (registered as one service by ``main.py``)."""

    sm: async_sessionmaker
    gate: WriteGate | None
    clock: Clock
    sms: SmsSender | None = None


async def deliver(event: Event, deps: Deps, cfg: ApiConfig) -> dict[str, Any]:
    """Send what is due; returns {"sent": n, "failed": m} for the handler."""
    sm, gate, clock, sms = deps.sm, deps.gate, deps.clock, deps.sms
    claimed = await claim(sm, gate, clock.now())
    sent = failed = 0
    if not claimed:
        return {"sent": 0, "failed": 0}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(
            total=cfg.timeout_seconds)) as http:
        async def one_target(rows: list[ApiDelivery]) -> tuple[int, int]:
            ok = bad = 0
            for i, row in enumerate(rows):
                status, error, ms = await attempt(http, cfg, sms, row, clock)
                await record(sm, gate, cfg, row, status, error, ms, clock.now())
                if error is None:
                    ok += 1
                    continue
                bad += 1
                await release(sm, gate, [r.id for r in rows[i + 1:]])  # type: ignore[misc]
                break
            return ok, bad

        for ok, bad in await asyncio.gather(*(one_target(v) for v in claimed.values())):
            sent, failed = sent + ok, failed + bad
    return {"sent": sent, "failed": failed}


async def claim(sm: async_sessionmaker, gate: WriteGate | None, now: datetime
                ) -> dict[str, list[ApiDelivery]]:
    """Per target, its pending deliveries from the oldest, if the oldest is due and free."""
    out: dict[str, list[ApiDelivery]] = {}
    async with write_session(sm, gate) as s:
        heads = (await s.execute(select(ApiDelivery.target, func.min(ApiDelivery.id))
                                 .where(ApiDelivery.status == "pending")
                                 .group_by(ApiDelivery.target))).all()
        for target, head_id in heads:
            rows = list((await s.execute(
                select(ApiDelivery).where(ApiDelivery.target == target,
                                          ApiDelivery.status == "pending",
                                          ApiDelivery.id >= head_id)
                .order_by(ApiDelivery.id).limit(BATCH).with_for_update(skip_locked=True))
            ).scalars())
            if not rows or rows[0].id != head_id:
                continue  # the head is held by another replica
            head = rows[0]
            if head.next_attempt_at > now or (head.lease_until and head.lease_until > now):
                continue
            rows = [r for r in rows if r.next_attempt_at <= now
                    and not (r.lease_until and r.lease_until > now)]
            for r in rows:
                r.lease_until = now + LEASE
            out[target] = rows
    return out


async def release(sm: async_sessionmaker, gate: WriteGate | None, ids: list[int]) -> None:
    if ids:
        async with write_session(sm, gate) as s:
            await s.execute(update(ApiDelivery).where(ApiDelivery.id.in_(ids))
                            .values(lease_until=None))


async def attempt(http: aiohttp.ClientSession, cfg: ApiConfig, sms: SmsSender | None,
                  row: ApiDelivery, clock: Clock) -> tuple[int | None, str | None, int]:
    """(HTTP status, error or None, milliseconds)."""
    started = time.perf_counter()
    try:
        if row.target == "sms":
            if sms is None:
                return None, "no SMS provider configured", 0
            data = json.loads(row.body)
            await sms.send(data["phone"], data["text"], data.get("params", []),
                           key=f"api-delivery-{row.id}")
            return None, None, int((time.perf_counter() - started) * 1000)
        hook = cfg.webhook(row.target.removeprefix("webhook:"))
        if hook is None:
            return None, "webhook no longer configured", 0
        ts = str(int(clock.now().timestamp()))
        headers = {"Content-Type": "application/json", "User-Agent": "workorder-bot-webhooks",
                   "X-WO-Event-Id": f"evt_{row.event_id}", "X-WO-Timestamp": ts,
                   "X-WO-Signature": sign(hook.secret.get_secret_value(), ts, row.body)}
        async with http.post(hook.url, data=row.body.encode("utf-8"), headers=headers,
                             allow_redirects=False) as resp:
            await resp.read()
            ms = int((time.perf_counter() - started) * 1000)
            return resp.status, (None if 200 <= resp.status < 300
                                 else f"HTTP {resp.status}"), ms
    except (SmsError, aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500], int(
            (time.perf_counter() - started) * 1000)


async def record(sm: async_sessionmaker, gate: WriteGate | None, cfg: ApiConfig,
                 row: ApiDelivery, status: int | None, error: str | None, ms: int,
                 now: datetime) -> None:
    async with write_session(sm, gate) as s:
        d = await s.get(ApiDelivery, row.id)
        if d is None or d.status != "pending":
            return
        s.add(ApiDeliveryAttempt(delivery_id=d.id, at=now, status_code=status, error=error,
                                 ms=ms))
        d.attempts += 1
        d.last_status, d.last_error, d.lease_until = status, error, None
        if error is None:
            d.status, d.delivered_at = "delivered", now
        elif d.attempts >= cfg.max_attempts:
            d.status = "parked"
            log.error("delivery %s to %s parked after %d attempts: %s — needs a person",
                      d.id, d.target, d.attempts, error)
        else:
            d.next_attempt_at = now + backoff(d.attempts)
            log.warning("delivery %s to %s failed (attempt %d): %s", d.id, d.target,
                        d.attempts, error)
