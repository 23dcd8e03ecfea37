"""A part reported at 完工 without a price: asked for in chat, never left silent.

1. ``ticket_resolved`` cannot be priced because parts have no unit cost (``Unpriceable``
   ``no_cost``): ``ask_technician`` asks the technician at once for exactly those prices ("配件
   “水泵”还没有单价，请回复例如：水泵 180元"), records that their answer belongs to settlement
   (``models/conversation.py``, kind ``part_prices``: a short reply without any keyword, given to
   settlement by ``handlers/arbitration.py``), arms a durable timer ``part_prices:<ticket id>``
   (``price_wait_minutes`` of config/settlement.yaml) in the same transaction, and tells the
   customer what the statement waits for.
2. The answer (``answer``: "水泵 180元", "180元" when one part is missing, "水泵180，密封圈2个共10元")
   fills the prices into a new work report (the earlier ones stay, as said); once every price
   is there the ticket is priced and the statement goes to the customer and the technician as
   usual. A partial answer is kept and the rest asked for.
3. No complete answer in time (``time_out``): an unpriced review is opened and finance is
   pushed a text with what is missing and how to act — reply with the prices in chat (their
   answer is awaited too) or ``settle review correct ID --price 名称=单价`` — recorded in the
   ticket's audit trail; the customer is told finance prices it; the technician that a late
   answer still counts. Whoever answers first prices it; the review is closed and finance told.

A price given by finance's command line, or a statement issued otherwise, ends the wait
(``stop_waiting``). An answer and the timer's firing are handled in different conversations,
so both lock the ticket's row first and look again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from handlers.routing import Context
from handlers.settlement import texts
from handlers.settlement.announce import (FINANCE, audit, issue, open_unpriced_review,
                                          report_unpriced, tell_customer_sparing, tell_staff)
from handlers.settlement.awaiting import OWNER
from handlers.settlement.config import SettlementSetup
from handlers.settlement.mapping import Unpriceable, match_prices
from handlers.settlement.pricing import latest_report
from handlers.settlement.views import (finance_options, money, noted_prices, price_example,
                                       quoted, reported_parts)
from models.conversation import Awaiting, expect
from models.dispatch import WorkReport
from models.keys import price_timer, ticket_conversation, unpriced_review
from models.settlement import (OPEN, PRICED, awaiting_about, lock_ticket, review_by_key)
from models.ticketing import first_staff_with, staff_by_userid, ticket_by_number
from models.tickets import Ticket
from nlp.staff_commands import COST_QUANTUM
from scheduler.timers import arm, cancel

if TYPE_CHECKING:
    from handlers.understanding import Turn

log = logging.getLogger("handlers.settlement.prices")

PART_PRICES: Final = "part_prices"  # the awaited answer: prices of a ticket's parts
TIMEOUT: Final = "part_prices_timeout"  # the timer's kind


def is_price_answer(event: Any, turn: Turn | None) -> bool:
    """A short reply that arbitration gave to settlement's awaited part prices."""
    return (turn is not None and turn.owner == OWNER and turn.awaiting is not None
            and turn.awaiting.kind == PART_PRICES)


def _stamp(ticket: Ticket) -> str:
    return ticket.resolved_at.isoformat() if ticket.resolved_at else ""


async def _waiting(ctx: Context, ticket: Ticket) -> list[Awaiting]:
    """Who is asked for this completion's part prices (the technician first, then finance)."""
    return [w for w in await awaiting_about(ctx.session, OWNER, PART_PRICES, ticket.id)
            if w.data.get("resolved_at") == _stamp(ticket)]


async def _wait_for(ctx: Context, person: str, ticket: Ticket, missing: list[str],
                    until: datetime, **extra: Any) -> None:
    await expect(ctx.session, person=person, owner=OWNER, kind=PART_PRICES, ref=ticket.id,
                 now=ctx.clock.now(), expires_at=until,
                 data={"missing": missing, "resolved_at": _stamp(ticket), **extra})


async def stop_waiting(session: Any, ticket_id: int, now: datetime) -> None:
    """Nobody is asked for this ticket's part prices any more; its timer is off. (Deleted
    through the session, not in bulk: the entries are loaded in it, and a new row may take a
    deleted one's id in the same transaction.)"""
    for w in await awaiting_about(session, OWNER, PART_PRICES, ticket_id):
        await session.delete(w)
    await session.flush()
    await cancel(session, price_timer(ticket_id), now=now)


