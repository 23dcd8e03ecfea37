"""The outbox sender: claimed, paced, retried, durable.

* **Claimed.** Each round claims the due head message of each recipient with a lease
  (``models.queues.outbox_claim``): two senders — two bot processes — never take the same row.
* **Exactly once as far as WeCom allows.** The stored request body is sent byte for byte, first
  time and every time after; what happens after an attempt whose outcome is unknown (the process
  died mid-call and the lease ran out, or WeCom answered after the client's timeout) follows the
  row's delivery kind (``bot.outbox.DELIVERY``): resent where WeCom's duplicate check or a
  once-only ``response_url``/``response_code`` makes a second copy impossible, resent on purpose
  where a gap would be worse than a rare duplicate, parked for a person where it would not.
* **Paced.** Pacing is derived from the outbox itself (how many messages to this recipient WeCom
  accepted in each window), so it survives restarts; kept in memory where this is the only
  sender (``bot.pacing``). A message that would go over a window waits until the window has
  room, because WeCom drops excess messages silently.
* **Marked sent together.** The calls of a round run at once; each one's ``sent`` mark joins
  the next write transaction of marks instead of taking its own. On SQLite every write
  transaction takes a turn at the gate, between the worker's batches: one turn per sent
  message made a round of N sends wait behind about N/2 worker batches. A mark is still
  written as soon as a transaction is free, after its call, never before; if a shared
  transaction fails, each mark is written alone, so one bad row does not undo the others.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.client import WeComClient, WeComError, WeComResponseCodeError, WeComTransportError
from bot.logs import event_id_var
from bot.loop import WakeableLoop
from bot.metrics import Metrics
from bot.outbox import AT_MOST_ONCE, DUPLICATE_CHECK_SECONDS, ONCE, wire_body
from bot.pacing import PaceWindows
from models.cards import remember_send_code
from models.db import WriteGate, write_session
from models.queues import (backoff, outbox_claim, outbox_defer, outbox_due, outbox_mark_sent,
                           outbox_record_failure, outbox_release)
from models.tables import OutboxMessage
from scheduler.clock import Clock

log = logging.getLogger("bot.sender")

#: How long a claimed row is this sender's (``SENDER_LEASE_SECONDS``): longer than one call
#: with the client's own retries (4 × 10 s timeouts + backoff). A sender that dies leaves the
#: row to be taken again after this, as a row whose last attempt is unknown.
LEASE = timedelta(seconds=60)
#: WeCom's answers to a resend of something that already went through: a spent response_url
#: (the sandbox's 40192; WeCom documents none) or a spent card response_code.
SPENT_URL = 40192


class OutboxSender(WakeableLoop):
    name = "outbox-sender"

    def __init__(self, sessionmaker: async_sessionmaker, client: WeComClient, clock: Clock,
                 metrics: Metrics, *, max_attempts: int = 8, batch: int = 50,
                 poll_seconds: float = 1.0, gate: WriteGate | None = None,
                 lease: timedelta = LEASE) -> None:
        super().__init__()
        self.sm = sessionmaker
        self.gate = gate
        self.client = client
        self.clock = clock
        self.metrics = metrics
        self.max_attempts = max_attempts
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.lease = lease
        # One sender per SQLite database (its one worker process): its own count is the count.
        self.pace = PaceWindows(sessionmaker, shared=not (gate is not None and gate.enabled))
        self._marks: list[tuple[OutboxMessage, dict, asyncio.Future[None]]] = []
        self._marker: asyncio.Task[None] | None = None  # writing marks while not done

    async def run_once(self) -> int:
        """Claim every due head message, send each once; returns how many calls were made."""
        now = self.clock.now()
        async with self.sm() as session:  # a read first: an idle sender takes no write lock
            if not await outbox_due(session, now, 1):
                return 0
        async with write_session(self.sm, self.gate) as session:
            rows = await outbox_claim(session, now, self.batch, self.lease)
        # The round's heads are one per recipient: their windows are read together.
        try:
            waits = await self.pace.until([(r.api, r.pace_key) for r in rows], self.clock.now())
        except Exception:
            await self._release(rows)
            raise
        # Every call of the round ends (and its mark is written) before the round does, even
        # when one of them failed: the first failure is raised after that.
        results = await asyncio.gather(*(self._send(r, waits.get(r.pace_key)) for r in rows),
                                       return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            raise failed[0]
        return sum(results)  # type: ignore[arg-type]

    async def _release(self, rows: list[OutboxMessage]) -> None:
        """Nothing of the round was attempted: its rows go back unclaimed, instead of coming
        back after the lease as sends whose outcome is unknown (an at-most-once notice would
        be parked, never sent). A row that was already unknown stays so."""
        try:
            async with write_session(self.sm, self.gate) as session:
                await outbox_release(session, [r.id for r in rows if r.lease_until is None])
        except Exception:
            log.warning("could not hand back %d claimed outbox rows; they are taken again "
                        "when their lease runs out", len(rows), exc_info=True)

    async def _send(self, row: OutboxMessage, until: datetime | None) -> int:
        """``until``: the recipient's window is full until then (the round read it)."""
        token = event_id_var.set(f"out{row.id}")
        try:
            # The last attempt's outcome is unknown: a sender died mid-call (its lease ran out)
            # or the call timed out after the request left.
            uncertain = row.lease_until is not None
            if uncertain and not await self._may_resend(row, row.last_error or "the sender "
                                                        "stopped during the call"):
                return 0
            if until is not None:
                self.metrics.outbox_deferred.labels(row.api).inc()
                async with write_session(self.sm, self.gate) as session:
                    await outbox_defer(session, row.id, until,
                                       unknown_since=row.lease_until if uncertain else None)
                return 0
            body = row.body if row.body is not None else wire_body(
                row.payload["body"] if row.api in ("response_url", "webhook") else row.payload)
            try:
                # Only WeCom's duplicate check makes an immediate blind repeat safe; any other
                # unknown outcome comes back here and is decided by the row's delivery kind.
                result = await self.client.perform(row.api, row.payload, body,
                                                   retry_unknown=row.api == "message/send")
            except WeComTransportError as exc:
                if exc.unknown and row.delivery == AT_MOST_ONCE:
                    await self._park_unknown(row, str(exc))
                else:
                    await self._failed(row, exc, unknown=exc.unknown)
                return 1
            except WeComError as exc:
                if uncertain and self._spent(row, exc):
                    await self._mark_sent(row, {"errcode": 0, "assumed": "delivered before the "
                                                f"restart; the resend was refused: {exc}"})
                    return 1
                await self._failed(row, exc)
                return 1
            except Exception as exc:  # a bug or a bad payload: park it, keep the sender alive
                log.exception("outbox message %s could not be sent", row.id)
                await self._failed(row, WeComError(None, type(exc).__name__, row.api))
                return 1
            await self._mark_sent(row, result)
            self.metrics.outbox_sent.labels(row.api).inc()
            return 1
        finally:
            event_id_var.reset(token)

    async def _may_resend(self, row: OutboxMessage, why: str) -> bool:
        """After an unknown outcome: True if this row's delivery kind allows sending it again."""
        if row.delivery == AT_MOST_ONCE:
            await self._park_unknown(row, why)
            return False
        if row.api == "message/send" and (
                self.clock.now() - row.created_at).total_seconds() > DUPLICATE_CHECK_SECONDS:
            # Past WeCom's duplicate-check interval a resend could arrive twice.
            await self._park_unknown(row, why + "; older than WeCom's duplicate check")
            return False
        log.info("resending outbox message %s (%s) after an unknown outcome: %s", row.id,
                 row.delivery, why)
        return True

    @staticmethod
    def _spent(row: OutboxMessage, exc: WeComError) -> bool:
        """A once-only target refused the resend: the first attempt went through."""
        if row.delivery == ONCE:
            return exc.errcode == SPENT_URL
        return row.api == "message/update_template_card" and isinstance(
            exc, WeComResponseCodeError)

    async def _mark_sent(self, row: OutboxMessage, result: dict) -> None:
        """Record the send; returns once it is committed (with other marks, see the module)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._marks.append((row, result, done))
        if self._marker is None or self._marker.done():
            # Kept in an attribute: the event loop holds its tasks only weakly.
            self._marker = asyncio.create_task(self._write_marks())
        await done

    async def _write_marks(self) -> None:
        marks: list[tuple[OutboxMessage, dict, asyncio.Future[None]]] = []
        try:
            while self._marks:
                marks, self._marks = self._marks, []
                try:
                    await self._commit_marks(marks)
                except Exception as exc:
                    if len(marks) == 1:
                        _settle(marks[0][2], exc)
                        continue
                    log.warning("%d sent marks could not commit together (%s: %s); writing "
                                "each alone", len(marks), type(exc).__name__, exc)
                    for mark in marks:
                        try:
                            await self._commit_marks([mark])
                        except Exception as one:
                            _settle(mark[2], one)
                marks = []
        except BaseException as exc:  # cancelled (shutdown): nobody may wait for ever
            for _, _, done in marks + self._marks:
                _settle(done, exc)
            self._marks = []
            raise

    async def _commit_marks(self, marks: list[tuple[OutboxMessage, dict, asyncio.Future[None]]]
                            ) -> None:
        now = self.clock.now()
        async with write_session(self.sm, self.gate) as session:
            await outbox_mark_sent(session, [(row.id, result) for row, result, _ in marks], now)
            for row, result, _ in marks:
                if row.api == "message/send":  # a card's code can update it later, once
                    await remember_send_code(session, row.payload, result, now)
        for row, _, done in marks:
            self.pace.sent(row.pace_key, now)
            _settle(done, None)

    async def _park_unknown(self, row: OutboxMessage, why: str) -> None:
        """At most once: not resent, parked for a person to decide (``python main.py parked``)."""
        log.error("send %s to %s: outcome unknown (%s); not resent (%s) — parked for a person",
                  row.api, row.pace_key, why, row.delivery)
        self.metrics.outbox_retries.labels(row.api, "unknown").inc()
        async with write_session(self.sm, self.gate) as session:
            await outbox_record_failure(session, row.id, f"outcome unknown: {why}; not resent "
                                        f"({row.delivery})", self.clock.now(), None)

    async def _failed(self, row: OutboxMessage, exc: WeComError, unknown: bool = False) -> None:
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
            await outbox_record_failure(session, row.id, str(exc), now, retry_at,
                                        unknown=unknown)


def _settle(done: asyncio.Future[None], error: BaseException | None) -> None:
    """Tell the send waiting for its mark (unless it stopped waiting: shutdown)."""
    if done.done():
        return
    if error is None:
        done.set_result(None)
    elif isinstance(error, asyncio.CancelledError):
        done.cancel()
    else:
        done.set_exception(error)
