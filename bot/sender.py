"""The outbox sender: paced, retried, durable.

Pacing is derived from the outbox itself (how many messages to this recipient WeCom accepted in
each window), so it survives restarts and needs no in-memory bucket. A message that would go over
a window waits until the window has room, because WeCom drops excess messages silently.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.client import WeComClient, WeComError
from bot.logs import event_id_var
from bot.loop import WakeableLoop
from bot.metrics import Metrics
from bot.outbox import PACING
from models.cards import card_code_add
from models.db import WriteGate, write_session
from models.queues import (backoff, outbox_defer, outbox_due, outbox_mark_sent,
                           outbox_record_failure, outbox_sent_since)
from models.tables import OutboxMessage
from scheduler.clock import Clock

log = logging.getLogger("bot.sender")


class OutboxSender(WakeableLoop):
    name = "outbox-sender"

    def __init__(self, sessionmaker: async_sessionmaker, client: WeComClient, clock: Clock,
                 metrics: Metrics, *, max_attempts: int = 8, batch: int = 50,
                 poll_seconds: float = 1.0, gate: WriteGate | None = None) -> None:
        super().__init__()
        self.sm = sessionmaker
        self.gate = gate
        self.client = client
        self.clock = clock
        self.metrics = metrics
        self.max_attempts = max_attempts
        self.batch = batch
        self.poll_seconds = poll_seconds

    async def run_once(self) -> int:
        """Send every due head message once; returns how many calls were made."""
        now = self.clock.now()
        async with self.sm() as session:
            rows = await outbox_due(session, now, self.batch)
        results = await asyncio.gather(*(self._send(r) for r in rows))
        return sum(results)

    async def _paced_until(self, row: OutboxMessage):
        now = self.clock.now()
        async with self.sm() as session:
            for window, limit in PACING.get(row.api, ()):
                count, oldest = await outbox_sent_since(
                    session, row.pace_key, now - timedelta(seconds=window))
                if count >= limit and oldest is not None:
                    return oldest + timedelta(seconds=window)
        return None

    async def _send(self, row: OutboxMessage) -> int:
        token = event_id_var.set(f"out{row.id}")
        try:
            until = await self._paced_until(row)
            if until is not None:
                self.metrics.outbox_deferred.labels(row.api).inc()
                async with write_session(self.sm, self.gate) as session:
                    await outbox_defer(session, row.id, until)
                return 0
            try:
                result = await self.client.perform(row.api, row.payload)
            except WeComError as exc:
                await self._failed(row, exc)
                return 1
            except Exception as exc:  # a bug or a bad payload: park it, keep the sender alive
                log.exception("outbox message %s could not be sent", row.id)
                await self._failed(row, WeComError(None, type(exc).__name__, row.api))
                return 1
            async with write_session(self.sm, self.gate) as session:
                await outbox_mark_sent(session, row.id, self.clock.now(), result)
                card = row.payload.get("template_card") if row.api == "message/send" else None
                if card and isinstance(result, dict) and result.get("response_code"):
                    # The code that can update this card later, once [doc 94888].
                    await card_code_add(session, card.get("task_id", ""),
                                        str(row.payload.get("touser", "")),
                                        result["response_code"], "send", self.clock.now())
            self.metrics.outbox_sent.labels(row.api).inc()
            return 1
        finally:
            event_id_var.reset(token)

    async def _failed(self, row: OutboxMessage, exc: WeComError) -> None:
        attempts = row.attempts + 1
        now = self.clock.now()
        retry = exc.retryable and attempts < self.max_attempts
        retry_at = now + backoff(attempts) if retry else None
        if retry:
            self.metrics.outbox_retries.labels(row.api, str(exc.errcode)).inc()
            log.warning("send %s to %s failed (%s); retry %d at %s", row.api, row.pace_key,
                        exc, attempts, retry_at.isoformat())
        else:
            log.error("send %s to %s parked after %d attempt(s): %s — needs a person",
                      row.api, row.pace_key, attempts, exc)
        async with write_session(self.sm, self.gate) as session:
            await outbox_record_failure(session, row.id, str(exc), now, retry_at)
