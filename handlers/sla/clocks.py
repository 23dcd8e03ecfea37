"""SLA clocks on the durable timers.

A created ticket gets one ``SlaClock`` per metric its policy sets (``config/sla.yaml``), and
each clock one durable timer (``sla:<clock id>``) armed at its next step: an escalation level,
the yellow point or the breach. When the timer fires the clock is looked at again:

* its metric happened (``accepted_at``, ``arrived_at`` … or the ticket resolved) → done
  (breached if that was after the deadline); the ticket was cancelled → stopped;
* the ticket waits for the customer (``pending_customer``) or for parts (``sla:pause`` in its
  audit trail) → paused: the timer polls every ``POLL`` until it moves again. Paused time is
  read from the audit trail each time, so a pause that began and ended between two steps
  counts too, and every deadline moves by the business time spent paused;
* otherwise every step that is due runs — once: each is recorded in ``sla_escalation``
  (unique per ticket and step) in the transaction that sends it, so a retried event or a second
  replica finds the row and sends nothing — and the timer is armed at the next step.

Repeating reminders (``sla_remind:<ticket>``) work the same way, step ``remind:<n>``.
Workflow nodes: ``node_deadline`` is the hook (a node kind and a start → the deadlines).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from handlers.lifecycle import change
from handlers.routing import Context
from handlers.sla import texts
from handlers.sla.config import Recipient, SlaConfig, seconds
from handlers.sla.deliver import about, fan_out, sms_params
from handlers.sla.engine import deadlines, plan, resolve_targets
from handlers.sla.people import recipients, ticket_region
from models.db import add_many
from models.dispatch import ACCEPTED, DECLINED, TRANSFERRED, Offer
from models.keys import sla_clock_timer, sla_remind_timer, ticket_conversation
from models.sla import (DONE, PAUSED, RUNNING, STOPPED, SlaClock, SlaEscalation, clocks_of,
                        record_step)
from models.tickets import Ticket, TicketEvent
from scheduler.calendar import SHANGHAI
from scheduler.timers import Arming, arm, arm_many, cancel

log = logging.getLogger("handlers.sla.clocks")

POLL = timedelta(minutes=5)  # how often a paused clock looks whether the ticket moved again
CLOSED = ("resolved", "closed", "cancelled")
PRIORITIES = ("low", "normal", "high", "urgent")
ANSWERS = (ACCEPTED, DECLINED, TRANSFERRED)  # a person answered (a timeout is no answer)
DONE_FIELD = {"accept": "accepted_at", "arrive": "arrived_at", "resolve": "resolved_at",
              "depart": "departed_at"}


def node_deadline(cfg: SlaConfig, node_kind: str, start: datetime, *, kind: str = "*",
                  priority: str = "normal", region: str = "", store: str = ""
                  ) -> tuple[datetime, datetime] | None:
    """The hook for workflow nodes (issue 13): (yellow point, breach) of a node of
    ``node_kind`` started at ``start``, from the ``node:<kind>`` targets of the matching
    policies on their calendar; None when no policy sets one."""
    t = resolve_targets(cfg.policies, kind=kind, priority=priority, region=region, store=store,
                        parse=seconds)
    target = t.seconds.get(f"node:{node_kind}")
    if target is None:
        return None
    return deadlines(cfg.calendar(t.calendar), started=start, target=target,
                     yellow_share=cfg.yellow, paused=0)


def _local(at: datetime) -> str:
    return at.astimezone(SHANGHAI).strftime("%m-%d %H:%M")


async def start_clocks(ctx: Context, cfg: SlaConfig, ticket: Ticket) -> list[SlaClock]:
    """The clocks of a new ticket (none twice: a retried event finds them)."""
    if await clocks_of(ctx.session, ticket.id):
        return []
    now = ctx.clock.now()
    region, store = await ticket_region(ctx.session, ticket)
    t = resolve_targets(cfg.policies, kind=ticket.category, priority=ticket.priority,
                        region=region, store=store, parse=seconds)
    cal = cfg.calendar(t.calendar)
    started = ticket.created_at or now
    out: list[dict[str, Any]] = []
    for metric, target in t.seconds.items():
        if metric.startswith("node:"):  # a workflow node's clock starts with the node
            continue
        yellow_at, due_at = deadlines(cal, started=started, target=target,
                                      yellow_share=cfg.yellow, paused=0)
        out.append(dict(ticket_id=ticket.id, metric=metric, policy=t.policy,
                        calendar=t.calendar, chain=t.chains.get(metric, ""),
                        target_seconds=target, started_at=started, yellow_at=yellow_at,
                        due_at=due_at, created_at=now, updated_at=now))
    clocks = await add_many(ctx.session, SlaClock, out)  # one INSERT: their ids name timers
    timers = [a for a in (_next_timer(cfg, c, set()) for c in clocks) if a is not None]
    reminder = cfg.reminders.get(ticket.category)
    if reminder is not None and ticket.category not in cfg.silent_kinds:
        timers.append(Arming(sla_remind_timer(ticket.id), cal.add(now, seconds(reminder.every)),
                             "sla_remind", {"ticket_id": ticket.id, "n": 1},
                             ticket_conversation(ticket.id)))
    await arm_many(ctx.session, timers, now=now)
    return clocks


def _plan(cfg: SlaConfig, clock: SlaClock) -> list[Any]:
    return plan(cfg.calendar(clock.calendar), started=clock.started_at,
                target=clock.target_seconds, yellow_share=cfg.yellow,
                paused=clock.paused_seconds, levels=cfg.chains.get(clock.chain, []),
                parse=seconds)


async def _done_steps(session: Any, clock: SlaClock) -> set[str]:
    rows = (await session.execute(select(SlaEscalation.step).where(
        SlaEscalation.clock_id == clock.id))).scalars()
    return {s.rsplit(":", 1)[1] for s in rows}


def _next_timer(cfg: SlaConfig, clock: SlaClock, done: set[str]) -> Arming | None:
    """The clock's timer at its next step not yet ``done``; None when no step is left."""
    nxt = next((s for s in _plan(cfg, clock) if s.name not in done), None)
    if nxt is None:
        return None
    return Arming(sla_clock_timer(clock.id), nxt.at, "sla_clock", {"clock_id": clock.id},
                  ticket_conversation(clock.ticket_id))


