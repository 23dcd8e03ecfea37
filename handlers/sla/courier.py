"""The courier: sends the SMS, emails and WeCom images (and held WeCom texts) that escalation
steps and digests queued as ``SlaDelivery`` rows, outside any handler's transaction.

* Claimed like the outbox: due rows (``not_before`` passed: quiet hours are over) are taken
  with ``FOR UPDATE SKIP LOCKED`` and a lease, so two bot processes never take the same row.
* **At most once per channel.** A row whose lease ran out while ``sending`` (the process died
  mid-call) is not sent again: it becomes ``unknown`` and the next channel is tried — SMS
  providers have no idempotency key (WORKFLOW_APIS.md §5.2), and a reminder twice is worse
  than one on another channel. WeCom sends carry the duplicate check (4 h) [doc 90236].
* **Failures fall back.** A refused or undeliverable row is ``failed`` with its error and
  the next channel of its ``fallback`` is queued (rate limits and transport errors are retried
  first, up to ``MAX_ATTEMPTS``). Every failure is logged and listed by
  ``python main.py sla deliveries`` for operators.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.client import WeComClient, WeComError
from bot.loop import WakeableLoop
from bot.mail import MailError, Mailer
from bot.media import upload_image
from bot.sms import SmsError, SmsProvider, masked
from handlers.sla import chart
from handlers.sla.config import SlaConfig
from handlers.sla.people import address
from models.db import WriteGate, write_session
from models.sla import FAILED, PENDING, SENDING, SENT, UNKNOWN, SlaDelivery, add_delivery
from models.tickets import Staff
from scheduler.clock import Clock

log = logging.getLogger("handlers.sla.courier")

MAX_ATTEMPTS = 3
BACKOFF = timedelta(seconds=30)


class Undeliverable(Exception):
    """This channel cannot carry the row (not configured, no font …): fall back."""


class SlaCourier(WakeableLoop):
    """Runs as the worker and the sender do (``bot.loop.WakeableLoop``): round after round,
    a stop lets the delivery in hand finish and puts the round's others back to pending."""

    name = "sla-courier"

    def __init__(self, sm: async_sessionmaker, clock: Clock, cfg: SlaConfig, *,
                 client: WeComClient | None, agent_id: int | None, sms: SmsProvider | None,
                 mailer: Mailer | None, gate: WriteGate | None = None,
                 lease: timedelta = timedelta(seconds=60), batch: int = 50) -> None:
        self.sm, self.clock, self.cfg = sm, clock, cfg
        self.client, self.agent_id, self.sms, self.mailer = client, agent_id, sms, mailer
        self.gate, self.lease, self.batch = gate, lease, batch
        super().__init__()
        self.sent = 0

    # -- one round ---------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Send everything due now; returns how many went out."""
        claimed = await self._claim()
        for i, row in enumerate(claimed):
            if self._stopping:  # what is not tried yet goes back, untouched
                await self._unclaim([r["id"] for r in claimed[i:]])
                return i
            await self._send(row)
        return len(claimed)

    async def _unclaim(self, ids: list[int]) -> None:
        async with write_session(self.sm, self.gate) as s:
            await s.execute(update(SlaDelivery).where(
                SlaDelivery.id.in_(ids), SlaDelivery.status == SENDING).values(
                status=PENDING, lease_until=None, attempts=SlaDelivery.attempts - 1))

    async def _claim(self) -> list[dict[str, Any]]:
        now = self.clock.now()
        async with write_session(self.sm, self.gate) as s:
            stale = list((await s.execute(select(SlaDelivery).where(
                SlaDelivery.status == SENDING, SlaDelivery.lease_until < now)
                .with_for_update(skip_locked=True))).scalars())
            for d in stale:
                d.status, d.last_error = UNKNOWN, "outcome unknown: the sender stopped mid-call"
                log.warning("delivery %s (%s to %s): outcome unknown, not resent", d.id,
                            d.channel, d.recipient)
                await self._fall_back(s, d, now)
            rows = list((await s.execute(select(SlaDelivery).where(
                SlaDelivery.status == PENDING, SlaDelivery.not_before <= now)
                .order_by(SlaDelivery.id).limit(self.batch)
                .with_for_update(skip_locked=True))).scalars())
            for d in rows:
                d.status, d.lease_until, d.attempts = SENDING, now + self.lease, d.attempts + 1
            return [{c: getattr(d, c) for c in ("id", "channel", "recipient", "address",
                                                "subject", "body", "payload", "attempts")}
                    for d in rows]

    async def _send(self, row: dict[str, Any]) -> None:
        error: str | None = None
        retry = False
        ref = ""
        try:
            ref = await self._deliver(row)
        except SmsError as exc:
            error, retry = f"sms {exc.code}", exc.retryable
        except MailError as exc:
            error, retry = f"email {exc.code}", exc.code == "transport"
        except WeComError as exc:
            error, retry = f"wecom errcode={exc.errcode} {exc.errmsg}", exc.retryable
        except Undeliverable as exc:
            error = str(exc)
        now = self.clock.now()
        async with write_session(self.sm, self.gate) as s:
            d = await s.get(SlaDelivery, row["id"], with_for_update=True)
            if d is None or d.status != SENDING:
                return
            d.lease_until = None
            if error is None:
                d.status, d.sent_at, d.provider_ref, d.last_error = SENT, now, ref[:200], None
                self.sent += 1
                return
            d.last_error = error
            if retry and d.attempts < MAX_ATTEMPTS:
                d.status, d.not_before = PENDING, now + BACKOFF * d.attempts
                log.info("delivery %s (%s) failed (%s); retrying", d.id, d.channel, error)
                return
            d.status = FAILED
            log.warning("delivery %s (%s to %s) failed: %s", d.id, d.channel, d.recipient, error)
            await self._fall_back(s, d, now)

    async def _fall_back(self, s: Any, d: SlaDelivery, now: datetime) -> None:
        rest = list(d.fallback or [])
        person = (await s.execute(select(Staff).where(Staff.userid == d.recipient))
                  ).scalar_one_or_none()
        while rest and person is not None:
            channel = rest.pop(0)
            addr = address(self.cfg, person, channel)
            if not addr or (channel == "wecom" and d.channel == "wecom_image"):
                continue
            await add_delivery(s, {
                "key": f"{d.key}>{channel}"[:200], "kind": d.kind, "ticket_id": d.ticket_id,
                "channel": channel, "recipient": d.recipient, "address": addr,
                "subject": d.subject, "body": d.body, "payload": d.payload, "fallback": rest,
                "status": PENDING, "not_before": now, "attempts": 0, "created_at": now})
            log.warning("delivery %s to %s: falling back from %s to %s", d.id, d.recipient,
                        d.channel, channel)
            return
        if d.channel != "wecom_image":
            log.error("delivery %s to %s: every channel failed; see python main.py sla "
                      "deliveries", d.id, d.recipient)

    async def _deliver(self, row: dict[str, Any]) -> str:
        channel = row["channel"]
        if channel == "sms":
            if self.sms is None:
                raise Undeliverable("sms: no SMS provider configured (SMS_PROVIDER)")
            ref = await self.sms.send(row["address"], list(row["payload"].get("params", [])))
            log.info("sms sent to %s via %s", masked(row["address"]), self.sms.name)
            return ref
        if channel == "email":
            if self.mailer is None:
                raise Undeliverable("email: no SMTP server configured (SMTP_HOST)")
            return await self.mailer.send(row["address"], row["subject"], row["body"])
        if self.client is None:
            raise Undeliverable("wecom: no client")
        if channel == "wecom_image":
            png = await asyncio.to_thread(chart.render, row["payload"]["stats"])
            if png is None:
                raise Undeliverable("wecom_image: no CJK font for the chart")
            media_id = await upload_image(self.client, png)
            body = {"touser": row["recipient"], "msgtype": "image", "agentid": self.agent_id,
                    "image": {"media_id": media_id}}
        else:
            body = {"touser": row["recipient"], "msgtype": "text", "agentid": self.agent_id,
                    "text": {"content": row["body"]}}
        body |= {"enable_duplicate_check": 1, "duplicate_check_interval": 14400}
        out = await self.client.call("message/send", body, retry_unknown=False)
        return str(out.get("msgid", ""))


async def failed_deliveries(session: Any, *, everything: bool = False) -> list[SlaDelivery]:
    """What operators look at: failed and unknown deliveries (or all, newest first)."""
    q = select(SlaDelivery).order_by(SlaDelivery.id.desc()).limit(200)
    if not everything:
        q = q.where(SlaDelivery.status.in_((FAILED, UNKNOWN)))
    return list((await session.execute(q)).scalars())
