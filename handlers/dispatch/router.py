"""Dispatch: a created ticket reaches the right technician, and every card stays true.

* ``ticket_created`` (internal event) → a **dispatch job**: rank the technicians
  (``dispatching/``: hard filters, weighted score; the record is stored), then offer it as
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
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.cards import ButtonKey, button_card
from handlers.dispatch.views import (DISPATCH_ACTIONS, DISPATCH_ARG_ACTIONS, dispatch_key,
                                     offer_card, pick_card, work_card)
from models.keys import (actor, assign_task, grab_timer, offer_task, offer_timer,
                         ticket_conversation, transfer_task, work_task)
from handlers.dispatch.engine import GeoPoint, Job, TechnicianIndex, eta_minutes, explain, haversine_km, top_m
from handlers.dispatch.engine.config import DispatchConfig
from handlers.dispatch.engine.filters import skill_ok
from handlers.dispatch.engine.specs import technician_from_dict
from handlers.dispatch.engine.model import Technician
from handlers.dispatch.engine.record import DispatchDecision
from handlers.dispatch.engine.regions import serves
from handlers.dispatch import texts
from handlers.dispatch.config import OfferingConfig
from handlers.lifecycle import IllegalTransition, change, transition
from handlers.notify import tell_customer
from handlers.routing import Context, Router, SkipHandler
from models.dispatch import (ACCEPTED, ASSIGNED, CLOSED, DECLINED, ESCALATED, LOST, OFFERED,
                             OFFERING, TIMED_OUT, TRANSFERRED, WITHDRAWN, DispatchDecisionRow,
                             DispatchJob, Offer, WorkReport, accept_stats, accepted_offer,
                             active_tickets_of, current_job, latest_decided_ticket,
                             latest_decision, lock_job, offers_of, open_loads, open_offers_of,
                             satisfaction_by_technician, technician_rows)
from models.conversation import expect, settle
from models.types import LOCAL_TZ
from models.ticketing import (first_staff_with, point_of, region_code_of, staff_by_userid,
                              staff_with_role, ticket_by_number)
from models.tickets import Attachment, Site, Staff, Ticket, TicketEvent
from handlers.understanding import Turn
from nlp.staff_commands import StaffCommand
from scheduler.timers import arm, cancel

log = logging.getLogger("handlers.dispatch.router")
router = Router("dispatch")

DISPATCHERS = ("dispatcher", "supervisor", "manager")  # who may assign and ask 为什么派给他
ESCALATE_TO = ("dispatcher", "supervisor", "manager")  # the first role anyone has
RATING_PRIOR = 5  # customer scores count against the imported rating as if it were 5 scores
ALWAYS = [{"days": "daily", "start": "00:00", "end": "24:00"}]  # no shifts given: always on
OWNER, WORK_REPORT = "dispatch", "work_report"  # the 完工 details awaited from a technician
REPORT_WAIT = timedelta(hours=24)  # how long a bare "工时1.5小时" still completes that job


# -- the technician pool -----------------------------------------------------------------------


async def load_pool(session: Any, now: datetime) -> tuple[list[Technician], dict[str, Any]]:
    """Every active technician as the engine sees them now: load, jobs today, response speed
    and rating are derived from tickets and offers; a row the engine cannot use is skipped
    with a log line naming it."""
    staff = await technician_rows(session)
    loads = await open_loads(session)
    local_midnight = now.astimezone(LOCAL_TZ).replace(hour=0, minute=0, second=0,
                                                      microsecond=0)
    medians, today = await accept_stats(session, now - timedelta(days=3), local_midnight)
    scores = await satisfaction_by_technician(session)
    techs: list[Technician] = []
    for s in staff:
        total, n = scores.get(s.userid, (0.0, 0))
        rating = s.rating
        if n:
            rating = ((s.rating * RATING_PRIOR + total) / (RATING_PRIOR + n) if s.rating
                      else total / n)
        last = ({"lat": s.last_lat, "lon": s.last_lon}
                if s.last_lat is not None and s.last_seen_at is not None else None)
        try:
            techs.append(technician_from_dict({
                "id": s.userid, "name": s.name or s.userid, "skills": s.skills or {},
                "regions": s.regions or [], "home": {"lat": s.home_lat, "lon": s.home_lon},
                "capacity": s.capacity, "load": loads.get(s.userid, 0),
                "last_known": last, "last_seen_at": s.last_seen_at if last else None,
                "shifts": s.shifts or ALWAYS, "leave": s.leave or [], "rating": rating,
                "response_median_s": medians.get(s.userid), "jobs_today": today.get(s.userid, 0),
            }))
        except (TypeError, ValueError, KeyError) as exc:
            log.warning("technician %s left out of dispatch: %s", s.userid, exc)
    return techs, {s.userid: s for s in staff}


def job_for(ticket: Ticket, site: Site | None, offering: OfferingConfig,
            now: datetime) -> Job | None:
    """The engine's view of a ticket; None when nothing places it in a region."""
    region = region_code_of(ticket, site)
    if region is None:
        return None
    need = offering.need(ticket.category, ticket.device)
    point = point_of(ticket, site)
    at = ticket.appointment_start
    return Job(id=ticket.number, category=ticket.category, skill=need.skill,
               min_level=need.min_level, region=region,
               location=GeoPoint(*point) if point else None,
               at=at if at is not None and at > now else None)


def _local(t: datetime) -> str:
    t = t.astimezone(LOCAL_TZ)
    return texts.DATE_TIME.format(month=t.month, day=t.day, hm=f"{t:%H:%M}")


def _hours(minutes: int) -> str:
    h = Decimal(minutes) / 60
    return (texts.HOURS.format(n=f"{h.normalize():f}") if h == h.quantize(Decimal("0.01"))
            else texts.MINUTES.format(n=minutes))


