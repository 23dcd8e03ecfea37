"""Customer history beside every ticket, and 扫码报修.

* ``ticket_created`` (intake) — before dispatch offers it (this router comes first in
  ``handlers.routers()``): the customer's history summary, a repeat problem's earlier fix and
  solution template, and the floor / notes the report names are kept on the ticket
  (``ticket.fields["customer"]`` and ``["work"]``), where the technician's offer and work cards
  read them.
* ``客户 GD…`` from a member of staff — the customer's full history (masked phone unless their
  role needs it, or they hold the job). Anyone else: not ours (intake answers).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from handlers.customers import texts
from handlers.customers.config import CustomersSetup
from handlers.customers.history import customer_history
from handlers.customers.views import full_text, repeat_lines, site_line, summary
from handlers.routing import Context, Router, SkipHandler
from models.customers import template_values
from models.ticketing import staff_by_userid
from models.tickets import Ticket
from nlp.work_details import work_details

log = logging.getLogger("handlers.customers.router")
router = Router("customers")

_ASK: re.Pattern[str] = re.compile(r"^\s*(?:客户|客户历史|历史)\s*[:：]?\s*(GD\d{8}-\d{4})\s*$",
                                   re.IGNORECASE)


def _text(event: Any, turn: Any) -> str:
    return (turn.text if turn is not None else event.text) or ""


def asks_history(event: Any, turn: Any) -> dict[str, str] | None:
    if event.type not in ("text", "mixed") or event.channel not in ("app", "aibot"):
        return None
    m = _ASK.match(_text(event, turn))
    return {"number": m.group(1).upper()} if m else None


def work_fields(ticket: Ticket) -> dict[str, Any]:
    """Floor, notes, 高空作业 and pipe length the report names (the template's own ``floor`` /
    ``notes`` fields first)."""
    said = work_details(f"{ticket.title} {ticket.description}").as_data()
    said.pop("units", None)
    fields = template_values(ticket)
    for key in ("floor", "notes"):
        if str(fields.get(key) or "").strip():
            said[key] = fields[key]
    return said


@router.event("ticket_created", channel="internal")
async def on_created(ctx: Context, setup: CustomersSetup) -> None:
    try:
        ticket = await ctx.session.get(Ticket, int(ctx.event.payload.get("ticket_id")))
    except (TypeError, ValueError):
        return
    if ticket is None:
        return
    h = await customer_history(ctx.session, setup, ticket)
    fields = dict(ticket.fields or {})
    fields["customer"] = {"summary": summary(h), "repeat": repeat_lines(h),
                          "repeat_of": h.repeat.earlier.number if h.repeat else None}
    work = work_fields(ticket)
    if work:
        fields["work"] = {**work, "site": site_line(work)}
    ticket.fields = fields  # a new dict: the JSON column is written
    log.info("ticket %s: history %d tickets%s", ticket.number, len(h.tickets),
             f", repeat of {h.repeat.earlier.number}" if h.repeat else "")


@router.message(msgtype=("text", "mixed"), when=asks_history)
async def on_history(ctx: Context, setup: CustomersSetup, number: str) -> None:
    me = ctx.event.sender
    staff = await staff_by_userid(ctx.session, me) if me else None
    if staff is None or not staff.active:
        raise SkipHandler  # a customer's words: intake reads them
    from sqlalchemy import select

    ticket = (await ctx.session.execute(select(Ticket).where(Ticket.number == number))
              ).scalar_one_or_none()
    if ticket is None:
        ctx.reply(texts.NOT_FOUND.format(number=number))
        return
    h = await customer_history(ctx.session, setup, ticket)
    full = bool(set(staff.roles or []) & set(setup.config.full_phone_roles)) or ticket.assignee == me
    ctx.reply(full_text(ticket.number, h, full_phone=full))
