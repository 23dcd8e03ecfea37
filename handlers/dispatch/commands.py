"""What technicians and dispatchers write (``nlp/staff_commands.py`` parses it, once, into
``Turn.command``): 接单 / 拒单 [GD…], 出发, 到达, 完工 [工时 … 配件 …] and the 完工 details the
bot asked for, 指派 GD… 李师傅, 为什么派给他 [GD…]. Anyone who is not staff — or a technician's
words that turn out not to be a report — goes on to the next router (intake)."""

from __future__ import annotations

from handlers.dispatch import texts
from handlers.dispatch.base import DISPATCHERS
from handlers.dispatch.engine import explain
from handlers.dispatch.steps import Dispatch
from handlers.dispatch.work import OWNER
from handlers.routing import Context, SkipHandler
from models.dispatch import (ACCEPTED, ESCALATED, DispatchDecisionRow, DispatchJob,
                             active_tickets_of, current_job, latest_decided_ticket,
                             latest_decision, offers_of, open_offers_of)
from models.regions import with_region_names
from models.ticketing import staff_by_userid, staff_called, ticket_by_number
from models.tickets import Ticket
from nlp.staff_commands import StaffCommand


async def run(ctx: Context, cmd: StaffCommand) -> None:
    """Carry out ``cmd``; ``SkipHandler`` when it is not staff's business after all."""
    me = await staff_by_userid(ctx.session, ctx.event.sender)
    roles = set(me.roles or []) if me else set()
    if me is None or not roles & {"technician", *DISPATCHERS}:
        raise SkipHandler  # a customer who happens to write 到了 …: intake's
    d = Dispatch(ctx)
    if cmd.kind == "why":
        await why(ctx, d, cmd, roles)
    elif cmd.kind == "assign":
        await assign_text(ctx, d, cmd, roles)
    elif "technician" not in roles:
        raise SkipHandler
    elif cmd.kind in ("accept", "decline"):
        await answer_text(ctx, d, cmd)
    elif cmd.kind == "details":  # the 完工 details the bot asked for (a named ticket wins)
        if cmd.labour_minutes is None and not cmd.no_parts and not any(p.name for p in cmd.parts):
            raise SkipHandler  # a bare price ("180元") is no work report
        awaited = ctx.turn.awaiting if ctx.turn.owner == OWNER else None  # arbitration.py
        ticket = (await ticket_by_number(ctx.session, cmd.ticket) if cmd.ticket
                  else await ctx.session.get(Ticket, awaited.ref) if awaited else None)
        if (ticket is None or ticket.assignee != ctx.event.sender
                or ticket.status not in ("accepted", "in_progress")):
            raise SkipHandler  # "1小时" with no report awaited: not a report
        await d.report("done", ticket, cmd, None)
    else:
        ticket = await which_ticket(ctx, cmd)
        if ticket is not None:
            await d.report(cmd.kind, ticket, cmd, None)


async def which_ticket(ctx: Context, cmd: StaffCommand) -> Ticket | None:
    """The ticket a report (出发 / 到达 / 完工) is about: the named one if it is theirs, else
    their one active ticket; with several, the bot asks which."""
    me = ctx.event.sender
    if cmd.ticket:
        t = await ticket_by_number(ctx.session, cmd.ticket)
        if t is not None and t.assignee == me:
            return t
        ctx.reply(texts.NO_ACTIVE_JOB)
        return None
    active = await active_tickets_of(ctx.session, me)
    if not active:
        ctx.reply(texts.NO_ACTIVE_JOB)
        return None
    if len(active) > 1:
        ctx.reply(texts.WHICH_JOB.format(numbers=texts.LIST_SEP.join(t.number for t in active),
                                         kind=texts.ACTION_NAMES[cmd.kind],
                                         first=active[0].number))
        return None
    return active[0]