def _work_summary(report: WorkReport) -> str:
    text = texts.WORK_SUMMARY.format(hours=_hours(report.labour_minutes))
    if report.parts:
        return text + texts.WORK_PARTS.format(parts=texts.LIST_SEP.join(
            texts.PART_QTY.format(name=p["name"], qty=f"{Decimal(p['qty']).normalize():f}")
            for p in report.parts))
    return text + texts.WORK_NO_PARTS


# -- one event's work ------------------------------------------------------------------------------


class Dispatch:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.session = ctx.session
        self.now = ctx.clock.now()
        self.offering = ctx.services[OfferingConfig]
        self.scoring = ctx.services[DispatchConfig]
        self.actor = actor(ctx.event.channel, ctx.event.sender) if ctx.event.sender else "dispatch"

    # -- placing a job -------------------------------------------------------------------

    async def start(self, ticket: Ticket) -> None:
        """A new dispatch job for ``ticket`` and its first offer(s)."""
        policy = self.offering.policy(ticket.category)
        job = DispatchJob(ticket_id=ticket.id, mode=policy.mode, status=OFFERING,
                          created_at=self.now, updated_at=self.now)
        self.session.add(job)
        await self.session.flush()
        if ticket.status != "dispatched":
            await transition(self.session, ticket, "dispatched", actor="dispatch", now=self.now)
        await self.offer_next(job, ticket)

    async def rank(self, ticket: Ticket, k: int, exclude: set[str],
                   grab: bool = False) -> tuple[DispatchDecision | None, dict[str, Any]]:
        site = await self.session.get(Site, ticket.site_id) if ticket.site_id else None
        job = job_for(ticket, site, self.offering, self.now)
        techs, staff = await load_pool(self.session, self.now)
        if job is None:
            return None, staff
        index = TechnicianIndex.build(techs)
        if grab:
            return top_m(job, index, self.scoring, self.now, m=k, exclude=exclude), staff
        return index.rank(job, self.scoring, self.now, k=k, exclude=exclude), staff

    async def offer_next(self, job: DispatchJob, ticket: Ticket) -> None:
        """Offer the job to the next candidate(s), or hand it to the dispatcher on duty."""
        if ticket.status != "dispatched":  # cancelled meanwhile: ticket_cancelled closes the job
            return
        policy = self.offering.policy(ticket.category)
        tried = {o.technician for o in await offers_of(self.session, job_id=job.id)}
        if job.mode == "direct" and job.offers_made >= policy.max_candidates:
            await self.escalate(job, ticket, "exhausted", count=job.offers_made)
            return
        grab = job.mode == "grab"
        k = policy.grab_size if grab else max(self.scoring.top_k, 1)
        decision, staff = await self.rank(ticket, k, tried, grab=grab)
        if decision is None:
            await self.escalate(job, ticket, "no_region")
            return
        chosen = [c for c in decision.candidates if c.total >= policy.min_score]
        row = DispatchDecisionRow(job_id=job.id, ticket_id=ticket.id, record=decision.to_dict(),
                                  chosen=chosen[0].tech_id if chosen and not grab else None,
                                  decided_at=self.now)
        self.session.add(row)
        await self.session.flush()
        if not chosen:
            reason = "declined_all" if tried else "nobody"
            detail = texts.LIST_SEP.join(texts.FILTERED_COUNT.format(why=_filter_name(f), n=n)
                                         for f, n in decision.rejected_counts.items() if n)
            await self.escalate(job, ticket, reason, detail=detail or texts.NO_TECHNICIANS)
            return
        minutes = policy.grab_minutes if grab else policy.answer_minutes
        expires = self.now + timedelta(minutes=minutes)
        targets = chosen if grab else chosen[:1]
        for c in targets:
            offer = Offer(job_id=job.id, ticket_id=ticket.id, decision_id=row.id,
                          technician=c.tech_id, mode=job.mode, rank=c.rank, score=c.total,
                          status=OFFERED, offered_at=self.now, expires_at=expires)
            self.session.add(offer)
            await self.session.flush()
            if not grab:
                await arm(self.session, offer_timer(offer.id), expires, "offer_timeout",
                          payload={"offer_id": offer.id}, conversation_key=ticket_conversation(ticket.id),
                          now=self.now)
            self.send_offer(offer, ticket, c.facts.distance_km, len(chosen), minutes)
        if grab:
            await arm(self.session, grab_timer(job.id), expires, "grab_timeout",
                      payload={"job_id": job.id}, conversation_key=ticket_conversation(ticket.id),
                      now=self.now)
        job.offers_made += len(targets)
        job.updated_at = self.now
        self.audit(ticket, "dispatch:offer", {"to": [c.tech_id for c in targets],
                                              "mode": job.mode, "decision": row.id})

    def place(self, ticket: Ticket) -> str:
        return " ".join(x for x in (ticket.store, ticket.address) if x) or texts.PLACE_UNKNOWN

    def when(self, ticket: Ticket) -> str:
        return _local(ticket.appointment_start) if ticket.appointment_start else texts.TIME_ASAP

    def send_offer(self, offer: Offer, ticket: Ticket, km: float | None, count: int,
                   minutes: float) -> None:
        grab = offer.mode == "grab"
        distance = texts.DISTANCE_KM.format(km=km) if km is not None else ""
        rows = [(texts.OFFER_ROWS["place"], self.place(ticket)),
                (texts.OFFER_ROWS["time"], self.when(ticket))]
        if km is not None:
            rows.append((texts.OFFER_ROWS["distance"], texts.KM.format(km=km)))
        if ticket.device:
            rows.append((texts.OFFER_ROWS["device"], ticket.device))
        rows.append((texts.OFFER_ROWS["priority"], texts.PRIORITY_NAMES.get(ticket.priority,
                                                                            ticket.priority)))
        mins = f"{minutes:g}"
        title = (texts.OFFER_TITLE_GRAB if grab else texts.OFFER_TITLE).format(title=ticket.title)
        desc = (texts.OFFER_DESC_GRAB.format(number=ticket.number, count=count) if grab
                else texts.OFFER_DESC.format(number=ticket.number, minutes=mins))
        text = (texts.OFFER_TEXT_GRAB if grab else texts.OFFER_TEXT).format(
            number=ticket.number, title=ticket.title, place=self.place(ticket),
            distance=distance, minutes=mins)
        self.ctx.send_to(offer.technician, text)
        self.ctx.send_to(offer.technician, card=offer_card(
            offer_id=offer.id, grab=grab, title=title, desc=desc, rows=rows,
            labels=texts.OFFER_LABELS, source=texts.CARD_SOURCE_DISPATCH))

    async def escalate(self, job: DispatchJob, ticket: Ticket, reason: str, **fmt: Any) -> None:
        """Hand the job to the dispatcher on duty: a card with the best candidates to pick
        from (hard filters still apply; those who declined may be picked by a person)."""
        policy = self.offering.policy(ticket.category)
        fmt.setdefault("minutes", f"{policy.grab_minutes:g}")
        why = texts.ESCALATE_REASONS[reason].format(**{"detail": "", "count": 0, **fmt})
        job.status, job.updated_at = ESCALATED, self.now
        people = await self.on_duty()
        job.escalated_to = [p.userid for p in people]
        self.audit(ticket, "dispatch:escalate", {"reason": reason, "to": job.escalated_to})
        if not people:
            log.error("ticket %s needs a dispatcher (%s) but no dispatcher, supervisor or "
                      "manager is configured", ticket.number, reason)
            return
        choices: list[tuple[str, int]] = []
        if reason not in ("nobody", "no_region"):  # else no one passes the hard filters anyway
            decision, staff = await self.rank(ticket, 5, set())
            choices = [(texts.ASSIGN_LABEL.format(name=c.name), staff[c.tech_id].id)
                       for c in (decision.candidates if decision else ()) if c.tech_id in staff]
        for p in people:
            self.ctx.send_to(p.userid, (texts.ESCALATE_TEXT if choices else
                                        texts.ESCALATE_TEXT_NO_CARD).format(
                number=ticket.number, title=ticket.title, place=self.place(ticket), reason=why))
            if choices:
                self.ctx.send_to(p.userid, card=pick_card(
                    task_id=assign_task(job.id), action="assign", ref=job.id,
                    title=texts.ESCALATE_TITLE.format(number=ticket.number),
                    desc=texts.ESCALATE_DESC.format(reason=why),
                    rows=[(texts.OFFER_ROWS["place"], self.place(ticket)),
                          (texts.OFFER_ROWS["time"], self.when(ticket))],
                    choices=choices, source=texts.CARD_SOURCE_DISPATCH))

    async def on_duty(self) -> list[Staff]:
        """Dispatchers on shift now; else every dispatcher; else supervisors; else managers."""
        from handlers.dispatch.engine.specs import shifts_from
        from handlers.dispatch.engine.shifts import WeeklySchedule

        people = await first_staff_with(self.session, ESCALATE_TO)
        on = [p for p in people if WeeklySchedule.from_windows(
            shifts_from(p.shifts or ALWAYS)).on_shift(self.now)]
        return on or people

    # -- answers to offers ---------------------------------------------------------------------

    async def answer(self, offer: Offer, action: str, *, by_card: bool) -> None:
        """接单 / 抢单 / 拒单 / 转派 from the offered technician."""
        ctx = self.ctx
        task = offer_task(offer.id)
        if offer.technician != ctx.event.sender:
            ctx.reply(texts.NOT_YOUR_CARD)
            return
        job = await lock_job(self.session, offer.job_id)  # a concurrent click waits here
        offer = await self.session.get(Offer, offer.id, populate_existing=True)
        ticket = await self.session.get(Ticket, offer.ticket_id, populate_existing=True)
        if job is None or ticket is None:
            ctx.reply(texts.CARD_CLICK_UNKNOWN)
            return
        if offer.status != OFFERED or job.status != OFFERING or ticket.status != "dispatched":
            await self.stale(offer, ticket, job, task, by_card)
            return
        if action in ("accept", "grab"):
            await self.take(offer, job, ticket, task)
        elif action == "decline":
            if by_card and (ctx.event.card or {}).get("task_id") == transfer_task(offer.id):
                await ctx.update_card(texts.TRANSFER_SYSTEM_DONE)  # 系统安排 on the 转派 card
            await self.decline(offer, job, ticket, task)
        else:
            await self.offer_transfer(offer, ticket)

    async def stale(self, offer: Offer, ticket: Ticket, job: DispatchJob, task: str,
                    by_card: bool) -> None:
        winner = await self.name_of(job.assigned_to) if job.assigned_to else ""
        status = offer.status
        if status in (OFFERED, LOST):  # still open on a job (or ticket) that moved on
            status = LOST if job.status == ASSIGNED and ticket.status != "cancelled" \
                else WITHDRAWN
        text = texts.OFFER_STALE.get(status, texts.DRAFT_GONE).format(number=ticket.number,
                                                                     name=winner)
        self.ctx.reply(text)
        if by_card:  # the card the person just clicked is brought up to date
            label = (texts.TAKEN_BY.format(name=winner) if status == LOST
                     else texts.OFFER_DONE_LABELS.get(status))
            if label:
                await self.ctx.update_card(label, task_id=task, user=offer.technician)

    async def take(self, offer: Offer, job: DispatchJob, ticket: Ticket, task: str) -> None:
        """The first valid accept wins: the job row is locked, so a concurrent one waits and
        then finds the job assigned."""
        tech = offer.technician
        name = await self.name_of(tech)
        offer.status, offer.answered_at = ACCEPTED, self.now
        job.status, job.assigned_to, job.updated_at = ASSIGNED, tech, self.now
        await cancel(self.session, offer_timer(offer.id), now=self.now)
        await cancel(self.session, grab_timer(job.id), now=self.now)
        for other in await offers_of(self.session, job_id=job.id):
            if other.id != offer.id and other.status == OFFERED:
                other.status, other.answered_at = LOST, self.now
                await cancel(self.session, offer_timer(other.id), now=self.now)
                await self.ctx.update_card(
                    texts.TAKEN_BY.format(name=name), task_id=offer_task(other.id),
                    user=other.technician,
                    fallback=texts.TAKEN_BY_TEXT.format(number=ticket.number, name=name))
        await self.ctx.update_card(texts.OFFER_DONE_LABELS["accepted"], task_id=task, user=tech)
        await self.assign(ticket, offer, tech)

    async def assign(self, ticket: Ticket, offer: Offer, tech: str,
                     by: str | None = None) -> None:
        """``tech`` holds the ticket now: audit, tell them (with the work card) and the
        customer."""
        await change(self.session, ticket, actor=self.actor, action="dispatch:assign",
                     now=self.now, assignee=tech)
        await transition(self.session, ticket, "accepted", actor=self.actor, now=self.now)
        staff = await staff_by_userid(self.session, tech)
        phone = ticket.phone or "—"
        if by:
            self.ctx.send_to(tech, texts.YOU_WERE_ASSIGNED.format(dispatcher=by,
                                                                  number=ticket.number))
        self.ctx.send_to(tech, texts.YOU_ACCEPTED.format(
            number=ticket.number, title=ticket.title, place=self.place(ticket), phone=phone,
            time=self.when(ticket)))
        self.ctx.send_to(tech, card=self.work_card(offer, ticket, "accepted"))
        km = await self.distance_of(offer)
        await tell_customer(self.ctx, ticket, texts.CUSTOMER_ACCEPTED.format(
            number=ticket.number, name=await self.name_of(tech, for_customer=True),
            eta=self.eta_text(ticket, km),
            contact=self.contact(staff)))

    def work_card(self, offer: Offer, ticket: Ticket, stage: str) -> dict[str, Any]:
        return work_card(offer_id=offer.id, stage=stage,
                         title=texts.WORK_TITLE.format(title=ticket.title),
                         desc=texts.WORK_DESC.format(number=ticket.number),
                         rows=[(texts.OFFER_ROWS["place"], self.place(ticket)),
                               (texts.OFFER_ROWS["time"], self.when(ticket))],
                         labels=texts.WORK_LABELS, source=texts.CARD_SOURCE_DISPATCH)

    def eta_text(self, ticket: Ticket, km: float | None) -> str:
        if ticket.appointment_start and ticket.appointment_start > self.now:
            return texts.CUSTOMER_ETA_APPOINTMENT.format(time=_local(ticket.appointment_start))
        if km is None:
            return texts.CUSTOMER_ETA_UNKNOWN
        return texts.CUSTOMER_ETA.format(minutes=eta_minutes(km))

    def contact(self, staff: Staff | None) -> str:
        if staff is not None and staff.extension and self.offering.hotline:
            return texts.CONTACT_HOTLINE.format(hotline=self.offering.hotline,
                                                extension=staff.extension)
        return texts.CONTACT_VIA_BOT

    async def distance_of(self, offer: Offer) -> float | None:
        """The distance the offer was ranked at (from its decision record); for a technician
        the ranking did not list (picked by hand, or a colleague further down), from where
        they are (last known while fresh, else home) to the job."""
        row = (await self.session.get(DispatchDecisionRow, offer.decision_id)
               if offer.decision_id else None)
        for c in (row.record.get("candidates", []) if row else []):
            if c["tech_id"] == offer.technician:
                return c["facts"].get("distance_km")
        ticket = await self.session.get(Ticket, offer.ticket_id)
        return await self.distance_now(offer.technician, ticket, None, home=True) \
            if ticket is not None else None

    async def decline(self, offer: Offer, job: DispatchJob, ticket: Ticket, task: str,
                      status: str = DECLINED) -> None:
        offer.status, offer.answered_at = status, self.now
        await cancel(self.session, offer_timer(offer.id), now=self.now)
        await self.ctx.update_card(texts.OFFER_DONE_LABELS[status], task_id=task,
                                   user=offer.technician)
        if status == DECLINED:
            self.ctx.send_to(offer.technician, texts.YOU_DECLINED.format(number=ticket.number))
        self.audit(ticket, f"dispatch:{status}", {"by": offer.technician})
        await self.after_answer(job, ticket)

    async def after_answer(self, job: DispatchJob, ticket: Ticket) -> None:
        """An offer ended without a taker: direct → the next candidate; grab → the dispatcher
        once nobody is left holding a card."""
        if job.mode == "grab":
            if not any(o.status == OFFERED for o in await offers_of(self.session, job_id=job.id)):
                await cancel(self.session, grab_timer(job.id), now=self.now)
                await self.escalate(job, ticket, "declined_all")
            return
        await self.offer_next(job, ticket)

    async def end_open_offers(self, job: DispatchJob, ticket: Ticket, status: str,
                              fallback: str) -> None:
        """Every offer of ``job`` still open ends as ``status`` (withdrawn, timed out): its
        timer is cancelled and its card says so — or, with no code left, ``fallback``."""
        for o in await offers_of(self.session, job_id=job.id):
            if o.status == OFFERED:
                o.status, o.answered_at = status, self.now
                await cancel(self.session, offer_timer(o.id), now=self.now)
                await self.ctx.update_card(texts.OFFER_DONE_LABELS[status],
                                           task_id=offer_task(o.id), user=o.technician,
                                           fallback=fallback.format(number=ticket.number))
        await cancel(self.session, grab_timer(job.id), now=self.now)

    async def offer_transfer(self, offer: Offer, ticket: Ticket) -> None:
        """转派: show the technician colleagues to hand the job to (the offer stays open, its
        timer running, until they pick one or 系统安排)."""
        tried = {o.technician for o in await offers_of(self.session, job_id=offer.job_id)}
        decision, staff = await self.rank(ticket, 5, tried)
        choices = [(c.name, staff[c.tech_id].id) for c in (decision.candidates if decision else ())
                   if c.tech_id in staff][:5]
        if not choices:
            self.ctx.reply(texts.TRANSFER_NOBODY)
            job = await lock_job(self.session, offer.job_id)
            await self.decline(offer, job, ticket, offer_task(offer.id),  # type: ignore[arg-type]
                               status=TRANSFERRED)
            return
        card = button_card(
            task_id=transfer_task(offer.id), title=texts.TRANSFER_TITLE.format(number=ticket.number),
            desc=texts.TRANSFER_DESC, rows=[(texts.OFFER_ROWS["place"], self.place(ticket))],
            buttons=[*((name, dispatch_key("transfer_to", offer.id, sid), 1)
                       for name, sid in choices),
                     (texts.TRANSFER_SYSTEM, dispatch_key("decline", offer.id), 2)],
            source=texts.CARD_SOURCE_DISPATCH)
        self.ctx.reply(texts.TRANSFER_TEXT.format(number=ticket.number))
        self.ctx.send_to(offer.technician, card=card)

    async def transfer_to(self, offer: Offer, staff_id: int) -> None:
        if offer.technician != self.ctx.event.sender:
            self.ctx.reply(texts.NOT_YOUR_CARD)
            return
        job = await lock_job(self.session, offer.job_id)
        offer = await self.session.get(Offer, offer.id, populate_existing=True)
        ticket = await self.session.get(Ticket, offer.ticket_id, populate_existing=True)
        colleague = await self.session.get(Staff, staff_id)
        if job is None or ticket is None or offer is None:
            self.ctx.reply(texts.CARD_CLICK_UNKNOWN)
            return
        if offer.status != OFFERED or job.status != OFFERING or ticket.status != "dispatched":
            await self.stale(offer, ticket, job, transfer_task(offer.id), True)
            return
        if colleague is None or not await self.may_take_over(colleague, offer, ticket):
            self.ctx.reply(texts.CARD_CLICK_UNKNOWN)  # not a name the 转派 card offered
            return
        offer.status, offer.answered_at, offer.note = TRANSFERRED, self.now, colleague.userid
        await cancel(self.session, offer_timer(offer.id), now=self.now)
        await self.ctx.update_card(texts.OFFER_DONE_LABELS["transferred"],
                                   task_id=offer_task(offer.id), user=offer.technician)
        await self.ctx.update_card(texts.TRANSFER_DONE_LABEL.format(
            name=colleague.name or colleague.userid))
        policy = self.offering.policy(ticket.category)
        expires = self.now + timedelta(minutes=policy.answer_minutes)
        new = Offer(job_id=job.id, ticket_id=ticket.id, decision_id=offer.decision_id,
                    technician=colleague.userid, mode="transfer", status=OFFERED,
                    offered_at=self.now, expires_at=expires, note=f"from:{offer.technician}")
        self.session.add(new)
        await self.session.flush()
        await arm(self.session, offer_timer(new.id), expires, "offer_timeout",
                  payload={"offer_id": new.id}, conversation_key=ticket_conversation(ticket.id),
                  now=self.now)
        job.offers_made += 1
        self.send_offer(new, ticket, None, 1, policy.answer_minutes)
        self.ctx.send_to(offer.technician,
                         texts.TRANSFER_OFFERED.format(name=colleague.name or colleague.userid))
        self.audit(ticket, "dispatch:transfer", {"from": offer.technician,
                                                 "to": colleague.userid})

    async def may_take_over(self, colleague: Staff, offer: Offer, ticket: Ticket) -> bool:
        """Whether ``colleague`` could have been on the 转派 card of ``offer``: an active
        technician, not yet asked for this job (the offer's own technician included), with the
        skill level and the region the engine's hard filters require. A key is input: a forged
        one must not offer the job to a manager or to anyone the ranking would refuse. (Load,
        leave and shift are left out: they may change between the card and the click.)"""
        if not _is_technician(colleague):
            return False
        tried = {o.technician for o in await offers_of(self.session, job_id=offer.job_id)}
        if colleague.userid in tried or colleague.userid == offer.technician:
            return False
        site = await self.session.get(Site, ticket.site_id) if ticket.site_id else None
        job = job_for(ticket, site, self.offering, self.now)
        if job is None:  # nothing places the ticket: the ranking offered nobody
            return False
        try:
            level = int((colleague.skills or {}).get(job.skill, 0))
        except (TypeError, ValueError):
            return False
        return skill_ok(level, job.min_level) and serves(colleague.regions or [], job.region)

    # -- a person assigns -----------------------------------------------------------------------

    async def assign_by_hand(self, job_id: int, tech: Staff) -> None:
        ctx = self.ctx
        me = await staff_by_userid(self.session, ctx.event.sender)
        if me is None or not set(me.roles or []) & set(DISPATCHERS):
            ctx.reply(texts.ASSIGN_NOT_DISPATCHER)
            return
        job = await lock_job(self.session, job_id)
        ticket = (await self.session.get(Ticket, job.ticket_id, populate_existing=True)
                  if job else None)
        if job is None or ticket is None:
            ctx.reply(texts.CARD_CLICK_UNKNOWN)
            return
        if job.status == ASSIGNED or ticket.status not in ("dispatched", "new"):
            if ticket.assignee:
                name = await self.name_of(ticket.assignee)
                ctx.reply(texts.ASSIGN_ALREADY.format(number=ticket.number, name=name))
                label = texts.ASSIGNED_DONE.format(name=name)
            else:
                status = texts.STATUS_NAMES.get(ticket.status, ticket.status)
                ctx.reply(texts.ASSIGN_NOT_NEEDED.format(number=ticket.number, status=status))
                label = status
            if ctx.event.card:
                await ctx.update_card(label[:10])
            return
        await self.end_open_offers(job, ticket, WITHDRAWN, texts.OFFER_REASSIGNED_TEXT)
        latest = await latest_decision(self.session, ticket.id)
        offer = Offer(job_id=job.id, ticket_id=ticket.id, technician=tech.userid, mode="manual",
                      decision_id=latest.id if latest else None, status=ACCEPTED,
                      offered_at=self.now, answered_at=self.now, note=f"by:{ctx.event.sender}")
        self.session.add(offer)
        await self.session.flush()
        job.status, job.assigned_to, job.updated_at = ASSIGNED, tech.userid, self.now
        if ticket.status == "new":
            await transition(self.session, ticket, "dispatched", actor=self.actor, now=self.now)
        label = texts.ASSIGNED_DONE.format(name=tech.name or tech.userid)[:10]
        for person in job.escalated_to:  # every dispatcher's card now tells the truth
            if person != ctx.event.sender:
                await ctx.update_card(label, task_id=assign_task(job.id), user=person)
        if ctx.event.card:
            await ctx.update_card(label)
        else:
            await ctx.update_card(label, task_id=assign_task(job.id), user=ctx.event.sender)
        await self.assign(ticket, offer, tech.userid, by=me.name or me.userid)
        ctx.reply(texts.ASSIGNED_BY.format(dispatcher=me.name or me.userid,
                                           number=ticket.number, name=tech.name or tech.userid))

    # -- the technician's reports ---------------------------------------------------------------

    async def report(self, kind: str, ticket: Ticket, cmd: StaffCommand | None,
                     work_offer: Offer | None) -> None:
        """出发 / 到达 / 完工 (and the 完工 details that follow) on ``ticket``."""
        ctx = self.ctx
        tech = ctx.event.sender
        offer = work_offer or await accepted_offer(self.session, ticket.id, tech)
        name = await self.name_of(tech, for_customer=True)  # what the customer is told
        try:
            if kind == "depart":
                if ticket.status != "accepted":
                    raise IllegalTransition(ticket, "in_progress")
                await transition(self.session, ticket, "in_progress", actor=self.actor,
                                 now=self.now)
                ticket.departed_at = self.now
                km = await self.distance_now(tech, ticket, offer)
                await tell_customer(ctx, ticket, texts.CUSTOMER_DEPARTED.format(
                    number=ticket.number, name=name, eta=self.eta_text(ticket, km)),
                    progress=True)
                ctx.reply(texts.DEPARTED_OK.format(number=ticket.number))
                await self.refresh_work_card(offer, ticket, "departed")
            elif kind == "arrive":
                if ticket.status == "accepted":
                    await transition(self.session, ticket, "in_progress", actor=self.actor,
                                     now=self.now)
                elif ticket.status != "in_progress" or ticket.arrived_at is not None:
                    raise IllegalTransition(ticket, "in_progress")
                ticket.arrived_at = self.now
                await tell_customer(ctx, ticket, texts.CUSTOMER_ARRIVED.format(
                    number=ticket.number, name=name), progress=True)
                ctx.reply(texts.ARRIVED_OK.format(number=ticket.number))
                await self.refresh_work_card(offer, ticket, "arrived")
            else:
                if ticket.status not in ("accepted", "in_progress"):
                    raise IllegalTransition(ticket, "resolved")
                if cmd is None or not cmd.has_details:
                    await expect(self.session, person=tech, owner=OWNER, kind=WORK_REPORT,
                                 ref=ticket.id, now=self.now, expires_at=self.now + REPORT_WAIT)
                    ask = (texts.ASK_LABOUR if cmd is not None and (cmd.parts or cmd.no_parts)
                           else texts.ASK_WORK_DETAILS)
                    ctx.reply(ask.format(number=ticket.number))
                    return
                await self.complete(ticket, cmd, offer, name)
        except IllegalTransition:
            ctx.reply(texts.WORK_WRONG_STAGE.format(
                number=ticket.number, status=texts.STATUS_NAMES.get(ticket.status, ticket.status),
                action=texts.ACTION_NAMES[kind]))
            return
        ticket.updated_at = self.now
        self.audit(ticket, f"report:{kind}", {"by": tech})

    async def complete(self, ticket: Ticket, cmd: StaffCommand, offer: Offer | None,
                       name: str) -> None:
        tech = self.ctx.event.sender
        if ticket.status == "accepted":
            await transition(self.session, ticket, "in_progress", actor=self.actor, now=self.now)
        report = WorkReport(
            ticket_id=ticket.id, technician=tech, labour_minutes=cmd.labour_minutes or 0,
            parts=[{"name": p.name, "qty": str(p.qty),
                    "unit_cost": None if p.unit_cost is None else str(p.unit_cost)}
                   for p in cmd.parts],
            travel_km=await self.travel_km(offer),
            note=self.ctx.event.text or "", reported_at=self.now)
        self.session.add(report)
        await transition(self.session, ticket, "resolved", actor=self.actor, now=self.now)
        await settle(self.session, owner=OWNER, kind=WORK_REPORT, ref=ticket.id)
        work = _work_summary(report)
        self.ctx.reply(texts.DONE_OK.format(number=ticket.number, work=work))
        await tell_customer(self.ctx, ticket, texts.CUSTOMER_DONE.format(number=ticket.number,
                                                                   name=name, work=work))
        if offer is not None:
            await self.ctx.update_card(texts.WORK_DONE_LABEL, task_id=work_task(offer.id),
                                       user=tech)
        await self.session.flush()
        self.ctx.emit("ticket_resolved", {"ticket_id": ticket.id},
                      conversation_key=ticket_conversation(ticket.id))

    async def travel_km(self, offer: Offer | None) -> float | None:
        """The distance to bill, to 0.1 km: as the offer was ranked (straight line)."""
        km = await self.distance_of(offer) if offer else None
        return None if km is None else round(km, 1)

    async def refresh_work_card(self, offer: Offer | None, ticket: Ticket, stage: str) -> None:
        if offer is not None:
            await self.ctx.update_card(card=self.work_card(offer, ticket, stage),
                                       task_id=work_task(offer.id), user=offer.technician)

    async def distance_now(self, tech: str, ticket: Ticket, offer: Offer | None, *,
                           home: bool = False) -> float | None:
        """From the technician's fresh location when known, else as ranked (or, with
        ``home``, from their home base)."""
        staff = await staff_by_userid(self.session, tech)
        site = await self.session.get(Site, ticket.site_id) if ticket.site_id else None
        point = point_of(ticket, site)
        if staff is None or point is None:
            return await self.distance_of(offer) if offer else None
        if (staff.last_lat is not None and staff.last_seen_at is not None
                and self.now - staff.last_seen_at <= timedelta(
                    hours=self.scoring.location_fresh_hours)):
            return float(haversine_km(staff.last_lat, staff.last_lon, *point))
        if offer is not None:
            return await self.distance_of(offer)
        if home and staff.home_lat is not None and staff.home_lon is not None:
            return float(haversine_km(staff.home_lat, staff.home_lon, *point))
        return None

    # -- small things ------------------------------------------------------------------------------

    async def name_of(self, userid: str | None, *, for_customer: bool = False) -> str:
        """Staff see a name or else the userid; customers a name or else 师傅 (a userid is
        often a mobile number)."""
        if not userid:
            return ""
        s = await staff_by_userid(self.session, userid)
        if s is not None and s.name:
            return s.name
        return texts.TECHNICIAN_FALLBACK_NAME if for_customer else userid

    def audit(self, ticket: Ticket, action: str, after: dict[str, Any]) -> None:
        self.session.add(TicketEvent(ticket_id=ticket.id, actor=self.actor, action=action,
                                     after=after, at=self.now))


