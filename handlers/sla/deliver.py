"""Fanning one escalation step out to people over channels, inside the step's transaction:
WeCom text through the outbox (exactly once, bot/outbox.py); SMS and email as
``SlaDelivery`` rows for the courier (``courier.py``), held until the end of a person's quiet
hours where they apply; a person without a phone or email gets the next channel of
``fallback`` instead. Returns the channels held, for the step's record."""

from __future__ import annotations

from typing import Any

from handlers.routing import Context
from handlers.sla.config import SlaConfig
from handlers.sla.engine import quiet_until
from handlers.sla.people import address, quiet_for
from models.keys import sla_delivery_key
from models.sla import add_delivery
from models.tickets import Staff, Ticket


def fallback_after(cfg: SlaConfig, channel: str, used: list[str]) -> list[str]:
    order = list(cfg.fallback)
    rest = order[order.index(channel) + 1:] if channel in order else order
    return [c for c in rest if c not in used and c != channel]


async def fan_out(ctx: Context, cfg: SlaConfig, ticket: Ticket, people: list[Staff],
                  channels: list[str], *, step: str, text: str, subject: str,
                  sms_params: list[str]) -> list[str]:
    now = ctx.clock.now()
    held: list[str] = []
    for person in people:
        quiet = quiet_for(cfg, person)
        queue = list(channels)
        tried: list[str] = []
        while queue:
            channel = queue.pop(0)
            tried.append(channel)
            until = quiet_until(quiet, channel, ticket.priority, now)
            addr = address(cfg, person, channel)
            if not addr:  # no phone / email on record: the next channel instead
                nxt = fallback_after(cfg, channel, channels + tried)
                if nxt:
                    queue.append(nxt[0])
                continue
            if channel == "wecom" and until is None:
                ctx.send_to(person.userid, text)
                continue
            if until is not None:
                held.append(f"{person.userid}:{channel}")
            await add_delivery(ctx.session, {
                "key": sla_delivery_key(ticket.id, step, person.userid, channel), "kind": "escalation",
                "ticket_id": ticket.id, "channel": channel, "recipient": person.userid,
                "address": addr, "subject": subject, "body": text,
                "payload": {"params": sms_params},
                "fallback": fallback_after(cfg, channel, channels + tried),
                "status": "pending", "not_before": until or now, "attempts": 0,
                "created_at": now})
    return held


def sms_params(number: str, what: str) -> list[str]:
    """The SMS template's variables: the ticket number and what happened (≤ 12 chars each,
    as providers cap template variables)."""
    return [number[:20], what[:12]]


def about(ticket: Ticket) -> dict[str, Any]:
    return {"number": ticket.number, "title": ticket.title or ticket.category}
