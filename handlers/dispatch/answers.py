"""How an offer ends — taken (接单 / 抢单: the first valid one wins), declined, timed out,
withdrawn — and what follows: the technician holds the ticket, or the job moves to the next
candidate or to the dispatcher on duty. Every card involved is brought up to date."""

from __future__ import annotations

from handlers.dispatch import texts
from handlers.dispatch.offering import Offering
from handlers.dispatch.views import place, ticket_work_card, when
from handlers.dispatch.work import Work
from handlers.lifecycle import change, transition
from handlers.notify import tell_customer
from models.dispatch import (ACCEPTED, ASSIGNED, CLOSED, DECLINED, ESCALATED, LOST, OFFERED,
                             OFFERING, TIMED_OUT, WITHDRAWN, DispatchJob, Offer, lock_job,
                             offers_of)
from models.keys import assign_task, grab_timer, offer_task, offer_timer, work_task
from models.ticketing import staff_by_userid
from models.tickets import Ticket
from scheduler.timers import cancel


class Answers(Offering, Work):
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
            number=ticket.number, title=ticket.title, place=place(ticket), phone=phone,
            time=when(ticket)))
        self.ctx.send_to(tech, card=ticket_work_card(offer.id, ticket, "accepted"))
        km = await self.distance_of(offer)
        await tell_customer(self.ctx, ticket, texts.CUSTOMER_ACCEPTED.format(
            number=ticket.number, name=await self.name_of(tech, for_customer=True),
            eta=self.eta_text(ticket, km),
            contact=self.contact(staff)))

    async def stale(self, offer: Offer, ticket: Ticket, job: DispatchJob, task: str,
                    by_card: bool) -> None:
        """A click or word on an offer that is no longer open: a polite answer, and the
        clicked card brought up to date."""
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

    # -- the clock and the customer end offers too -----------------------------------------------

    async def time_out(self, offer: Offer) -> None:
        """A direct offer's answer window passed: the next candidate."""
        job = await lock_job(self.session, offer.job_id)
        offer = await self.session.get(Offer, offer.id, populate_existing=True)
        ticket = await self.session.get(Ticket, offer.ticket_id, populate_existing=True)
        if job is None or ticket is None or offer.status != OFFERED or job.status != OFFERING:
            return  # answered, withdrawn or taken meanwhile: the timer has nothing left to do
        offer.status, offer.answered_at = TIMED_OUT, self.now
        await self.ctx.update_card(texts.OFFER_DONE_LABELS["timed_out"],
                                   task_id=offer_task(offer.id), user=offer.technician,
                                   fallback=texts.OFFER_EXPIRED_TEXT.format(number=ticket.number))
        self.audit(ticket, "dispatch:timed_out", {"by": offer.technician})
        await self.after_answer(job, ticket)

    async def grab_expired(self, job_id: int) -> None:
        """Nobody grabbed the job in time: the dispatcher on duty."""
        job = await lock_job(self.session, job_id)
        if job is None or job.status != OFFERING:
            return
        ticket = await self.session.get(Ticket, job.ticket_id, populate_existing=True)
        if ticket is None or ticket.status != "dispatched":
            return  # cancelled meanwhile: ticket_cancelled withdraws the offers
        await self.end_open_offers(job, ticket, TIMED_OUT, texts.OFFER_EXPIRED_TEXT)
        self.audit(ticket, "dispatch:grab_expired", {})
        await self.escalate(job, ticket, "grab_expired")

    async def withdraw(self, ticket: Ticket, job: DispatchJob) -> None:
        """The customer cancelled: offers are withdrawn, the technician told, the job closed."""
        job = await lock_job(self.session, job.id)
        await self.end_open_offers(job, ticket, WITHDRAWN, texts.OFFER_WITHDRAWN_TEXT)
        for o in await offers_of(self.session, job_id=job.id):
            if o.status == ACCEPTED:
                self.ctx.send_to(o.technician, texts.CANCELLED_TO_TECH.format(number=ticket.number))
                await self.ctx.update_card(texts.STATUS_NAMES["cancelled"],
                                           task_id=work_task(o.id), user=o.technician)
        if job.status == ESCALATED:  # the dispatchers' 派给… cards say it is no longer needed
            for person in job.escalated_to:
                await self.ctx.update_card(
                    texts.STATUS_NAMES["cancelled"], task_id=assign_task(job.id), user=person,
                    fallback=texts.ESCALATION_CANCELLED.format(number=ticket.number))
        job.status, job.updated_at = CLOSED, self.now
        self.audit(ticket, "dispatch:closed", {"reason": "cancelled"})
