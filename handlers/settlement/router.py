"""Settlement in chat: a completed ticket's statement to the customer and the technician, their
确认 / 异议, reviews for finance, corrections, and the promotion guard.

Events consumed (all ``channel="internal"``, conversation ``ticket:<id>``):

* ``ticket_resolved`` (dispatch, at 完工) — price the ticket and store its statement (once per
  completion: the same event twice stores one), send the customer the itemised statement and
  the technician their lines and share, each with a 确认/异议 card when the app reaches them.
  A ticket that cannot be priced is reported to finance. A ticket completed again after a
  reopen gets a correction of its statement.
* ``ticket_closed`` (intake, the customer's 确认) — the customer's confirmation of the
  statement, if they had not answered yet.
* ``ticket_cancelled`` (intake) — evaluate the promotion guard over the database's
  cancellations; a new freeze is stored and every manager is told.
* ``settlement_issued`` / ``settlement_review_accepted`` (``python main.py settle review``) —
  tell the parties what finance decided: a correction with its differences, or "unchanged".

Answers: the card buttons (``settle:confirm|dispute:<ack id>``), or text: "确认账单 [GD…]" and
"异议 …" / "账单不对 …" (the customer's plain "确认" closes the ticket in intake, which raises
``ticket_closed``). Pricing and storing are plain functions the CLI shares.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.cards import parse_key
from handlers.settlement import texts
from handlers.settlement.views import SETTLE_ACTIONS, settlement_card
from handlers.understanding import Turn
from models.conversation import expect, settle
from models.keys import dispute_review, settle_task, unpriced_review
from handlers.notify import tell_customer
from handlers.routing import Context, Router, SkipHandler
from handlers.settlement.config import ServiceMap, SettlementSetup
from handlers.settlement.mapping import (ReportData, Unpriceable, address_key, correction_text,
                                        customer_card_rows, customer_text, frozen_for,
                                        frozen_from_json, frozen_to_json, money,
                                        technician_card_rows, technician_share, technician_text,
                                        ticket_input)
from models.dispatch import WorkReport
from models.regions import Region
from models.settlement import (CONFIRMED, CUSTOMER, DISPUTE, DISPUTED, OPEN, PENDING, SUPERSEDED,
                               TECHNICIAN, UNPRICED, SettlementReview, SettlementStatement,
                               StatementAck, acks_for_person, acks_of, active_freezes,
                               cancellations_since, completed_ticket_count, freeze_add,
                               latest_statement, review_by_key, statement_add, statement_by_id)
from models.ticketing import customer_of, first_staff_with, region_code_of, staff_by_userid
from models.tickets import Site, Ticket
from handlers.settlement.engine.guard import CancelEvent, FrozenPromotions, evaluate_guard
from handlers.settlement.engine.quote import QuoteError, Statement, quote, select_book
from handlers.settlement.engine.ticket import Ticket as EngineTicket
from handlers.settlement.engine.ticket import TicketError

log = logging.getLogger("handlers.settlement.router")
router = Router("settlement")
OWNER, STATEMENT = "settlement", "statement"  # a statement awaits the party's answer


# -- pricing and storing (shared with handlers/settlement_cli.py) -----------------------------


async def customer_tags(session: Any, setup: SettlementSetup, ticket: Ticket) -> list[str]:
    """Tags from the customer's history (``customer_tags`` in config/settlement.yaml)."""
    rules = setup.config.customer_tags
    if not rules or ticket.resolved_at is None:
        return []
    done = await completed_ticket_count(session, ticket.customer_id, ticket.resolved_at,
                                        ticket.id)
    return [tag for tag, rule in rules.items() if done >= rule.min_completed_tickets]


async def latest_report(session: Any, ticket_id: int) -> WorkReport | None:
    return (await session.execute(
        select(WorkReport).where(WorkReport.ticket_id == ticket_id)
        .order_by(WorkReport.id.desc()).limit(1))).scalar_one_or_none()


async def ticket_data(session: Any, setup: SettlementSetup, ticket: Ticket, *,
                      service: str | None = None, report: ReportData | None = None
                      ) -> dict[str, Any]:
    """The engine's ticket JSON for ``ticket`` from the database (raises ``Unpriceable``)."""
    site = await session.get(Site, ticket.site_id) if ticket.site_id else None
    if report is None:
        row = await latest_report(session, ticket.id)
        report = ReportData(row.labour_minutes, row.parts, row.travel_km) if row else None
    staff = await staff_by_userid(session, ticket.assignee) if ticket.assignee else None
    tags = await customer_tags(session, setup, ticket)
    cfg = setup.config
    if service is not None:
        cfg = cfg.model_copy(update={"services": (ServiceMap(category=ticket.category,
                                                             service=service),)})
    return ticket_input(ticket, cfg=cfg, site=site, report=report,
                        provider=staff.provider if staff else "", tags=tags)


