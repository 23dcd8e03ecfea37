"""A party's answer to their statement — 确认 or 异议 — by card or by text.

* a card click (``settle:confirm|dispute:<ack id>``): only the party the card was for; a second
  click, or one on a corrected statement's card, gets a polite answer;
* text: "确认账单 [GD…]", "异议 …" / "账单不对 …" (``Turn.bill``), or a bare 确认 that
  arbitration gave to settlement because a statement awaits the person's answer;
* the customer's 确认 that closed the ticket (``ticket_closed``) confirms their statement too.

A dispute opens a review for finance (more words later are added to it and forwarded).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from bot.cards import parse_key
from handlers.routing import Context, SkipHandler
from handlers.settlement import texts
from handlers.settlement.announce import tell_staff
from handlers.settlement.awaiting import OWNER, STATEMENT, stop_awaiting
from handlers.settlement.config import SettlementSetup
from handlers.settlement.mapping import technician_share
from handlers.settlement.views import SETTLE_ACTIONS, money
from handlers.understanding import Turn
from models.keys import dispute_review
from models.settlement import (CONFIRMED, CUSTOMER, DISPUTE, DISPUTED, OPEN, PENDING,
                               SUPERSEDED, TECHNICIAN, SettlementReview, SettlementStatement,
                               StatementAck, ack_to_answer, acks_of, review_by_key,
                               statement_by_id)
from models.ticketing import staff_by_userid
from models.tickets import Ticket

log = logging.getLogger("handlers.settlement.answers")


async def _answer(ctx: Context, ack: StatementAck, action: str, *, via: str,
                  words: str = "") -> None:
    row = await statement_by_id(ctx.session, ack.statement_id)
    ticket = await ctx.session.get(Ticket, ack.ticket_id)
    if row is None or ticket is None:
        log.warning("answer to %s: statement or ticket gone", ack.statement_id)
        ctx.reply(texts.CARD_CLICK_UNKNOWN)
        return
    now = ctx.clock.now()
    st = row.statement
    if action == "confirm":
        ack.status, ack.via, ack.answered_at = CONFIRMED, via, now
        await stop_awaiting(ctx.session, ack)
        if ack.party == TECHNICIAN:
            ctx.reply(texts.SETTLE_TECH_CONFIRMED.format(
                number=ticket.number, amount=money(technician_share(st), row.currency)))
        else:
            ctx.reply(texts.SETTLE_CONFIRMED.format(number=ticket.number,
                                                    amount=money(row.gross, row.currency)))
        log.info("%s %s confirmed %s by %s", ack.party, ack.who, row.statement_id, via)
        return
    key = dispute_review(row.statement_id, ack.party)
    review = await review_by_key(ctx.session, key)
    party = texts.SETTLE_PARTY_NAMES[ack.party]
    if review is not None and ack.status == DISPUTED:
        # more words for a dispute already with finance
        review.words = f"{review.words}\n{words}".strip() if words else review.words
        if review.status != OPEN:
            review.status, review.resolved_at, review.resolved_by = OPEN, None, None
        await tell_staff(ctx, ("finance", "manager"), texts.SETTLE_REVIEW_MORE_TO_FINANCE.format(
            review=review.id, number=ticket.number, party=party, words=words))
        ctx.reply(texts.SETTLE_DISPUTE_MORE)
        return
    ack.status, ack.via, ack.answered_at = DISPUTED, via, now
    await stop_awaiting(ctx.session, ack)
    said = words or texts.SETTLE_DISPUTE_BY_CARD
    if review is None:
        review = SettlementReview(dedupe_key=key, kind=DISPUTE, ticket_id=ticket.id,
                                  statement_id=row.statement_id, party=ack.party, who=ack.who,
                                  words=said, opened_at=now)
        ctx.session.add(review)
        await ctx.session.flush()
    else:  # disputed again after finance let it stand
        review.words = f"{review.words}\n{said}"
        review.status, review.resolved_at, review.resolved_by = OPEN, None, None
    log.info("%s %s disputed %s (review %s)", ack.party, ack.who, row.statement_id, review.id)
    # finance reads a technician's name, never a WeCom id; the customer is the ticket's own
    tech = await staff_by_userid(ctx.session, ack.who) if ack.party != CUSTOMER else None
    who = texts.SETTLE_REVIEW_WHO.format(name=tech.name or ack.who) if tech else ""
    await tell_staff(ctx, ("finance", "manager"), texts.SETTLE_REVIEW_TO_FINANCE.format(
        review=review.id, number=ticket.number, party=party, who=who,
        amount=money(row.gross, row.currency), words=said))
    ctx.reply((texts.SETTLE_DISPUTED if words else texts.SETTLE_DISPUTE_ASK_WHY).format(
        number=ticket.number))


async def answer_by_card(ctx: Context, key: str) -> None:
    """A click on a statement card (``key``: ``<action>:<ack id>``)."""
    parsed = parse_key(key, SETTLE_ACTIONS)
    ack = await ctx.session.get(StatementAck, parsed[1]) if parsed else None
    if parsed is None or ack is None:
        ctx.reply(texts.CARD_CLICK_UNKNOWN)
        return
    if ack.who != ctx.event.sender:
        ctx.reply(texts.SETTLE_NOT_YOURS)
        return
    ticket = await ctx.session.get(Ticket, ack.ticket_id)
    number = ticket.number if ticket else ""
    if ack.status == SUPERSEDED:
        await ctx.update_card(texts.SETTLE_CARD_DONE["superseded"])
        ctx.reply(texts.SETTLE_SUPERSEDED.format(number=number))
        return
    if ack.status != PENDING:
        ctx.reply(texts.SETTLE_ALREADY[ack.status].format(number=number))
        return
    action = parsed[0]
    await ctx.update_card(texts.SETTLE_CARD_DONE[action])
    await _answer(ctx, ack, action, via="card")


async def _ack_for_text(ctx: Context, turn: Turn, action: str,
                        setup: SettlementSetup) -> StatementAck | None:
    """The sender's statement answer this message is about: the ticket it names, else their
    newest statement of the last ``answer_days``."""
    statuses = (PENDING,) if action == "confirm" else (PENDING, CONFIRMED, DISPUTED)
    since = ctx.clock.now() - timedelta(days=setup.config.answer_days)
    return await ack_to_answer(ctx.session, ctx.event.sender, statuses, since, turn.ticket_no)


def about_a_bill(event: Any, turn: Turn | None) -> bool:
    """Explicit words about a bill (确认账单, 异议 …), or a short reply that arbitration gave
    to settlement (a bare 确认 while a statement awaits the person's answer)."""
    return turn is not None and turn.addressed and (turn.bill is not None or (
        turn.owner == OWNER and turn.awaiting is not None and turn.awaiting.kind == STATEMENT))


async def answer_by_text(ctx: Context, setup: SettlementSetup) -> None:
    """A message ``about_a_bill``; ``SkipHandler`` when the sender has no statement it can be
    about (dispatch and intake look at it then)."""
    turn: Turn = ctx.turn
    billing = turn.bill or "confirm"
    if turn.owner == OWNER and turn.bill is None and turn.awaiting.kind == STATEMENT:
        ack = await ctx.session.get(StatementAck, turn.awaiting.ref)
    else:
        ack = await _ack_for_text(ctx, turn, billing, setup)
    if ack is None:
        raise SkipHandler  # no statement of theirs: not about a bill after all
    before = ack.status
    await _answer(ctx, ack, billing, via="text",
                  words=turn.text if billing == "dispute" else "")
    if ack.task_id and ack.status != before:  # their card shows the answer too
        await ctx.update_card(texts.SETTLE_CARD_DONE[billing], task_id=ack.task_id, user=ack.who)


async def confirm_by_closing(ctx: Context, ticket: Ticket, row: SettlementStatement) -> None:
    """The customer confirmed the work (intake's 确认 closed the ticket): that confirms their
    pending answer to the statement too (``via="closed"``)."""
    for ack in await acks_of(ctx.session, row.statement_id):
        if ack.party == CUSTOMER and ack.status == PENDING:
            ack.status, ack.via, ack.answered_at = CONFIRMED, "closed", ctx.clock.now()
            await stop_awaiting(ctx.session, ack)
            if ack.task_id:
                await ctx.update_card(texts.SETTLE_CARD_DONE["confirm"], task_id=ack.task_id,
                                      user=ack.who)
            log.info("ticket %s closed: customer confirmed %s", ticket.number, row.statement_id)