async def arm_next(ctx: Context, cfg: SlaConfig, clock: SlaClock, done: set[str]) -> None:
    nxt = _next_timer(cfg, clock, done)
    if nxt is None:
        await cancel(ctx.session, sla_clock_timer(clock.id), now=ctx.clock.now())
    else:
        await arm_many(ctx.session, [nxt], now=ctx.clock.now())


async def done_at(session: Any, ticket: Ticket, metric: str) -> datetime | None:
    """When ``metric`` happened for ``ticket`` (resolving it completes every metric)."""
    if metric == "first_response":
        answered = (await session.execute(select(Offer.answered_at).where(
            Offer.ticket_id == ticket.id, Offer.answered_at.is_not(None),
            Offer.status.in_(ANSWERS))
            .order_by(Offer.answered_at).limit(1))).scalar_one_or_none()
        times = [t for t in (ticket.accepted_at, answered, ticket.resolved_at) if t is not None]
        return min(times) if times else None
    at = getattr(ticket, DONE_FIELD.get(metric, "resolved_at"), None)
    return at or ticket.resolved_at


async def pauses(session: Any, ticket_id: int, cal: Any, since: datetime,
                 now: datetime) -> tuple[float, datetime | None]:
    """(business seconds paused since ``since``, when the current pause began or None)."""
    rows = (await session.execute(select(TicketEvent.action, TicketEvent.at).where(
        TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.at, TicketEvent.id))).all()
    waiting = parts = False
    began: datetime | None = None
    total = 0.0
    for action, at in rows:
        if action.startswith("status:"):
            waiting = action == "status:pending_customer"
        elif action in ("sla:pause", "sla:resume"):
            parts = action == "sla:pause"
        else:
            continue
        if (waiting or parts) and began is None:
            began = at
        elif not (waiting or parts) and began is not None:
            total += cal.between(max(began, since), min(at, now)) if at > since else 0.0
            began = None
    return total, began


async def _finish(ctx: Context, clock: SlaClock, at: datetime, status: str = DONE) -> None:
    clock.status, clock.updated_at = status, ctx.clock.now()
    if status == DONE:
        clock.met_at = at
        if at > clock.due_at and not clock.breached:
            clock.breached, clock.breached_at = True, clock.due_at
    await cancel(ctx.session, sla_clock_timer(clock.id), now=ctx.clock.now())