async def price(session: Any, setup: SettlementSetup, data: dict[str, Any], *,
                corrects: SettlementStatement | None = None,
                keep_basis: bool = False) -> tuple[Statement, FrozenPromotions | None]:
    """Quote the ticket JSON with the book in force at completion and today's freezes; with
    ``keep_basis`` (finance correcting ``corrects``) with that statement's book and freezes.
    A statement made with ``corrects`` references it. Raises ``Unpriceable``."""
    try:
        t = EngineTicket.from_dict(data)
        if keep_basis and corrects is not None:
            book = next((b for b in setup.books if b.book_id == corrects.book_id
                         and b.version == corrects.book_version), None)
            if book is None:
                raise QuoteError(f"price book {corrects.book_id}@{corrects.book_version} of "
                                 f"{corrects.statement_id} is no longer loaded")
            fp = frozen_from_json(corrects.frozen)
        else:
            book = select_book(setup.books, t.completed_at, t.book_id)
            fp = frozen_for(await active_freezes(session), data.get("address", ""),
                            data["region"])
        return quote(t, book, frozen=fp,
                     corrects=corrects.statement_id if corrects else None), fp
    except (QuoteError, TicketError) as exc:
        raise Unpriceable("no_rule", str(exc), str(exc)) from None


async def store(session: Any, ticket: Ticket, data: dict[str, Any], st: Statement, fp: Any, *,
                now: datetime, previous: SettlementStatement | None = None,
                review_id: int | None = None) -> SettlementStatement | None:
    """Insert the statement (never updated later) and a pending answer row per party.
    None if this ticket already has that revision (handled twice)."""
    doc = st.to_dict()
    row = await statement_add(session, {
        "statement_id": st.id, "ticket_id": ticket.id, "ticket_number": ticket.number,
        "revision": previous.revision + 1 if previous else 0,
        "kind": "correction" if previous else "original",
        "corrects": previous.statement_id if previous else None, "review_id": review_id,
        "book_id": st.book_id, "book_version": st.book_version, "service": st.service,
        "service_rule": st.service_rule, "provider": st.provider, "technician": st.technician,
        "currency": st.currency, "net": doc["totals"]["net"], "tax": doc["totals"]["tax"],
        "gross": doc["totals"]["gross"], "technician_share": str(technician_share(doc)),
        "completed_at": st.completed_at, "frozen": frozen_to_json(fp), "ticket_input": data,
        "statement": doc, "created_at": now})
    if row is None:
        return None
    if previous is not None:
        for ack in await acks_of(session, previous.statement_id):
            if ack.status != SUPERSEDED:
                ack.status = SUPERSEDED
            await settle(session, owner=OWNER, kind=STATEMENT, ref=ack.id)
    customer = customer_of(ticket)
    if customer:
        session.add(StatementAck(statement_id=st.id, ticket_id=ticket.id, party=CUSTOMER,
                                 who=customer))
    if ticket.assignee:
        session.add(StatementAck(statement_id=st.id, ticket_id=ticket.id, party=TECHNICIAN,
                                 who=ticket.assignee))
    await session.flush()
    log.info("statement %s stored for ticket %s (revision %d, gross %s %s)", st.id,
             ticket.number, row.revision, row.gross, row.currency)
    return row


async def tell_staff(ctx: Context, roles: tuple[str, ...], text: str) -> list[str]:
    """Send ``text`` to everyone with the first of ``roles`` that anyone has."""
    if people := await first_staff_with(ctx.session, roles):
        for s in people:
            ctx.send_to(s.userid, text)
        return [s.userid for s in people]
    log.warning("nobody with role %s to tell: %s", "/".join(roles), text.splitlines()[0])
    return []


# -- telling the parties ----------------------------------------------------------------------


def _card_for(ack: StatementAck, st: dict[str, Any], number: str) -> dict[str, Any]:
    ccy = st["currency"]
    if ack.party == TECHNICIAN:
        desc = texts.SETTLE_CARD_TECH_DESC.format(amount=money(technician_share(st), ccy))
        rows = technician_card_rows(st)
    else:
        desc = texts.SETTLE_CARD_DESC.format(amount=money(st["totals"]["gross"], ccy))
        rows = customer_card_rows(st)
    return settlement_card(ack_id=ack.id, title=texts.SETTLE_CARD_TITLE.format(number=number),
                           desc=desc, rows=rows, labels=texts.SETTLE_CARD_LABELS,
                           source=texts.SETTLE_CARD_SOURCE)


