"""What the API, orders and forms do to tickets — through the chat's own use cases.

A request is run the way the worker runs an event: a ``Context`` on the request's one
transaction (channel ``api``, sender = the integration), then what the use case raised
(``ticket_created`` …) goes into the inbox and what it said to people into the outbox, in that
same transaction. So an API ticket is made by intake's ``Drafts.create_from_draft`` (audit
``create``, ``ticket_created`` → dispatch offers it, exactly as a confirmed chat draft), and a
cancel / close by intake's ``Followups`` (the same transition, audit and internal event). The
chat answers those use cases give (``ctx.reply``) are for a chat: the HTTP response answers the
integration instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from handlers.intake.config import IntakeConfig
from handlers.intake.drafts import Drafts
from handlers.intake.followups import Followups
from handlers.lifecycle import can_transition
from handlers.routing import Context
from handlers.services import Services
from models.api import ApiTicketLink
from models.keys import actor
from models.messages import Event, inbox_row
from models.queues import inbox_insert, outbox_add
from models.ticketing import add_phone, customer_for
from models.tickets import Customer, Draft, Ticket, TicketEvent, TicketMessage
from scheduler.clock import Clock

T = TypeVar("T")
API = "api"  # the channel of tickets that came in through the API, an order or a form


class Refused(Exception):
    """A use case said no; ``status`` and ``title``/``detail`` become a problem document."""

    def __init__(self, status: int, slug: str, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail


def api_event(integration: str, request_key: str, type_: str) -> Event:
    """The event an API request is, for the use cases (its dedupe key makes what it raises
    unique: a replayed request cannot raise ``ticket_created`` twice)."""
    digest = hashlib.sha256(request_key.encode("utf-8")).hexdigest()[:32]
    return Event(API, "event", type_, integration, f"api:{integration}",
                 f"api:{integration}:{digest}", {})


async def run(session: Any, services: Services, clock: Clock, event: Event,
              work: Callable[[Context], Awaitable[T]]) -> T:
    """Run ``work`` as the handling of ``event`` in ``session`` and keep what it raised and
    what it addressed to people, in the same transaction."""
    ctx = Context(event, session, clock, services)
    result = await work(ctx)
    now = clock.now()
    if ctx.emitted:
        await inbox_insert(session, [inbox_row(e, now) for e in ctx.emitted])
    addressed = [m for m in ctx.outgoing if m.to_user or m.to_kf or m.to_webhook]
    if addressed:
        from bot.outbox import reply_rows  # the same rows the worker writes
        from bot.settings import Settings

        agent = services[Settings].WECOM_AGENT_ID if Settings in services else None
        await outbox_add(session, reply_rows(event, addressed, agent_id=agent, now=now))
    return result


async def customer_by_phone(session: Any, phone: str, name: str, now: datetime) -> Customer:
    customer = await customer_for(session, "phone", phone, now, name)
    return await add_phone(session, customer, phone, now)


async def open_ticket(ctx: Context, cfg: IntakeConfig, *, category: str, description: str,
                      fields: dict[str, Any], name: str = "", source: str = "api",
                      order_number: str | None = None) -> Ticket:
    """A ticket from an integration, made by intake from a draft holding the fields (the phone
    is required: it is how the customer is found and reached)."""
    now = ctx.clock.now()
    customer = await customer_by_phone(ctx.session, fields["phone"], name, now)
    ev = ctx.event
    # Nobody in WeCom reported it: the draft's sender (the ticket's reporter) stays empty, so
    # chat notices find no member to message; news goes back by webhook (and SMS for orders).
    draft = Draft(conversation_key=ev.conversation_key, sender="", channel=API,
                  customer_id=customer.id, status="confirming", category=category,
                  fields={k: v for k, v in fields.items() if v not in (None, "")},
                  description=description, created_at=now, updated_at=now)
    ctx.session.add(draft)
    await ctx.session.flush()
    ctx.session.add(TicketMessage(draft_id=draft.id, text=description, at=now))
    ticket = await Drafts(ctx, cfg, customer).create_from_draft(draft)
    ctx.session.add(ApiTicketLink(ticket_id=ticket.id, integration=ev.sender, source=source,
                                  order_number=order_number, created_at=now))
    await ctx.session.flush()
    return ticket


async def add_note(ctx: Context, ticket: Ticket, text: str) -> TicketMessage:
    """A note from the integration on the ticket: kept with its messages and audited."""
    now = ctx.clock.now()
    msg = TicketMessage(ticket_id=ticket.id, text=text, at=now)
    ctx.session.add(msg)
    ctx.session.add(TicketEvent(ticket_id=ticket.id, actor=actor(API, ctx.event.sender),
                                action="note", reason=text, at=now))
    await ctx.session.flush()
    return msg


#: what an integration may do to a ticket's status, and intake's use case that does it
STATUS_ACTIONS = {"cancelled": "cancel", "closed": "confirm_done"}


async def set_status(ctx: Context, cfg: IntakeConfig, ticket: Ticket, to: str,
                     reason: str) -> Ticket:
    """Cancel (from an open state) or close (a resolved ticket, the customer's 确认) through
    intake's ``Followups`` — the same transition, audit and internal event as in chat. The
    other states belong to technicians and dispatchers."""
    if to not in STATUS_ACTIONS:
        raise Refused(422, "status-not-settable", "Status not settable through the API",
                      f"an integration may set {', '.join(STATUS_ACTIONS)}; '{to}' is set by "
                      "technicians and dispatchers")
    if not can_transition(ticket, to):
        raise Refused(409, "illegal-transition", "Illegal status change",
                      f"ticket {ticket.number} is {ticket.status}; it cannot become {to}")
    customer = await ctx.session.get(Customer, ticket.customer_id)
    follow = Followups(ctx, cfg, customer)  # type: ignore[arg-type]
    text = f"{ticket.number} {reason}".strip()
    await getattr(follow, STATUS_ACTIONS[to])(text)
    await ctx.session.refresh(ticket)
    if ticket.status != to:  # pragma: no cover - guarded by can_transition above
        raise Refused(409, "illegal-transition", "Illegal status change",
                      f"ticket {ticket.number} stayed {ticket.status}")
    return ticket