def _is_technician(staff: Staff | None) -> bool:
    """An active member of staff with the technician role (a card key names only those)."""
    return staff is not None and bool(staff.active) and "technician" in (staff.roles or [])


def _filter_name(name: str) -> str:
    from handlers.dispatch.engine.filters import FILTER_ZH

    return FILTER_ZH.get(name, name)


# -- handlers: internal events and timers ----------------------------------------------------------


@router.event("ticket_created", channel="internal")
async def on_ticket_created(ctx: Context) -> None:
    ticket = await ctx.session.get(Ticket, ctx.event.payload.get("ticket_id"))
    d = Dispatch(ctx)
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
    d = Dispatch(ctx)
    job = await lock_job(ctx.session, job.id)
    await d.end_open_offers(job, ticket, WITHDRAWN, texts.OFFER_WITHDRAWN_TEXT)
    for o in await offers_of(ctx.session, job_id=job.id):
        if o.status == ACCEPTED:
            ctx.send_to(o.technician, texts.CANCELLED_TO_TECH.format(number=ticket.number))
            await ctx.update_card(texts.STATUS_NAMES["cancelled"], task_id=work_task(o.id),
                                  user=o.technician)
    if job.status == ESCALATED:  # the dispatchers' 派给… cards say it is no longer needed
        for person in job.escalated_to:
            await ctx.update_card(texts.STATUS_NAMES["cancelled"], task_id=assign_task(job.id),
                                  user=person,
                                  fallback=texts.ESCALATION_CANCELLED.format(number=ticket.number))
    job.status, job.updated_at = CLOSED, d.now
    d.audit(ticket, "dispatch:closed", {"reason": "cancelled"})