async def ask_technician(ctx: Context, setup: SettlementSetup, ticket: Ticket,
                         exc: Unpriceable) -> None:
    """Step 1: ask the technician for the missing prices; the customer is told what waits."""
    if await _waiting(ctx, ticket):
        return  # asked already (the completion handled twice)
    now, cfg = ctx.clock.now(), setup.config
    missing = list(exc.missing)
    tech = str(ticket.assignee)
    await _wait_for(ctx, tech, ticket, missing, now + timedelta(days=cfg.answer_days),
                    role="technician")
    await arm(ctx.session, price_timer(ticket.id), now + timedelta(minutes=cfg.price_wait_minutes),
              TIMEOUT, payload={"ticket_id": ticket.id, "resolved_at": _stamp(ticket)},
              conversation_key=ticket_conversation(ticket.id), now=now)
    ctx.send_to(tech, texts.SETTLE_PRICES_ASK.format(
        number=ticket.number, parts=quoted(missing), example=price_example(missing),
        minutes=cfg.price_wait_minutes))
    audit(ctx, ticket, "settlement:ask_prices", {"to": tech, "parts": missing})
    log.info("ticket %s: asked %s for the prices of %s", ticket.number, tech, missing)
    await tell_customer_sparing(ctx, ticket, texts.SETTLE_PRICES_PENDING_CUSTOMER.format(
        number=ticket.number, parts=quoted(missing)))


async def time_out(ctx: Context, setup: SettlementSetup, data: dict[str, Any]) -> None:
    """Step 3: no answer in time — finance is pushed to price it, the customer and the
    technician are told."""
    ticket = await lock_ticket(ctx.session, int(data.get("ticket_id") or 0))
    if ticket is None or _stamp(ticket) != data.get("resolved_at"):
        return
    waiting = await _waiting(ctx, ticket)
    if not waiting:
        return  # answered meanwhile
    missing = list(waiting[0].data.get("missing") or [])
    review = await open_unpriced_review(ctx, ticket, str(Unpriceable(
        "no_cost", f"parts without a unit cost: {', '.join(missing)}")))
    if review is None:
        return
    minutes = setup.config.price_wait_minutes
    tech = await staff_by_userid(ctx.session, ticket.assignee) if ticket.assignee else None
    report = await latest_report(ctx.session, ticket.id)
    example = price_example(missing)
    told = await tell_staff(ctx, FINANCE, texts.SETTLE_PRICES_TO_FINANCE.format(
        review=review.id, number=ticket.number,
        category=texts.CATEGORY_NAMES.get(ticket.category, ticket.category),
        device=ticket.device or texts.SETTLE_DEVICE_UNKNOWN,
        tech=(tech.name if tech and tech.name else texts.SETTLE_TECHNICIAN_FALLBACK),
        minutes=minutes, parts=quoted(missing),
        reported=reported_parts(report.parts if report else []), example=example,
        options=finance_options(missing)))
    until = ctx.clock.now() + timedelta(days=setup.config.answer_days)
    for person in told:  # finance may answer in chat as the technician would
        await _wait_for(ctx, person, ticket, missing, until, role="finance", review=review.id)
    audit(ctx, ticket, "settlement:prices_to_finance",
          {"review": review.id, "told": told, "parts": missing})
    log.warning("ticket %s: no part prices within %d minutes: review %s, told %s",
                ticket.number, minutes, review.id, told)
    if ticket.assignee:
        ctx.send_to(ticket.assignee, texts.SETTLE_PRICES_TO_FINANCE_TECH.format(
            number=ticket.number, minutes=minutes, example=example))
    await tell_customer_sparing(ctx, ticket, texts.SETTLE_PRICES_TO_FINANCE_CUSTOMER.format(
        number=ticket.number, parts=quoted(missing)))


def _unit_cost(given: Any, reported_qty: Decimal) -> Decimal:
    """The answer's unit price; a total said without a quantity ("共10元") is for the
    quantity reported."""
    if given.total is None or given.qty_said:
        return given.unit_cost
    unit = given.total / reported_qty
    return unit if unit == unit.quantize(COST_QUANTUM) else unit.quantize(COST_QUANTUM)


async def _entry_for(ctx: Context, turn: Turn) -> tuple[Awaiting | None, str | None]:
    """The awaited entry this answer is about: the ticket it names, else arbitration's."""
    named = turn.command.ticket
    if not named:
        return turn.awaiting, None
    ticket = await ticket_by_number(ctx.session, named)
    entries = await awaiting_about(ctx.session, OWNER, PART_PRICES, ticket.id) if ticket else []
    return next((w for w in entries if w.person == ctx.event.sender), None), named