async def refresh(ctx: Context, cfg: SlaConfig, clock: SlaClock, ticket: Ticket) -> bool:
    """Bring ``clock`` up to date; True if it still runs (not done, stopped or paused)."""
    now = ctx.clock.now()
    if clock.status in (DONE, STOPPED):
        return False
    at = await done_at(ctx.session, ticket, clock.metric)
    cal = cfg.calendar(clock.calendar)
    paused, began = await pauses(ctx.session, ticket.id, cal, clock.started_at, at or now)
    clock.paused_seconds = paused
    clock.yellow_at, clock.due_at = deadlines(cal, started=clock.started_at,
                                              target=clock.target_seconds,
                                              yellow_share=cfg.yellow, paused=paused)
    if at is not None:
        await _finish(ctx, clock, at)
        return False
    if ticket.status == "cancelled":
        await _finish(ctx, clock, now, STOPPED)
        return False
    if began is not None:
        clock.status, clock.paused_at = PAUSED, began
        clock.pause_reason = "customer" if ticket.status == "pending_customer" else "parts"
        clock.updated_at = now
        await arm(ctx.session, sla_clock_timer(clock.id), now + POLL, "sla_clock",
                  payload={"clock_id": clock.id},
                  conversation_key=ticket_conversation(ticket.id), now=now)
        return False
    clock.status, clock.paused_at, clock.pause_reason = RUNNING, None, None
    clock.updated_at = now
    return True


async def on_clock(ctx: Context, cfg: SlaConfig, clock_id: int) -> None:
    """The clock's timer fired: run every step that is due, then arm the next."""
    clock = await ctx.session.get(SlaClock, clock_id, with_for_update=True)
    if clock is None:
        return
    ticket = await ctx.session.get(Ticket, clock.ticket_id)
    if ticket is None or not await refresh(ctx, cfg, clock, ticket):
        return
    now = ctx.clock.now()
    done = await _done_steps(ctx.session, clock)
    for step in _plan(cfg, clock):
        if step.at > now:
            break
        if step.name not in done:
            await run_step(ctx, cfg, clock, ticket, step)
            done.add(step.name)
    await arm_next(ctx, cfg, clock, done)


async def run_step(ctx: Context, cfg: SlaConfig, clock: SlaClock, ticket: Ticket,
                   step: Any) -> None:
    now = ctx.clock.now()
    key = f"{clock.metric}:{step.name}"
    metric = texts.METRIC_NAMES.get(clock.metric, clock.metric)
    base = {**about(ticket), "metric": metric, "due": _local(clock.due_at)}
    silent = ticket.category in cfg.silent_kinds
    if step.name in ("yellow", "breach"):
        if step.name == "yellow":
            clock.yellow = True
        else:
            clock.breached, clock.breached_at = True, clock.due_at
        people = [] if silent else await recipients(ctx.session, ticket, _assignee())
        if not await record_step(ctx.session, _row(ticket, clock, key, "notice", people,
                                                   ["wecom"], now)):
            return
        text = (texts.YELLOW if step.name == "yellow" else texts.BREACH).format(**base)
        await fan_out(ctx, cfg, ticket, people, ["wecom"], step=key, text=text,
                      subject=texts.EMAIL_SUBJECT.format(number=ticket.number,
                                                         what=texts.SMS_WHAT[step.name]),
                      sms_params=sms_params(ticket.number, texts.SMS_WHAT[step.name]))
        log.info("ticket %s %s %s", ticket.number, clock.metric, step.name)
        return
    level = step.level
    people = await recipients(ctx.session, ticket, list(level.to))
    quiet_people = [] if silent and level.action == "remind" else people
    row = _row(ticket, clock, key, level.action, people, list(level.via), now)
    if not await record_step(ctx.session, row):
        return  # this step was taken already (a retry, another replica)
    n = int(step.name.removeprefix("level"))
    fmt = {**base, "after": _duration(level.after), "level": n, "place": _place(ticket)}
    text = texts.LEVEL.format(**fmt)
    what = texts.SMS_WHAT["level"]
    if level.action == "reassign" and people:
        clock.owner = people[0].userid
        ctx.session.add(TicketEvent(ticket_id=ticket.id, actor="sla", action="sla:reassign",
                                    after={"owner": clock.owner, "step": key}, at=now))
        text, what = texts.REASSIGNED.format(**fmt), texts.SMS_WHAT["reassign"]
    elif level.action == "raise_priority":
        i = PRIORITIES.index(ticket.priority) if ticket.priority in PRIORITIES else 1
        new = PRIORITIES[min(i + 1, len(PRIORITIES) - 1)]
        if new != ticket.priority:
            await change(ctx.session, ticket, actor="sla", action="sla:priority", now=now,
                         reason=key, priority=new)
        text = texts.RAISED.format(**fmt, priority=texts.PRIORITY_NAMES.get(new, new))
        what = texts.SMS_WHAT["raise_priority"]
    elif level.action == "upgrade":
        await change(ctx.session, ticket, actor="sla", action="sla:upgrade", now=now,
                     reason=key, priority="urgent",
                     fields={**(ticket.fields or {}), "tier": texts.SENIOR})
        text, what = texts.UPGRADED.format(**fmt), texts.SMS_WHAT["upgrade"]
    held = await fan_out(ctx, cfg, ticket, quiet_people, list(level.via), step=key, text=text,
                         subject=texts.EMAIL_SUBJECT.format(number=ticket.number, what=what),
                         sms_params=sms_params(ticket.number, what))
    if held:
        await _note_held(ctx.session, ticket.id, key, held)
    log.info("ticket %s %s %s: %s to %s via %s", ticket.number, clock.metric, step.name,
             level.action, [p.userid for p in people], list(level.via))