@router.timer("offer_timeout")
async def on_offer_timeout(ctx: Context, data: dict[str, Any]) -> None:
    offer = await ctx.session.get(Offer, data.get("offer_id"))
    if offer is None:
        return
    d = Dispatch(ctx)
    job = await lock_job(ctx.session, offer.job_id)
    offer = await ctx.session.get(Offer, offer.id, populate_existing=True)
    ticket = await ctx.session.get(Ticket, offer.ticket_id, populate_existing=True)
    if job is None or ticket is None or offer.status != OFFERED or job.status != OFFERING:
        return  # answered, withdrawn or taken meanwhile: the timer has nothing left to do
    offer.status, offer.answered_at = TIMED_OUT, d.now
    await ctx.update_card(texts.OFFER_DONE_LABELS["timed_out"], task_id=offer_task(offer.id),
                          user=offer.technician,
                          fallback=texts.OFFER_EXPIRED_TEXT.format(number=ticket.number))
    d.audit(ticket, "dispatch:timed_out", {"by": offer.technician})
    await d.after_answer(job, ticket)


@router.timer("grab_timeout")
async def on_grab_timeout(ctx: Context, data: dict[str, Any]) -> None:
    d = Dispatch(ctx)
    job = await lock_job(ctx.session, data.get("job_id"))
    if job is None or job.status != OFFERING:
        return
    ticket = await ctx.session.get(Ticket, job.ticket_id, populate_existing=True)
    if ticket is None or ticket.status != "dispatched":
        return  # cancelled meanwhile: ticket_cancelled withdraws the offers
    await d.end_open_offers(job, ticket, TIMED_OUT, texts.OFFER_EXPIRED_TEXT)
    d.audit(ticket, "dispatch:grab_expired", {})
    await d.escalate(job, ticket, "grab_expired")


