"""Placing a job: a dispatch job for a new ticket, the ranking (its record is stored), the
offer(s) to the best candidate(s) as ``config/offering.yaml`` says for the category, and the
dispatcher on duty when nobody is left."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from handlers.dispatch import texts
from handlers.dispatch.base import ESCALATE_TO, DispatchBase
from handlers.dispatch.engine import top_m
from handlers.dispatch.engine.record import DispatchDecision
from handlers.dispatch.engine.shifts import WeeklySchedule
from handlers.dispatch.engine.specs import shifts_from
from handlers.dispatch.pool import ALWAYS, Pool, job_for
from handlers.dispatch.urgent import URGENT, URGENT_WINDOW_SHARE, fastest_first
from handlers.dispatch.pool_cache import current_pool
from handlers.dispatch.views import (filter_name, fit_rows, known_rows, known_text, offer_card,
                                     pick_card, place, template_rows, when)
from handlers.lifecycle import transition
from models.dispatch import (ESCALATED, OFFERED, OFFERING, DispatchDecisionRow, DispatchJob,
                             Offer, offers_of, pending_offers)
from models.keys import assign_task, grab_timer, offer_timer, ticket_conversation
from models.ticketing import first_staff_with
from models.tickets import Site, Staff, Ticket
from scheduler.timers import arm

log = logging.getLogger("handlers.dispatch.offering")


class Offering(DispatchBase):
    async def start(self, ticket: Ticket) -> None:
        """A new dispatch job for ``ticket`` and its first offer(s)."""
        policy = self.offering.policy(ticket.category)
        job = DispatchJob(ticket_id=ticket.id, mode=policy.mode, status=OFFERING,
                          created_at=self.now, updated_at=self.now)
        self.session.add(job)
        await self.session.flush()
        if ticket.status != "dispatched":
            await transition(self.session, ticket, "dispatched", actor="dispatch", now=self.now)
        await self.offer_next(job, ticket, tried=set())  # a job made just now: nobody tried

    async def pool(self) -> Pool:
        """The technician pool kept by this process (pool_cache.py), current as committed:
        the change feed is checked once per event, and only technicians changed since are
        read. No technician row is read on this path when nothing changed."""
        if self._pool is None:
            self._pool = await current_pool(self.session, self.now)
        return self._pool

    async def rank(self, ticket: Ticket, k: int, exclude: set[str],
                   grab: bool = False) -> tuple[DispatchDecision | None, dict[str, Any]]:
        site = await self.session.get(Site, ticket.site_id) if ticket.site_id else None
        job = job_for(ticket, site, self.offering, self.now)
        pool = await self.pool()
        if job is None:
            return None, pool.staff
        # Offers still awaiting an answer count against capacity (engine/model.py ``offered``),
        # so a burst spreads over everyone who can take it. Read in this transaction, not kept
        # with the pool: a batch's own offers count too. When they alone leave nobody, they
        # only weigh: the job is still offered (it waits its turn) rather than put to a person.
        offered = await pending_offers(self.session)
        for fill in (True, False):
            if grab:
                decision = top_m(job, pool.index, self.scoring, self.now, m=k, exclude=exclude,
                                 offered=offered, offers_fill=fill)
            else:
                decision = pool.index.rank(job, self.scoring, self.now, k=k, exclude=exclude,
                                           offered=offered, offers_fill=fill)
            if decision.candidates or not offered or not decision.rejected_counts.get("capacity"):
                break
        return decision, pool.staff

    async def offer_next(self, job: DispatchJob, ticket: Ticket,
                         tried: set[str] | None = None) -> None:
        """Offer the job to the next candidate(s), or hand it to the dispatcher on duty
        (``tried``: who the job was offered to already, when the caller knows)."""
        if ticket.status != "dispatched":  # cancelled meanwhile: ticket_cancelled closes the job
            return
        policy = self.offering.policy(ticket.category)
        if tried is None:
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
        urgent = ticket.priority == URGENT and not grab
        if urgent:  # the fastest responder of the last 3 days first (urgent.py)
            chosen = fastest_first(chosen, (await self.pool()).technicians)
        row = DispatchDecisionRow(job_id=job.id, ticket_id=ticket.id, record=decision.to_dict(),
                                  chosen=chosen[0].tech_id if chosen and not grab else None,
                                  decided_at=self.now)
        self.session.add(row)
        await self.session.flush()
        if not chosen:
            # "all declined or timed out" only when that is what left nobody; others being
            # full, on leave or off shift is said with the counts ("nobody").
            busy = any(decision.rejected_counts.get(f) for f in ("capacity", "leave", "shift"))
            reason = "declined_all" if tried and not busy else "nobody"
            detail = texts.LIST_SEP.join(texts.FILTERED_COUNT.format(why=filter_name(f), n=n)
                                         for f, n in decision.rejected_counts.items() if n)
            await self.escalate(job, ticket, reason, detail=detail or texts.NO_TECHNICIANS)
            return
        minutes = policy.grab_minutes if grab else policy.answer_minutes
        if urgent:
            minutes *= URGENT_WINDOW_SHARE  # a shorter window to answer
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
                          payload={"offer_id": offer.id},
                          conversation_key=ticket_conversation(ticket.id), now=self.now)
            self.send_offer(offer, ticket, c.facts.distance_km, len(chosen), minutes)
        if grab:
            await arm(self.session, grab_timer(job.id), expires, "grab_timeout",
                      payload={"job_id": job.id}, conversation_key=ticket_conversation(ticket.id),
                      now=self.now)
        job.offers_made += len(targets)
        job.updated_at = self.now
        self.audit(ticket, "dispatch:offer", {"to": [c.tech_id for c in targets],
                                              "mode": job.mode, "decision": row.id})

    def send_offer(self, offer: Offer, ticket: Ticket, km: float | None, count: int,
                   minutes: float) -> None:
        """The offer as a text (the WeChat plug-in shows no cards) and as a card."""
        grab = offer.mode == "grab"
        distance = texts.DISTANCE_KM.format(km=km) if km is not None else ""
        rows = [(texts.OFFER_ROWS["place"], place(ticket)),
                (texts.OFFER_ROWS["time"], when(ticket)), *known_rows(ticket)]
        if km is not None:
            rows.append((texts.OFFER_ROWS["distance"], texts.KM.format(km=km)))
        if ticket.device:
            rows.append((texts.OFFER_ROWS["device"], ticket.device))
        rows += template_rows(ticket)
        rows.append((texts.OFFER_ROWS["priority"], texts.PRIORITY_NAMES.get(ticket.priority,
                                                                            ticket.priority)))
        mins = f"{minutes:g}"
        title = (texts.OFFER_TITLE_GRAB if grab else texts.OFFER_TITLE).format(title=ticket.title)
        desc = (texts.OFFER_DESC_GRAB.format(number=ticket.number, count=count) if grab
                else texts.OFFER_DESC.format(number=ticket.number, minutes=mins))
        text = (texts.OFFER_TEXT_GRAB if grab else texts.OFFER_TEXT).format(
            number=ticket.number, title=ticket.title, place=place(ticket),
            distance=distance, minutes=mins)
        text += "".join(f"\n{k}：{v}" for k, v in template_rows(ticket)) + known_text(ticket)
        self.ctx.send_to(offer.technician, text)
        self.ctx.send_to(offer.technician, card=offer_card(
            offer_id=offer.id, grab=grab, title=title, desc=desc, rows=fit_rows(rows),
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
                number=ticket.number, title=ticket.title, place=place(ticket), reason=why))
            if choices:
                self.ctx.send_to(p.userid, card=pick_card(
                    task_id=assign_task(job.id), action="assign", ref=job.id,
                    title=texts.ESCALATE_TITLE.format(number=ticket.number),
                    desc=texts.ESCALATE_DESC.format(reason=why),
                    rows=[(texts.OFFER_ROWS["place"], place(ticket)),
                          (texts.OFFER_ROWS["time"], when(ticket))],
                    choices=choices, source=texts.CARD_SOURCE_DISPATCH))

    async def on_duty(self) -> list[Staff]:
        """Dispatchers on shift now; else every dispatcher; else supervisors; else managers."""
        people = await first_staff_with(self.session, ESCALATE_TO)
        on = [p for p in people if WeeklySchedule.from_windows(
            shifts_from(p.shifts or ALWAYS)).on_shift(self.now)]
        return on or people
