"""A job changes hands by a person's choice: 转派 (the offered technician picks a colleague
from a card, or leaves it to the system) and 指派 (a dispatcher picks the technician, by card
or ``指派 GD… 李师傅``)."""

from __future__ import annotations

from datetime import timedelta

from bot.cards import button_card
from handlers.dispatch import texts
from handlers.dispatch.answers import Answers
from handlers.dispatch.base import DISPATCHERS, is_technician
from handlers.dispatch.engine.filters import skill_ok
from handlers.dispatch.engine.regions import serves
from handlers.dispatch.pool import job_for
from handlers.dispatch.views import dispatch_key, place
from handlers.lifecycle import transition
from models.dispatch import (ACCEPTED, ASSIGNED, OFFERED, OFFERING, TRANSFERRED, WITHDRAWN,
                             Offer, latest_decision, lock_job, offers_of)
from models.keys import assign_task, offer_task, offer_timer, ticket_conversation, transfer_task
from models.ticketing import staff_by_userid
from models.tickets import Site, Staff, Ticket
from scheduler.timers import arm, cancel


class Handover(Answers):
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
            desc=texts.TRANSFER_DESC, rows=[(texts.OFFER_ROWS["place"], place(ticket))],
            buttons=[*((name, dispatch_key("transfer_to", offer.id, sid), 1)
                       for name, sid in choices),
                     (texts.TRANSFER_SYSTEM, dispatch_key("decline", offer.id), 2)],
            source=texts.CARD_SOURCE_DISPATCH)
        self.ctx.reply(texts.TRANSFER_TEXT.format(number=ticket.number))
        self.ctx.send_to(offer.technician, card=card)

    async def transfer_to(self, offer: Offer, staff_id: int) -> None:
        """The colleague picked on the 转派 card gets the offer, with its own answer window."""
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
        if not is_technician(colleague):
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
        ctx.reply(texts.ASSIGNED_BY.format(number=ticket.number, name=tech.name or tech.userid))