# -- handlers: clicks ------------------------------------------------------------------------------


@router.card(prefix="dispatch:")
async def on_card(ctx: Context, key: str) -> None:
    # Typed and bounded: an id is a positive integer below 2**53, and only transfer_to and
    # assign carry a staff id. Anything else (a forged or garbled key) is an unknown card.
    parsed = ButtonKey.parse("dispatch", key, DISPATCH_ACTIONS, DISPATCH_ARG_ACTIONS)
    if parsed is None:
        ctx.reply(texts.CARD_CLICK_UNKNOWN)
        return
    d = Dispatch(ctx)
    if parsed.action == "assign":
        tech = await ctx.session.get(Staff, parsed.arg)
        if not _is_technician(tech):  # only a technician is assigned, whatever the key says
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
        await _work_click(ctx, d, offer, parsed.action)


async def _work_click(ctx: Context, d: Dispatch, offer: Offer, action: str) -> None:
    if offer.technician != ctx.event.sender:
        ctx.reply(texts.NOT_YOUR_CARD)
        return
    ticket = await ctx.session.get(Ticket, offer.ticket_id, populate_existing=True)
    if ticket is None or offer.status != ACCEPTED or ticket.assignee != offer.technician:
        ctx.reply(texts.NO_ACTIVE_JOB)
        if ticket is not None:
            await ctx.update_card(texts.STATUS_NAMES.get(ticket.status, ticket.status)[:10])
        return
    await d.report(action, ticket, None, offer)