async def answer(ctx: Context, setup: SettlementSetup) -> None:
    """Step 2: prices from the technician (or from finance once it went to them)."""
    turn: Turn = ctx.turn
    entry, named = await _entry_for(ctx, turn)
    if entry is None:
        ctx.reply(texts.SETTLE_PRICES_NOT_ASKED.format(number=named))
        return
    ticket = await lock_ticket(ctx.session, entry.ref)
    waiting = await _waiting(ctx, ticket) if ticket else []
    mine = next((w for w in waiting if w.person == ctx.event.sender), None)
    if ticket is None or mine is None:  # priced meanwhile, by someone else
        ctx.reply(texts.SETTLE_PRICES_NOT_ASKED.format(number=ticket.number if ticket else named))
        return
    missing = list(mine.data.get("missing") or [])
    report = await latest_report(ctx.session, ticket.id)
    matched = match_prices(turn.command.parts, missing)
    if report is None or not matched:
        ctx.reply(texts.SETTLE_PRICES_UNMATCHED.format(
            number=ticket.number, parts=quoted(missing), example=price_example(missing)))
        return
    parts, noted = [dict(p) for p in report.parts], {}
    for p in parts:
        given = matched.get(" ".join(str(p.get("name") or "").split()))
        if given is None or p.get("unit_cost") not in (None, ""):
            continue
        if given.qty_said:
            p["qty"] = str(given.qty)
        cost = _unit_cost(given, Decimal(str(p.get("qty") or 1)))
        p["unit_cost"], noted[p["name"]] = str(cost), cost
    ctx.session.add(WorkReport(
        ticket_id=ticket.id, technician=report.technician, labour_minutes=report.labour_minutes,
        parts=parts, travel_km=report.travel_km, reported_at=ctx.clock.now(),
        note=f"{report.note}\n{ctx.event.sender}: {turn.text}".strip()))
    audit(ctx, ticket, "settlement:part_prices", {"by": ctx.event.sender,
                                                  "prices": {k: str(v) for k, v in noted.items()}})
    still = [m for m in missing if m not in matched]
    if still:
        for w in waiting:
            w.data = {**w.data, "missing": still}
        ctx.reply(texts.SETTLE_PRICES_NOTED.format(
            noted=noted_prices(noted), number=ticket.number, parts=quoted(still),
            example=price_example(still)))
        return
    await stop_waiting(ctx.session, ticket.id, ctx.clock.now())
    await ctx.session.flush()
    await _issue(ctx, setup, ticket, mine, noted_prices(noted))


async def _issue(ctx: Context, setup: SettlementSetup, ticket: Ticket, mine: Awaiting,
                 noted: str) -> None:
    """Every price is there: the statement goes out; an open review is closed."""
    mark = len(ctx.outgoing)  # the answer goes before the statement the technician gets
    try:
        row = await issue(ctx, setup, ticket)
    except Unpriceable as exc:
        await report_unpriced(ctx, ticket, exc)
        ctx.reply(texts.SETTLE_PRICES_STILL_UNPRICED.format(
            noted=noted, number=ticket.number,
            why=texts.SETTLE_UNPRICED_WHY[exc.code].format(detail=exc.detail)))
        return
    review = await review_by_key(ctx.session, unpriced_review(ticket.id, ticket.resolved_at))
    if review is not None and review.status == OPEN and row is not None:
        review.status, review.resolved_at = PRICED, ctx.clock.now()
        review.resolved_by, review.result_statement_id = ctx.event.sender, row.statement_id
        who = await staff_by_userid(ctx.session, ctx.event.sender)
        for s in await first_staff_with(ctx.session, FINANCE):
            if s.userid != ctx.event.sender:
                ctx.send_to(s.userid, texts.SETTLE_PRICES_RESOLVED_TO_FINANCE.format(
                    review=review.id, number=ticket.number,
                    who=(who.name if who and who.name else ctx.event.sender)))
    if mine.data.get("role") == "technician":
        ctx.reply(texts.SETTLE_PRICES_OK_TECH.format(noted=noted, number=ticket.number))
        ctx.outgoing.insert(mark, ctx.outgoing.pop())
    elif row is not None:
        ctx.reply(texts.SETTLE_PRICES_OK.format(noted=noted, number=ticket.number,
                                                amount=money(row.gross, row.currency)))
