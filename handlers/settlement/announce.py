"""Telling people about statements: each party's statement (or a correction's differences)
with its 确认 / 异议 card, the cards of a replaced statement, finance's verdict that a statement
stands, and a ticket that could not be priced. The wording is in ``views.py`` / ``texts.py``."""

from __future__ import annotations

import logging
from datetime import timedelta

from handlers.notify import sees_cards, tell_customer
from handlers.routing import Context
from handlers.settlement import texts
from handlers.settlement.awaiting import await_answer
from handlers.settlement.config import SettlementSetup
from handlers.settlement.mapping import Unpriceable
from handlers.settlement.views import (correction_text, customer_text, money, statement_card,
                                       technician_text)
from models.keys import settle_task, unpriced_review
from models.settlement import (CUSTOMER, PENDING, TECHNICIAN, UNPRICED, SettlementReview,
                               SettlementStatement, acks_of, review_by_key)
from models.ticketing import first_staff_with
from models.tickets import Ticket

log = logging.getLogger("handlers.settlement.announce")


async def tell_staff(ctx: Context, roles: tuple[str, ...], text: str) -> list[str]:
    """Send ``text`` to everyone with the first of ``roles`` that anyone has."""
    if people := await first_staff_with(ctx.session, roles):
        for s in people:
            ctx.send_to(s.userid, text)
        return [s.userid for s in people]
    log.warning("nobody with role %s to tell: %s", "/".join(roles), text.splitlines()[0])
    return []


async def announce(ctx: Context, ticket: Ticket, row: SettlementStatement,
                   previous: SettlementStatement | None = None, note: str = "") -> None:
    """Each party's statement (or the correction's differences), with a card where the app
    reaches them (the text says how to answer without it: the WeChat plug-in shows no cards)."""
    st = row.statement
    answer_by = row.created_at + timedelta(days=ctx.services[SettlementSetup].config.answer_days)
    for ack in await acks_of(ctx.session, row.statement_id):
        if ack.status == PENDING:  # their 确认 belongs to this statement until they answer
            await await_answer(ctx.session, ack, now=ctx.clock.now(), until=answer_by)
        by_card = ack.party == TECHNICIAN or sees_cards(ticket)
        if previous is not None:
            text = correction_text(ticket.number, previous.statement, st, revision=row.revision,
                                   party=ack.party, note=note)
            how = (texts.SETTLE_TECH_HOW if ack.party == TECHNICIAN else
                   texts.SETTLE_HOW_CARD if by_card else texts.SETTLE_HOW_TEXT)
            text += "\n" + how.format(number=ticket.number)
        elif ack.party == TECHNICIAN:
            text = technician_text(ticket.number, st)
        else:
            text = customer_text(ticket.number, st, by_card=by_card)
        if ack.party == CUSTOMER:  # a bill: to the customer alone, never into a group
            await tell_customer(ctx, ticket, text, private=True)
        else:
            ctx.send_to(ack.who, text)
        if by_card:
            ack.task_id = settle_task(ack.id)  # type: ignore[arg-type]
            ctx.send_to(ack.who, card=statement_card(ack.party, ack.id, st, ticket.number))


async def retire_cards(ctx: Context, statement_id: str) -> None:
    """Show "已更正" on the cards of a corrected statement."""
    for ack in await acks_of(ctx.session, statement_id):
        if ack.task_id:
            await ctx.update_card(texts.SETTLE_CARD_DONE["superseded"], task_id=ack.task_id,
                                  user=ack.who)


async def announce_accepted(ctx: Context, ticket: Ticket, row: SettlementStatement,
                            review: SettlementReview, answer_days: int) -> None:
    """Finance found the statement right: the disputing party is told it stands, and their
    确认 belongs to it again."""
    for ack in await acks_of(ctx.session, row.statement_id):
        if ack.status == PENDING and ack.who == review.who:
            await await_answer(ctx.session, ack, now=ctx.clock.now(),
                               until=ctx.clock.now() + timedelta(days=answer_days))
    text = texts.SETTLE_REVIEW_ACCEPTED.format(number=ticket.number,
                                               amount=money(row.gross, row.currency))
    if review.note:
        text += "\n" + texts.SETTLE_DIFF_NOTE.format(note=review.note)
    if review.party == CUSTOMER:
        await tell_customer(ctx, ticket, text, private=True)
    elif review.who:
        ctx.send_to(review.who, text)


async def report_unpriced(ctx: Context, ticket: Ticket, exc: Unpriceable) -> None:
    """A completed ticket that cannot be priced: a review for finance, never a ¥0 statement."""
    key = unpriced_review(ticket.id, ticket.resolved_at)
    if await review_by_key(ctx.session, key) is not None:
        return
    review = SettlementReview(dedupe_key=key, kind=UNPRICED, ticket_id=ticket.id,
                              words=str(exc), opened_at=ctx.clock.now())
    ctx.session.add(review)
    await ctx.session.flush()
    log.warning("ticket %s not priced (review %s): %s", ticket.number, review.id, exc)
    why = texts.SETTLE_UNPRICED_WHY[exc.code].format(detail=exc.detail)
    await tell_staff(ctx, ("finance", "manager"), texts.SETTLE_UNPRICED_TO_FINANCE.format(
        review=review.id, number=ticket.number,
        category=texts.CATEGORY_NAMES.get(ticket.category, ticket.category),
        device=ticket.device or texts.SETTLE_DEVICE_UNKNOWN, why=why))
    await tell_customer(ctx, ticket, texts.SETTLE_UNPRICED_CUSTOMER.format(number=ticket.number),
                        private=True)