# -- handlers: what technicians and dispatchers write ----------------------------------------------


def _command(e: Any, turn: Turn | None) -> dict[str, Any] | None:
    """What a technician or dispatcher wrote (parsed once, in ``Turn.command``)."""
    return {"cmd": turn.command} if turn is not None and turn.command is not None else None


@router.message(msgtype=("text", "mixed"), when=_command)
async def on_command(ctx: Context, cmd: StaffCommand) -> None:
    """Staff commands by text; anyone else's message goes on to the next router (intake)."""
    me = await staff_by_userid(ctx.session, ctx.event.sender)
    roles = set(me.roles or []) if me else set()
    if me is None or not roles & {"technician", *DISPATCHERS}:
        raise SkipHandler  # a customer who happens to write 到了 …: intake's
    d = Dispatch(ctx)
    if cmd.kind == "why":
        await _why(ctx, d, cmd, roles)
    elif cmd.kind == "assign":
        await _assign_text(ctx, d, cmd, roles)
    elif "technician" not in roles:
        raise SkipHandler
    elif cmd.kind in ("accept", "decline"):
        await _answer_text(ctx, d, cmd)
    elif cmd.kind == "details":  # the 完工 details the bot asked for (a named ticket wins)
        awaited = ctx.turn.awaiting if ctx.turn.owner == OWNER else None  # arbitration.py
        ticket = (await ticket_by_number(ctx.session, cmd.ticket) if cmd.ticket
                  else await ctx.session.get(Ticket, awaited.ref) if awaited else None)
        if (ticket is None or ticket.assignee != ctx.event.sender
                or ticket.status not in ("accepted", "in_progress")):
            raise SkipHandler  # "1小时" with no report awaited: not a report
        await d.report("done", ticket, cmd, None)
    else:
        ticket = await _which_ticket(ctx, cmd)
        if ticket is not None:
            await d.report(cmd.kind, ticket, cmd, None)


