"""The SLA feature's entry points.

* ``ticket_created`` → the ticket's clocks and its repeating reminder (clocks.py);
  ``ticket_resolved`` / ``ticket_closed`` / ``ticket_cancelled`` → the clocks are settled at
  once, before settlement prices the ticket (this router is listed first), so a breach is in
  the statement; ``sla_pause`` / ``sla_resume`` (``{"ticket_id", "reason"}``) → waiting for parts.
* timers ``sla_clock`` (a step is due), ``sla_remind`` (a repeating reminder), ``sla_digest``
  (a recurring digest, digest.py).
* ``我的待办`` from any member of staff: their open tickets, red / yellow / green, nearest
  deadline first — the silent list for kinds that never ping (``silent_kinds``).
* ``汇总`` / ``今日工单`` / ``周报`` … from a manager (supervisor, dispatcher, director,
  finance, store manager): the digest on demand, as text.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import or_, select

from handlers.routing import Context, Router, SkipHandler
from handlers.sla import chart, texts
from handlers.sla.clocks import on_clock, on_remind, pause, settle_ticket, start_clocks
from handlers.sla.config import SlaConfig
from handlers.sla.digest import (OPEN_DONE, digest_stats, digest_text, next_run, period_rows,
                                 today, window)
from handlers.sla.engine import GREEN, RED, YELLOW, colour
from models.dispatch import OFFERED, Offer
from models.keys import sla_digest_timer
from models.messages import INTERNAL
from models.sla import DONE, STOPPED, SlaClock, add_delivery, record_digest
from models.ticketing import may_hold, staff_by_userid
from models.tickets import Staff, Ticket
from scheduler.calendar import SHANGHAI
from scheduler.timers import arm

router = Router("sla")

DIGEST_ROLES = ("manager", "supervisor", "dispatcher", "director", "finance", "store_manager")
TODO_MAX = 15
_TODO = re.compile(r"^(我的)?待办(列表|事项)?[?？。!！]*$")
_SUMMARY = re.compile(r"汇总|统计|日报|周报|报表|今日工单|今天工单|今天的工单|工单概况")
_TICKET_NO = re.compile(r"GD\d{8}", re.IGNORECASE)


def _text(e: Any, t: Any) -> str:
    return ((t.text if t is not None else None) or e.text or "").strip()


def _is_todo(e: Any, t: Any) -> bool:
    return (t is None or t.addressed) and bool(_TODO.match(_text(e, t)))


def _is_summary(e: Any, t: Any) -> bool:
    text = _text(e, t)  # a short request for numbers, not about one ticket
    return ((t is None or t.addressed) and len(text) <= 20 and bool(_SUMMARY.search(text))
            and not _TICKET_NO.search(text))


@router.event("ticket_created", channel=INTERNAL)
async def on_ticket_created(ctx: Context, cfg: SlaConfig) -> None:
    ticket = await ctx.session.get(Ticket, ctx.event.payload.get("ticket_id"))
    if ticket is not None:
        await start_clocks(ctx, cfg, ticket)


@router.event(("ticket_resolved", "ticket_closed", "ticket_cancelled"), channel=INTERNAL)
async def on_ticket_moved(ctx: Context, cfg: SlaConfig) -> None:
    ticket = await ctx.session.get(Ticket, ctx.event.payload.get("ticket_id"))
    if ticket is not None:
        await settle_ticket(ctx, cfg, ticket)


@router.event(("sla_pause", "sla_resume"), channel=INTERNAL)
async def on_pause(ctx: Context) -> None:
    ticket = await ctx.session.get(Ticket, ctx.event.payload.get("ticket_id"))
    if ticket is not None:
        await pause(ctx, ticket, str(ctx.event.payload.get("reason") or "parts"),
                    resume=ctx.event.type == "sla_resume")


@router.timer("sla_clock")
async def on_clock_timer(ctx: Context, cfg: SlaConfig, data: dict[str, Any]) -> None:
    await on_clock(ctx, cfg, int(data["clock_id"]))


@router.timer("sla_remind")
async def on_remind_timer(ctx: Context, cfg: SlaConfig, data: dict[str, Any]) -> None:
    await on_remind(ctx, cfg, int(data["ticket_id"]), int(data.get("n", 1)))


@router.timer("sla_digest")
async def on_digest_timer(ctx: Context, cfg: SlaConfig, data: dict[str, Any]) -> None:
    """A recurring digest fired: one per recipient, recorded (never twice), then re-armed."""
    from datetime import datetime

    d = next((x for x in cfg.digests if x.name == data.get("name")), None)
    if d is None:
        return  # removed from config/sla.yaml: not re-armed
    now = ctx.clock.now()
    end = datetime.fromisoformat(ctx.event.payload.get("due_at") or now.isoformat())
    start, period = window(d.every, end)
    people = [p for p in (await ctx.session.execute(select(Staff).where(
        Staff.active.is_(True), may_hold(Staff.roles, *d.roles)).order_by(Staff.id))).scalars()
        if set(p.roles or []) & set(d.roles)]
    font = chart.cjk_font() if d.chart else None
    rows = await period_rows(ctx.session, start, end) if people else None
    for p in people:
        stats = await digest_stats(ctx.session, p, start=start, end=end, now=now, period=period,
                                   rows=rows)
        if not await record_digest(ctx.session, {"schedule": d.name, "period": period,
                                                 "userid": p.userid, "stats": stats,
                                                 "created_at": now}):
            continue
        ctx.send_to(p.userid, digest_text(stats, d.every,
                                          chart=(font is not None) if d.chart else None))
        if font is not None:
            await add_delivery(ctx.session, {
                "key": f"digest:{d.name}:{period}:{p.userid}:image", "kind": "digest",
                "ticket_id": None, "channel": "wecom_image", "recipient": p.userid,
                "address": p.userid, "subject": "", "body": "", "payload": {"stats": stats},
                "fallback": [], "status": "pending", "not_before": now, "attempts": 0,
                "created_at": now})
    await arm(ctx.session, sla_digest_timer(d.name), next_run(d, max(end, now)), "sla_digest",
              payload={"name": d.name}, conversation_key=sla_digest_timer(d.name), now=now)


@router.message(msgtype=("text", "mixed"), when=_is_summary)
async def on_summary(ctx: Context) -> None:
    me = await staff_by_userid(ctx.session, ctx.event.sender)
    if me is None or not me.active or not set(me.roles or []) & set(DIGEST_ROLES):
        raise SkipHandler  # not a manager: the fallback answers
    now = ctx.clock.now()
    every = "week" if "周" in _text(ctx.event, ctx.turn) else "day"
    start, period = window("week", now) if every == "week" else today(now)
    stats = await digest_stats(ctx.session, me, start=start, end=now, now=now, period=period)
    ctx.reply(digest_text(stats, every, chart=None))


@router.message(msgtype=("text", "mixed"), when=_is_todo)
async def on_todo(ctx: Context) -> None:
    me = await staff_by_userid(ctx.session, ctx.event.sender)
    if me is None or not me.active:
        raise SkipHandler
    ctx.reply(await todo_text(ctx.session, me.userid, ctx.clock.now()))


async def todo_text(session: Any, userid: str, now: Any) -> str:
    """The person's open tickets (assigned, offered to them, or handed to them by an
    escalation), the most urgent first."""
    offered = select(Offer.ticket_id).where(Offer.technician == userid, Offer.status == OFFERED)
    owned = select(SlaClock.ticket_id).where(SlaClock.owner == userid)
    tickets = list((await session.execute(select(Ticket).where(
        Ticket.status.not_in(OPEN_DONE),
        or_(Ticket.assignee == userid, Ticket.id.in_(offered), Ticket.id.in_(owned)))
        .order_by(Ticket.id))).scalars())
    if not tickets:
        return texts.TODO_NONE
    rank = {RED: 0, YELLOW: 1, GREEN: 2}
    rows = []
    for t in tickets:
        clocks = [c for c in (await session.execute(select(SlaClock).where(
            SlaClock.ticket_id == t.id))).scalars() if c.status not in (DONE, STOPPED)]
        lights = [(colour(breached=c.breached, yellow_at=c.yellow_at, due_at=c.due_at,
                          done=False, now=now), c) for c in clocks]
        worst = min(lights, key=lambda x: (rank[x[0]], x[1].due_at), default=(GREEN, None))
        c = worst[1]
        due = (texts.TODO_DUE.format(metric=texts.METRIC_NAMES.get(c.metric, c.metric),
                                     due=c.due_at.astimezone(SHANGHAI).strftime("%m-%d %H:%M"))
               if c is not None else "")
        rows.append((rank[worst[0]], c.due_at if c is not None else t.created_at,
                     texts.TODO_LINE.format(light=texts.LIGHT_NAMES[worst[0]], number=t.number,
                                            title=t.title or t.category,
                                            status=texts.STATUS_NAMES.get(t.status, t.status),
                                            due=due)))
    rows.sort(key=lambda r: (r[0], r[1]))
    lines = [texts.TODO_TITLE.format(n=len(rows))] + [r[2] for r in rows[:TODO_MAX]]
    if len(rows) > TODO_MAX:
        lines.append(texts.TODO_MORE.format(n=len(rows) - TODO_MAX))
    return "\n".join(lines)