async def answer_text(ctx: Context, d: Dispatch, cmd: StaffCommand) -> None:
    """接单 / 拒单 [GD…] by text: the technician's open offer (the named one, or the only one)."""
    offers = await open_offers_of(ctx.session, ctx.event.sender)
    if cmd.ticket:
        t = await ticket_by_number(ctx.session, cmd.ticket)
        offers = [o for o in offers if t is not None and o.ticket_id == t.id]
    if not offers:
        ctx.reply(texts.NO_OPEN_OFFER)
        return
    if len(offers) > 1 and not cmd.ticket:
        numbers = [(await ctx.session.get(Ticket, o.ticket_id)).number for o in offers]
        ctx.reply(texts.WHICH_JOB.format(numbers=texts.LIST_SEP.join(numbers),
                                         kind=texts.ACTION_NAMES[cmd.kind], first=numbers[0]))
        return
    await d.answer(offers[0], "accept" if cmd.kind == "accept" else "decline", by_card=False)


async def assign_text(ctx: Context, d: Dispatch, cmd: StaffCommand, roles: set[str]) -> None:
    """指派 GD… 李师傅 (dispatchers): also a ticket dispatch does not place by itself."""
    if not roles & set(DISPATCHERS):
        ctx.reply(texts.ASSIGN_NOT_DISPATCHER)
        return
    ticket = await ticket_by_number(ctx.session, cmd.ticket or "")
    if ticket is None:
        ctx.reply(texts.ASSIGN_NO_TICKET.format(number=cmd.ticket))
        return
    techs = [s for s in await staff_called(ctx.session, cmd.name or "")
             if "technician" in (s.roles or [])]
    if len(techs) != 1:
        ctx.reply(texts.ASSIGN_UNKNOWN_TECH.format(name=cmd.name))
        return
    job = await current_job(ctx.session, ticket.id)
    if job is None and ticket.status != "new":
        ctx.reply(texts.ASSIGN_NOT_NEEDED.format(
            number=ticket.number, status=texts.STATUS_NAMES.get(ticket.status, ticket.status)))
        return
    if job is None:  # a category that is not dispatched, or not yet: a person places it
        job = DispatchJob(ticket_id=ticket.id, mode="direct", status=ESCALATED,
                          created_at=d.now, updated_at=d.now)
        ctx.session.add(job)
        await ctx.session.flush()
    await d.assign_by_hand(job.id, techs[0])


async def why(ctx: Context, d: Dispatch, cmd: StaffCommand, roles: set[str]) -> None:
    """为什么派给他 [GD…] (dispatchers, supervisors, managers): the stored decision record,
    explained, with who assigned it by hand or who won the grab."""
    if not roles & set(DISPATCHERS):
        ctx.reply(texts.WHY_NOT_ALLOWED)
        return
    ticket = (await ticket_by_number(ctx.session, cmd.ticket) if cmd.ticket
              else await ctx.session.get(Ticket, await latest_decided_ticket(ctx.session) or 0))
    if ticket is None:
        ctx.reply(texts.WHY_NO_TICKET)
        return
    offers = await offers_of(ctx.session, ticket_id=ticket.id)
    taken = next((o for o in reversed(offers) if o.status == ACCEPTED), None)
    row = (await ctx.session.get(DispatchDecisionRow, taken.decision_id)
           if taken is not None and taken.decision_id else
           await latest_decision(ctx.session, ticket.id))
    if row is None:
        ctx.reply(texts.WHY_NONE.format(number=ticket.number))
        return
    answer = await with_region_names(ctx.session, explain(row.record))  # names, never codes
    if taken is not None and taken.mode == "manual":
        by = (taken.note or "").removeprefix("by:")
        answer = texts.WHY_MANUAL.format(number=ticket.number, dispatcher=await d.name_of(by),
                                         name=await d.name_of(taken.technician), record=answer)
    elif taken is not None and taken.mode == "grab":
        answer += "\n" + texts.WHY_GRAB_WINNER.format(name=await d.name_of(taken.technician))
    ctx.reply(answer)