async def _note_held(session: Any, ticket_id: int, step: str, held: list[str]) -> None:
    row = (await session.execute(select(SlaEscalation).where(
        SlaEscalation.ticket_id == ticket_id, SlaEscalation.step == step))).scalar_one()
    row.held = held


def _row(ticket: Ticket, clock: SlaClock | None, step: str, action: str, people: list[Any],
         channels: list[str], now: datetime) -> dict[str, Any]:
    return {"ticket_id": ticket.id, "clock_id": clock.id if clock else None, "step": step,
            "action": action, "recipients": [p.userid for p in people], "channels": channels,
            "held": [], "at": now}


def _assignee() -> list[Any]:
    return [Recipient(who="assignee")]


def _place(ticket: Ticket) -> str:
    where = ticket.store or ticket.address or ""
    return texts.PLACE.format(place=where) if where else ""


def _duration(text: str) -> str:
    s = seconds(text)
    if s % 3600 == 0:
        return f"{s // 3600}小时"
    if s % 60 == 0:
        return f"{s // 60}分钟"
    return f"{s}秒"


async def on_remind(ctx: Context, cfg: SlaConfig, ticket_id: int, n: int) -> None:
    """A repeating reminder fired: remind whoever holds the ticket, until they act."""
    ticket = await ctx.session.get(Ticket, ticket_id)
    reminder = cfg.reminders.get(ticket.category) if ticket is not None else None
    if ticket is None or reminder is None or ticket.status in CLOSED:
        return
    if await done_at(ctx.session, ticket, reminder.until) is not None:
        return  # the technician acted: the reminders stop
    now = ctx.clock.now()
    clocks = await clocks_of(ctx.session, ticket.id)
    cal = cfg.calendar(clocks[0].calendar if clocks else "mainland")
    _, paused_since = await pauses(ctx.session, ticket.id, cal, ticket.created_at, now)
    people = [] if paused_since else await recipients(ctx.session, ticket, list(reminder.to))
    if people:
        key = f"remind:{n}"
        if await record_step(ctx.session, _row(ticket, None, key, "remind", people,
                                               list(reminder.via), now)):
            text = texts.REMIND.format(**about(ticket), every=_duration(reminder.every),
                                       place=_place(ticket))
            await fan_out(ctx, cfg, ticket, people, list(reminder.via), step=key, text=text,
                          subject=texts.EMAIL_SUBJECT.format(number=ticket.number,
                                                             what=texts.SMS_WHAT["remind"]),
                          sms_params=sms_params(ticket.number, texts.SMS_WHAT["remind"]))
        n += 1
    await arm(ctx.session, sla_remind_timer(ticket.id), cal.add(now, seconds(reminder.every)),
              "sla_remind", payload={"ticket_id": ticket.id, "n": n},
              conversation_key=ticket_conversation(ticket.id), now=now)


async def settle_ticket(ctx: Context, cfg: SlaConfig, ticket: Ticket) -> None:
    """The ticket moved on (resolved, closed, cancelled): every clock is brought up to date
    now, so settlement reads the final ``sla_breached``."""
    for clock in await clocks_of(ctx.session, ticket.id):
        await refresh(ctx, cfg, clock, ticket)
    if ticket.status in CLOSED:
        await cancel(ctx.session, sla_remind_timer(ticket.id), now=ctx.clock.now())


async def pause(ctx: Context, ticket: Ticket, reason: str, *, resume: bool = False) -> None:
    """Pause (or resume) a ticket's clocks while it waits for parts: an audited event that
    ``pauses`` reads; the clocks' next firing moves by the time spent waiting."""
    ctx.session.add(TicketEvent(ticket_id=ticket.id, actor="sla",
                                action="sla:resume" if resume else "sla:pause",
                                reason=reason, at=ctx.clock.now()))
    await ctx.session.flush()
