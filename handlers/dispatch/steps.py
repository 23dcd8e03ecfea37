"""``Dispatch``: all of dispatch's work within one event, its layers composed (base.py shows
them), and the two ways a technician acts on a card or by text — answering an offer, which can
go any of the layers' ways (taken, declined, 转派), and reporting on an accepted job."""

from __future__ import annotations

from handlers.dispatch import texts
from handlers.dispatch.handover import Handover
from models.dispatch import ACCEPTED, OFFERED, OFFERING, Offer, lock_job
from models.keys import offer_task, transfer_task
from models.tickets import Ticket


class Dispatch(Handover):
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

    async def work_click(self, offer: Offer, action: str) -> None:
        """出发 / 到达 / 完工 on the work card of ``offer``."""
        ctx = self.ctx
        if offer.technician != ctx.event.sender:
            ctx.reply(texts.NOT_YOUR_CARD)
            return
        ticket = await self.session.get(Ticket, offer.ticket_id, populate_existing=True)
        if ticket is None or offer.status != ACCEPTED or ticket.assignee != offer.technician:
            ctx.reply(texts.NO_ACTIVE_JOB)
            if ticket is not None:
                await ctx.update_card(texts.STATUS_NAMES.get(ticket.status, ticket.status)[:10])
            return
        await self.report(action, ticket, None, offer)
