"""Dispatch: a created ticket reaches the right technician, and every card stays true.

* ``ticket_created`` (internal event) → a **dispatch job**: rank the technicians
  (``engine/``: hard filters, weighted score; the record is stored), then offer it as
  ``config/offering.yaml`` says for the category — **direct**: to the best candidate with
  接单 / 拒单 / 转派; no answer within ``answer_minutes`` (a durable timer) or 拒单 → the next;
  after ``max_candidates`` → a card to the dispatcher on duty to assign by hand. **grab**: to the
  best ``grab_size`` at once with 抢单; the first click wins (the job row is locked with
  ``SELECT … FOR UPDATE``) and every other card turns into 已被XX接单.
* A click is checked: only the offered technician can act on an offer, a second click or a
  stale card gets a polite answer, and every card update spends one response_code (each works
  once, within 72 h [doc 94888]) — with none left, the person gets a text instead.
* After accepting, the technician reports 出发 / 到达 / 完工 (labour time, parts, photos) by
  button or chat; the ticket moves, the customer is told who is coming, when and how to reach
  them, and ``ticket_resolved`` is raised for settlement.
* ``为什么派给他`` from a dispatcher or manager is answered from the stored decision record.

Every step also works by text (接单 GD…, 拒单 GD…, 出发, 完工 工时1.5小时 …, 指派 GD… 李师傅):
cards are invisible on the WeChat plug-in [PROTOCOL.md §4].

This module holds the entry points; the work is in the layers base.py describes. The paths
that place a job — ``ticket_created``, ``offer_timeout``, ``grab_timeout`` — read the
technician pool in their ``prepare`` step, outside the write transaction (pool.py).
"""

from __future__ import annotations

from typing import Any

from bot.cards import ButtonKey
from handlers.dispatch import commands, texts
from handlers.dispatch.base import is_technician
from handlers.dispatch.location import set_location, technician_media
from handlers.dispatch.pool import (Pool, prepare_grab_timeout, prepare_new_ticket,
                                    prepare_offer_timeout)
from handlers.dispatch.steps import Dispatch
from handlers.dispatch.views import DISPATCH_ACTIONS, DISPATCH_ARG_ACTIONS
from handlers.routing import Context, Router, SkipHandler
from handlers.understanding import Turn
from models.dispatch import CLOSED, Offer, current_job
from models.ticketing import staff_by_userid
from models.tickets import Staff, Ticket
from nlp.staff_commands import StaffCommand

router = Router("dispatch")


# -- internal events and timers -----------------------------------------------------------------


@router.event("ticket_created", channel="internal", prepare=prepare_new_ticket)
async def on_ticket_created(ctx: Context, pool: Pool | None = None) -> None:
    ticket = await ctx.session.get(Ticket, ctx.event.payload.get("ticket_id"))
    d = Dispatch(ctx, pool)
    if ticket is None or ticket.status != "new" or not d.offering.dispatched(ticket.category):
        return
    if await current_job(ctx.session, ticket.id) is not None:
        return  # already dispatched (the event was handled before)
    await d.start(ticket)


@router.event("ticket_cancelled", channel="internal")
async def on_ticket_cancelled(ctx: Context) -> None:
    """The customer cancelled: offers are withdrawn and the technician told."""
    ticket = await ctx.session.get(Ticket, ctx.event.payload.get("ticket_id"))
    job = await current_job(ctx.session, ticket.id) if ticket else None
    if ticket is None or job is None or job.status == CLOSED:
        return
    await Dispatch(ctx).withdraw(ticket, job)


@router.timer("offer_timeout", prepare=prepare_offer_timeout)
async def on_offer_timeout(ctx: Context, data: dict[str, Any], pool: Pool | None = None) -> None:
    offer = await ctx.session.get(Offer, data.get("offer_id"))
    if offer is not None:
        await Dispatch(ctx, pool).time_out(offer)


@router.timer("grab_timeout", prepare=prepare_grab_timeout)
async def on_grab_timeout(ctx: Context, data: dict[str, Any], pool: Pool | None = None) -> None:
    await Dispatch(ctx, pool).grab_expired(data.get("job_id"))  # type: ignore[arg-type]


# -- clicks -----------------------------------------------------------------------------------------


@router.card(prefix="dispatch:")
async def on_card(ctx: Context, key: str) -> None:
    # Typed and bounded: an id is a positive integer below 2**53, and only transfer_to and
    # assign carry a staff id. Anything else (a forged or garbled key) is an unknown card.
    parsed = ButtonKey.parse("dispatch", key, DISPATCH_ACTIONS, DISPATCH_ARG_ACTIONS)
    if parsed is None:
        ctx.reply(texts.CARD_CLICK_UNKNOWN)
        return
    d = Dispatch(ctx)  # 拒单 and 转派 rank in this transaction (no prepare step: pool.py)
    if parsed.action == "assign":
        tech = await ctx.session.get(Staff, parsed.arg)
        if not is_technician(tech):  # only a technician is assigned, whatever the key says
            ctx.reply(texts.CARD_CLICK_UNKNOWN)
            return
        await d.assign_by_hand(parsed.ref, tech)  # type: ignore[arg-type]
        return
    offer = await ctx.session.get(Offer, parsed.ref)
    if offer is None:
        ctx.reply(texts.CARD_CLICK_UNKNOWN)
        return
    if parsed.action == "transfer_to":
        await d.transfer_to(offer, parsed.arg)  # type: ignore[arg-type]
    elif parsed.action in ("accept", "grab", "decline", "transfer"):
        await d.answer(offer, parsed.action, by_card=True)
    else:
        await d.work_click(offer, parsed.action)


# -- what technicians and dispatchers write -------------------------------------------------------


def _command(e: Any, turn: Turn | None) -> dict[str, Any] | None:
    """What a technician or dispatcher wrote (parsed once, in ``Turn.command``)."""
    return {"cmd": turn.command} if turn is not None and turn.command is not None else None


@router.message(msgtype=("text", "mixed"), when=_command)
async def on_command(ctx: Context, cmd: StaffCommand) -> None:
    """Staff commands by text (拒单 ranks in this transaction); anyone else's message goes on
    to the next router (intake)."""
    await commands.run(ctx, cmd)


# -- photos and locations from technicians --------------------------------------------------------


@router.message(msgtype=("image", "location"), channel="app")
async def on_technician_media(ctx: Context) -> None:
    me = await staff_by_userid(ctx.session, ctx.event.sender)
    if me is None or "technician" not in (me.roles or []):
        raise SkipHandler
    await technician_media(ctx, me)


@router.event("LOCATION", channel="app")
async def on_location_report(ctx: Context) -> None:
    """WeCom reports a member's location while they have the app open (silently recorded)."""
    me = await staff_by_userid(ctx.session, ctx.event.sender)
    if me is not None and "technician" in (me.roles or []):
        loc = ctx.event.payload.get("location") or {}
        set_location(me, loc.get("lat"), loc.get("lon"), ctx.clock.now())