async def _which_ticket(ctx: Context, cmd: StaffCommand) -> Ticket | None:
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


async def _answer_text(ctx: Context, d: Dispatch, cmd: StaffCommand) -> None:
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


async def _assign_text(ctx: Context, d: Dispatch, cmd: StaffCommand, roles: set[str]) -> None:
    if not roles & set(DISPATCHERS):
        ctx.reply(texts.ASSIGN_NOT_DISPATCHER)
        return
    ticket = await ticket_by_number(ctx.session, cmd.ticket or "")
    if ticket is None:
        ctx.reply(texts.ASSIGN_NO_TICKET.format(number=cmd.ticket))
        return
    techs = [s for s in await staff_with_role(ctx.session, "technician")
             if cmd.name in (s.name, s.userid)]
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


async def _why(ctx: Context, d: Dispatch, cmd: StaffCommand, roles: set[str]) -> None:
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
    answer = explain(row.record)
    if taken is not None and taken.mode == "manual":
        by = (taken.note or "").removeprefix("by:")
        answer = texts.WHY_MANUAL.format(number=ticket.number, dispatcher=await d.name_of(by),
                                         name=await d.name_of(taken.technician), record=answer)
    elif taken is not None and taken.mode == "grab":
        answer += "\n" + texts.WHY_GRAB_WINNER.format(name=await d.name_of(taken.technician))
    ctx.reply(answer)