async def announce(ctx: Context, ticket: Ticket, row: SettlementStatement,
                   previous: SettlementStatement | None = None, note: str = "") -> None:
    """Each party's statement (or the correction's differences), with a card where the app
    reaches them (the text says how to answer without it: the WeChat plug-in shows no cards)."""
    st = row.statement
    answer_by = row.created_at + timedelta(days=ctx.services[SettlementSetup].config.answer_days)
    for ack in await acks_of(ctx.session, row.statement_id):
        if ack.status == PENDING:  # their 确认 belongs to this statement until they answer
            await expect(ctx.session, person=ack.who, owner=OWNER, kind=STATEMENT, ref=ack.id,
                         now=ctx.clock.now(), expires_at=answer_by)
        by_card = ack.party == TECHNICIAN or ticket.channel != "kf"
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
        if ack.party == CUSTOMER:
            await tell_customer(ctx, ticket, text)
        else:
            ctx.send_to(ack.who, text)
        if by_card:
            ack.task_id = settle_task(ack.id)  # type: ignore[arg-type]
            ctx.send_to(ack.who, card=_card_for(ack, st, ticket.number))


async def retire_cards(ctx: Context, statement_id: str) -> None:
    """Show "已更正" on the cards of a corrected statement."""
    for ack in await acks_of(ctx.session, statement_id):
        if ack.task_id:
            await ctx.update_card(texts.SETTLE_CARD_DONE["superseded"], task_id=ack.task_id,
                                  user=ack.who)


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
    await tell_customer(ctx, ticket, texts.SETTLE_UNPRICED_CUSTOMER.format(number=ticket.number))


# -- events -----------------------------------------------------------------------------------


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
    previous = await latest_statement(ctx.session, ticket.id)
    if previous is not None and previous.completed_at == ticket.resolved_at:
        log.info("ticket %s: this completion is priced already (%s)", ticket.number,
                 previous.statement_id)
        return
    now = ctx.clock.now()
    try:
        data = await ticket_data(ctx.session, setup, ticket)
        # completed again after a reopen: the new statement corrects the last one
        st, fp = await price(ctx.session, setup, data, corrects=previous)
    except Unpriceable as exc:
        await report_unpriced(ctx, ticket, exc)
        return
    row = await store(ctx.session, ticket, data, st, fp, now=now, previous=previous)
    if row is None:
        return
    if previous is not None:
        await retire_cards(ctx, previous.statement_id)
    await announce(ctx, ticket, row, previous)


@router.event("ticket_closed", channel="internal")
async def on_closed(ctx: Context) -> None:
    """The customer confirmed the work (intake's 确认): that confirms the statement too."""
    ticket = await _ticket(ctx)
    row = await latest_statement(ctx.session, ticket.id) if ticket else None
    if ticket is None or row is None:
        return
    for ack in await acks_of(ctx.session, row.statement_id):
        if ack.party == CUSTOMER and ack.status == PENDING:
            ack.status, ack.via, ack.answered_at = CONFIRMED, "closed", ctx.clock.now()
            await settle(ctx.session, owner=OWNER, kind=STATEMENT, ref=ack.id)
            if ack.task_id:
                await ctx.update_card(texts.SETTLE_CARD_DONE["confirm"], task_id=ack.task_id,
                                      user=ack.who)
            log.info("ticket %s closed: customer confirmed %s", ticket.number, row.statement_id)


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
    await announce(ctx, ticket, row, previous, note=str(ctx.event.payload.get("note") or ""))


@router.event("settlement_review_accepted", channel="internal")
async def on_review_accepted(ctx: Context, setup: SettlementSetup) -> None:
    """Finance found the statement right: the disputing party is told it stands, and their
    确认 belongs to it again."""
    review = await ctx.session.get(SettlementReview, int(ctx.event.payload.get("review_id", 0)))
    if review is None or review.statement_id is None:
        return
    row = await statement_by_id(ctx.session, review.statement_id)
    ticket = await ctx.session.get(Ticket, review.ticket_id)
    if row is None or ticket is None:
        log.warning("review %s: statement or ticket gone", review.id)
        return
    for ack in await acks_of(ctx.session, row.statement_id):
        if ack.status == PENDING and ack.who == review.who:
            await expect(ctx.session, person=ack.who, owner=OWNER, kind=STATEMENT, ref=ack.id,
                         now=ctx.clock.now(), expires_at=ctx.clock.now() + timedelta(
                             days=setup.config.answer_days))
    text = texts.SETTLE_REVIEW_ACCEPTED.format(number=ticket.number,
                                               amount=money(row.gross, row.currency))
    if review.note:
        text += "\n" + texts.SETTLE_DIFF_NOTE.format(note=review.note)
    if review.party == CUSTOMER:
        await tell_customer(ctx, ticket, text)
    elif review.who:
        ctx.send_to(review.who, text)


