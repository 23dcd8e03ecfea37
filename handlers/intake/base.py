"""What every part of intake's work on one event shares: who is writing (their customer), the
time, the actor named in audits, and how to answer in this channel (phones masked in groups)."""

from __future__ import annotations

from handlers.intake.config import IntakeConfig
from handlers.intake.helpers import mask_phones
from handlers.routing import Context
from models.keys import actor
from models.ticketing import customer_for
from models.tickets import Customer, Draft, Ticket, TicketMessage

OWNER = "intake"
DRAFT, COMPLETION = "draft", "completion"  # what intake awaits from a person


def identity(ctx: Context) -> tuple[str, str]:
    """The sender's customer identity: 微信客服 senders are external_userids, the same ids as
    in 客户联系 (one identity kind); everyone else is a WeCom userid."""
    return ("external_userid" if ctx.event.channel == "kf" else "wecom_userid"), ctx.event.sender


def is_group(ctx: Context) -> bool:
    return ctx.event.channel == "aibot" and ctx.event.payload.get("chat_type") == "group"


async def sender_customer(ctx: Context) -> Customer:
    """The customer writing this event (found by identity, created on first contact)."""
    kind, value = identity(ctx)
    return await customer_for(ctx.session, kind, value, ctx.clock.now())


class IntakeBase:
    """One event's work for one customer: who is writing and how to answer in this channel."""

    def __init__(self, ctx: Context, cfg: IntakeConfig, customer: Customer) -> None:
        self.ctx, self.cfg, self.customer = ctx, cfg, customer
        self.session = ctx.session
        self.now = ctx.clock.now()
        self.actor = actor(ctx.event.channel, ctx.event.sender)
        self.group = is_group(ctx)

    def say(self, text: str) -> None:
        self.ctx.reply(mask_phones(text) if self.group and self.cfg.mask_phones_in_groups
                       else text)

    def record(self, text: str, *, draft: Draft | None = None,
               ticket: Ticket | None = None) -> None:
        """Keep the message with the draft or ticket it belongs to."""
        self.session.add(TicketMessage(draft_id=draft.id if draft else None,
                                       ticket_id=ticket.id if ticket else None,
                                       inbox_event_id=self.ctx.event.id, text=text, at=self.now))
