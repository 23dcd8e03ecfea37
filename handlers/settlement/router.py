"""Settlement in chat: a completed ticket's statement to the customer and the technician, their
确认 / 异议, reviews for finance, corrections, and the promotion guard.

Events consumed (all ``channel="internal"``, conversation ``ticket:<id>``):

* ``ticket_resolved`` (dispatch, at 完工) — price the ticket and store its statement (once per
  completion: the same event twice stores one), send the customer the itemised statement and
  the technician their lines and share, each with a 确认/异议 card when the app reaches them.
  Parts without a price: the technician is asked for them in chat (``prices.py``; their
  answer, a short reply, prices it; none within ``price_wait_minutes`` → the timer
  ``part_prices_timeout`` pushes it to finance). Any other ticket that cannot be priced is
  reported to finance. A ticket completed again after a reopen gets a correction of its
  statement.
* ``ticket_closed`` (intake, the customer's 确认) — the customer's confirmation of the
  statement, if they had not answered yet.
* ``ticket_cancelled`` (intake) — evaluate the promotion guard over the database's
  cancellations; a new freeze is stored and every manager is told.
* ``settlement_issued`` / ``settlement_review_accepted`` (``python main.py settle review``) —
  tell the parties what finance decided: a correction with its differences, or "unchanged".

Answers: the part prices asked for ("水泵 180元"), the card buttons
(``settle:confirm|dispute:<ack id>``), or text: "确认账单 [GD…]" and
"异议 …" / "账单不对 …" (the customer's plain "确认" closes the ticket in intake, which raises
``ticket_closed``).

This module holds the router and its entry points only; the work is done in

* ``pricing.py`` — pricing a ticket from the database and storing its statement (shared with
  ``cli.py``); ``mapping.py`` — the pure database → engine mapping;
* ``announce.py`` — telling the parties (statements, corrections, cards) and finance;
* ``prices.py`` — parts without a price: asking the technician, then finance;
* ``answers.py`` — a party's 确认 / 异议 by card or text; ``awaiting.py`` — the awaited answer;
* ``guard.py`` — the promotion guard; ``views.py`` / ``texts.py`` — what people read.
"""

from __future__ import annotations

import logging

from typing import Any

from handlers.routing import Context, Router
from handlers.settlement import prices
from handlers.settlement.announce import (announce, announce_accepted, issue, report_unpriced,
                                          retire_cards)
from handlers.settlement.answers import (about_a_bill, answer_by_card, answer_by_text,
                                         confirm_by_closing)
from handlers.settlement.config import SettlementSetup
from handlers.settlement.guard import guard_promotions
from handlers.settlement.mapping import Unpriceable
from models.settlement import SettlementReview, latest_statement, statement_by_id
from models.tickets import Ticket

log = logging.getLogger("handlers.settlement.router")
router = Router("settlement")


async def _ticket(ctx: Context) -> Ticket | None:
    try:
        ticket_id = int(ctx.event.payload.get("ticket_id"))
    except (TypeError, ValueError):
        log.warning("%s without a ticket_id: %s", ctx.event.type, ctx.event.payload)
        return None
    ticket = await ctx.session.get(Ticket, ticket_id)
    if ticket is None:
        log.warning("%s for unknown ticket %s", ctx.event.type, ticket_id)
    return ticket


@router.event("ticket_resolved", channel="internal")
async def on_resolved(ctx: Context, setup: SettlementSetup) -> None:
    ticket = await _ticket(ctx)
    if ticket is None:
        return
    if ticket.resolved_at is None:
        log.info("ticket %s is no longer resolved (%s): not priced", ticket.number,
                 ticket.status)
        return
    try:
        await issue(ctx, setup, ticket)
    except Unpriceable as exc:
        if exc.code == "no_cost" and ticket.assignee:  # the technician knows the prices
            await prices.ask_technician(ctx, setup, ticket, exc)
        else:
            await report_unpriced(ctx, ticket, exc)


@router.timer(prices.TIMEOUT)
async def on_prices_timeout(ctx: Context, setup: SettlementSetup, data: dict[str, Any]) -> None:
    """The technician did not give the missing part prices in time: finance prices it."""
    await prices.time_out(ctx, setup, data)


@router.event("ticket_closed", channel="internal")
async def on_closed(ctx: Context) -> None:
    """The customer confirmed the work (intake's 确认): that confirms the statement too."""
    ticket = await _ticket(ctx)
    row = await latest_statement(ctx.session, ticket.id) if ticket else None
    if ticket is None or row is None:
        return
    await confirm_by_closing(ctx, ticket, row)


@router.event("settlement_issued", channel="internal")
async def on_issued(ctx: Context) -> None:
    """Finance priced or corrected a statement (``settle review correct``): tell both parties."""
    row = await statement_by_id(ctx.session, str(ctx.event.payload.get("statement_id")))
    if row is None:
        log.warning("settlement_issued for unknown statement %s", ctx.event.payload)
        return
    ticket = await ctx.session.get(Ticket, row.ticket_id)
    if ticket is None:
        log.warning("settlement_issued for statement %s of a ticket that is gone", row.statement_id)
        return
    previous = await statement_by_id(ctx.session, row.corrects) if row.corrects else None
    if previous is not None:
        await retire_cards(ctx, previous.statement_id)
    await prices.stop_waiting(ctx.session, ticket.id, ctx.clock.now())  # priced by finance
    await announce(ctx, ticket, row, previous, note=str(ctx.event.payload.get("note") or ""))


@router.event("settlement_review_accepted", channel="internal")
async def on_review_accepted(ctx: Context, setup: SettlementSetup) -> None:
    """Finance found the statement right (``settle review accept``): the party is told."""
    review = await ctx.session.get(SettlementReview, int(ctx.event.payload.get("review_id", 0)))
    if review is None or review.statement_id is None:
        return
    row = await statement_by_id(ctx.session, review.statement_id)
    ticket = await ctx.session.get(Ticket, review.ticket_id)
    if row is None or ticket is None:
        log.warning("review %s: statement or ticket gone", review.id)
        return
    await announce_accepted(ctx, ticket, row, review, setup.config.answer_days)


@router.event("ticket_cancelled", channel="internal")
async def on_cancelled(ctx: Context, setup: SettlementSetup) -> None:
    """Promotion guard over the database's cancellations of the last ``window_days``."""
    await guard_promotions(ctx, setup.config.guard)


@router.card(prefix="settle:")
async def on_card(ctx: Context, key: str) -> None:
    await answer_by_card(ctx, key)


@router.message(msgtype=("text", "mixed"), when=prices.is_price_answer)
async def on_part_prices(ctx: Context, setup: SettlementSetup) -> None:
    """The part prices settlement asked for ("水泵 180元"), from the technician or finance."""
    await prices.answer(ctx, setup)


@router.message(msgtype=("text", "mixed"), when=about_a_bill)
async def on_billing_text(ctx: Context, setup: SettlementSetup) -> None:
    await answer_by_text(ctx, setup)