# -- handlers: photos and locations from technicians -----------------------------------------------


@router.message(msgtype=("image", "location"), channel="app")
async def on_technician_media(ctx: Context) -> None:
    me = await staff_by_userid(ctx.session, ctx.event.sender)
    if me is None or "technician" not in (me.roles or []):
        raise SkipHandler
    now = ctx.clock.now()
    if ctx.event.type == "location":
        loc = ctx.event.payload.get("location") or {}
        if _set_location(me, loc.get("lat"), loc.get("lon"), now):
            ctx.reply(texts.LOCATION_UPDATED)
        return
    active = await active_tickets_of(ctx.session, me.userid)
    if not active:
        raise SkipHandler  # no job of theirs: a photo for intake (a report of their own …)
    on_site = [t for t in active if t.status == "in_progress"]
    if len(active) > 1 and len(on_site) != 1:
        ctx.reply(texts.PHOTO_WHICH.format(numbers=texts.LIST_SEP.join(t.number for t in active)))
        return
    t = on_site[0] if len(active) > 1 else active[0]
    image = ctx.event.payload.get("image") or {}
    ctx.session.add(Attachment(ticket_id=t.id, kind="image", url=image.get("url") or None,
                               media_id=image.get("media_id") or None,
                               inbox_event_id=ctx.event.id, at=now))
    ctx.session.add(TicketEvent(ticket_id=t.id, actor=actor("app", me.userid), action="attach:photo",
                                after={"url": image.get("url")}, at=now))
    ctx.reply(texts.PHOTO_ATTACHED.format(number=t.number))


@router.event("LOCATION", channel="app")
async def on_location_report(ctx: Context) -> None:
    """WeCom reports a member's location while they have the app open (silently recorded)."""
    me = await staff_by_userid(ctx.session, ctx.event.sender)
    if me is not None and "technician" in (me.roles or []):
        loc = ctx.event.payload.get("location") or {}
        _set_location(me, loc.get("lat"), loc.get("lon"), ctx.clock.now())


def _set_location(me: Staff, lat: Any, lon: Any, now: datetime) -> bool:
    try:
        la, lo = float(lat), float(lon)
    except (TypeError, ValueError):
        return False
    if not (-90 <= la <= 90 and -180 <= lo <= 180):
        return False
    me.last_lat, me.last_lon, me.last_seen_at = la, lo, now
    return True
