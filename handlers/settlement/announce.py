"""Telling people about statements: each party's statement (or a correction's differences)
with its 确认 / 异议 card (``issue`` prices a completion and announces it), the cards of a
replaced statement, finance's verdict that a statement stands, and a ticket that could not be
priced (a review finance is told about, the customer told who prices it). The wording is in
``views.py`` / ``texts.py``."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Final

from handlers.notify import kf_sends_left, route_of, sees_cards, tell_customer
from handlers.routing import Context
from handlers.settlement import texts
from handlers.settlement.awaiting import await_answer
from handlers.settlement.config import SettlementSetup
from handlers.settlement.mapping import Unpriceable
from handlers.settlement.pricing import price, store, ticket_data
from handlers.settlement.views import (correction_text, customer_text, money, statement_card,
                                       technician_text)
from models.workflow import accepted_quote
from models.keys import actor, kf_parts, settle_task, unpriced_review
from models.settlement import (CUSTOMER, PENDING, TECHNICIAN, UNPRICED, SettlementReview,
                               SettlementStatement, acks_of, latest_statement, review_by_key)
from models.ticketing import first_staff_with
from models.tickets import Ticket, TicketEvent

log = logging.getLogger("handlers.settlement.announce")
FINANCE: Final = ("finance", "manager")  # who prices and reviews: finance, else the managers
KEEP_FOR_STATEMENT: Final = 1  # 微信客服 sends a notice about the bill leaves for the bill


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


async def issue(ctx: Context, setup: SettlementSetup, ticket: Ticket
                ) -> SettlementStatement | None:
    """Price the ticket's completion, store its statement and tell both parties (completed
    again after a reopen: the new statement corrects the last one). None if this completion is
    priced already; raises ``Unpriceable``."""
    previous = await latest_statement(ctx.session, ticket.id)
    if previous is not None and previous.completed_at == ticket.resolved_at:
        log.info("ticket %s: this completion is priced already (%s)", ticket.number,
                 previous.statement_id)
        return None
    data = await ticket_data(ctx.session, setup, ticket)
    st, fp = await price(ctx.session, setup, data, corrects=previous)
    row = await store(ctx.session, ticket, data, st, fp, now=ctx.clock.now(), previous=previous)
    if row is None:
        return None
    if previous is not None:
        await retire_cards(ctx, previous.statement_id)
    await announce(ctx, ticket, row, previous)
    return row


def audit(ctx: Context, ticket: Ticket, action: str, after: dict[str, Any]) -> None:
    """A line in the ticket's audit trail (who was asked or told what, and when)."""
    who = actor(ctx.event.channel, ctx.event.sender) if ctx.event.sender else "settlement"
    ctx.session.add(TicketEvent(ticket_id=ticket.id, actor=who, action=action, after=after,
                                at=ctx.clock.now()))


async def tell_customer_sparing(ctx: Context, ticket: Ticket, text: str) -> bool:
    """Tell the customer ``text`` about their bill — but on 微信客服 only while a send stays
    free for the statement itself (WeCom allows 5 per customer message, handlers/notify.py):
    the statement matters more than the news that it is coming."""
    if route_of(ticket) == "kf":
        parts = kf_parts(ticket.conversation_key)
        left = await kf_sends_left(ctx, *parts) if parts else 0
        if left < KEEP_FOR_STATEMENT + 1:
            log.info("ticket %s: bill notice kept back for the statement (%d sends left)",
                     ticket.number, max(left, 0))
            return False
    return await tell_customer(ctx, ticket, text, private=True)


async def open_unpriced_review(ctx: Context, ticket: Ticket, words: str
                               ) -> SettlementReview | None:
    """A review for finance about this completion; None if it was opened already."""
    key = unpriced_review(ticket.id, ticket.resolved_at)
    if await review_by_key(ctx.session, key) is not None:
        return None
    review = SettlementReview(dedupe_key=key, kind=UNPRICED, ticket_id=ticket.id,
                              words=words, opened_at=ctx.clock.now())
    ctx.session.add(review)
    await ctx.session.flush()
    return review


async def report_unpriced(ctx: Context, ticket: Ticket, exc: Unpriceable) -> None:
    """A completed ticket that cannot be priced: a review for finance, never a ¥0 statement;
    finance is told what to do, the customer that finance prices it."""
    review = await open_unpriced_review(ctx, ticket, str(exc))
    if review is None:
        return
    log.warning("ticket %s not priced (review %s): %s", ticket.number, review.id, exc)
    why = texts.SETTLE_UNPRICED_WHY[exc.code].format(detail=exc.detail)
    quoted = await accepted_quote(ctx.session, ticket.id)  # the customer's accepted 报价
    told = await tell_staff(ctx, FINANCE, texts.SETTLE_UNPRICED_TO_FINANCE.format(
        review=review.id, number=ticket.number,
        category=texts.CATEGORY_NAMES.get(ticket.category, ticket.category),
        device=ticket.device or texts.SETTLE_DEVICE_UNKNOWN, why=why) + (
        texts.SETTLE_UNPRICED_QUOTED.format(total=quoted.total, version=quoted.version)
        if quoted else ""))
    audit(ctx, ticket, "settlement:unpriced", {"review": review.id, "why": exc.code,
                                               "told": told})
    await tell_customer_sparing(ctx, ticket, (
        texts.SETTLE_UNPRICED_CUSTOMER_QUOTED.format(number=ticket.number, total=quoted.total)
        if quoted else texts.SETTLE_UNPRICED_CUSTOMER.format(number=ticket.number)))