async def region_name(session: Any, code: str) -> str:
    """浦东新区 for 310115 (region rows keep codes at their own length: 33 / 3301 / 330106)."""
    for candidate in dict.fromkeys((code, code[:4] if code.endswith("00") else code,
                                    code[:2] if code.endswith("0000") else code)):
        named = await session.get(Region, candidate)
        if named is not None:
            return named.name
    return code


@router.event("ticket_cancelled", channel="internal")
async def on_cancelled(ctx: Context, setup: SettlementSetup) -> None:
    """Promotion guard over the database's cancellations of the last ``window_days``."""
    g, now = setup.config.guard, ctx.clock.now()
    events = []
    for t, site, at in await cancellations_since(ctx.session, now - timedelta(days=g.window_days)):
        if address := address_key(t):
            events.append(CancelEvent(address, region_code_of(t, site) or "", at))
    decision = evaluate_guard(events, max_events=g.max_events, window_days=g.window_days,
                              region_threshold=g.region_threshold)
    counts = Counter(e.address for e in events)
    region_of = {e.address: e.region for e in events}
    for address, why in decision.addresses:
        if await freeze_add(ctx.session, scope="address", value=address,
                            region=region_of[address], events=counts[address], reason=why,
                            now=now):
            log.warning("promotions frozen for address %r: %s", address, why)
            await tell_staff(ctx, ("manager",), texts.SETTLE_GUARD_ADDRESS.format(
                address=address, days=g.window_days, count=counts[address],
                limit=g.max_events))
    frozen_per_region = Counter(region_of[a] for a, _ in decision.addresses)
    for region, why in decision.regions:
        if region and await freeze_add(ctx.session, scope="region", value=region, region=region,
                                       events=frozen_per_region[region], reason=why, now=now):
            log.warning("promotions frozen for region %s: %s", region, why)
            await tell_staff(ctx, ("manager",), texts.SETTLE_GUARD_REGION.format(
                region=await region_name(ctx.session, region), count=frozen_per_region[region],
                threshold=g.region_threshold))


# -- answers: cards and text ------------------------------------------------------------------


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
        await settle(ctx.session, owner=OWNER, kind=STATEMENT, ref=ack.id)
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
    await settle(ctx.session, owner=OWNER, kind=STATEMENT, ref=ack.id)
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
    await tell_staff(ctx, ("finance", "manager"), texts.SETTLE_REVIEW_TO_FINANCE.format(
        review=review.id, number=ticket.number, party=party, who=ack.who,
        amount=money(row.gross, row.currency), words=said))
    ctx.reply((texts.SETTLE_DISPUTED if words else texts.SETTLE_DISPUTE_ASK_WHY).format(
        number=ticket.number))


@router.card(prefix="settle:")
async def on_card(ctx: Context, key: str) -> None:
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
    acks = await acks_for_person(ctx.session, ctx.event.sender, statuses)
    if not acks:
        return None
    since = ctx.clock.now() - timedelta(days=setup.config.answer_days)
    for ack in acks:
        row = await statement_by_id(ctx.session, ack.statement_id)
        if row is None or row.created_at < since:
            continue
        if turn.ticket_no and row.ticket_number != turn.ticket_no:
            continue
        return ack
    return None


def _about_a_bill(event: Any, turn: Turn | None) -> bool:
    """Explicit words about a bill (确认账单, 异议 …), or a short reply that arbitration gave
    to settlement (a bare 确认 while a statement awaits the person's answer)."""
    return turn is not None and turn.addressed and (
        turn.bill is not None or turn.owner == OWNER)


@router.message(msgtype=("text", "mixed"), when=_about_a_bill)
async def on_billing_text(ctx: Context, setup: SettlementSetup) -> None:
    turn: Turn = ctx.turn
    billing = turn.bill or "confirm"
    if turn.owner == OWNER and turn.bill is None:
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
