"""The technician's reports on an accepted job — 出发, 到达, 完工 with labour time and parts
(asked for when missing) — the ticket moving with them, the customer told, the work card kept
true; and the distances and arrival times the customer hears."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

from handlers.dispatch import texts
from handlers.dispatch.base import DispatchBase
from handlers.dispatch.engine import eta_minutes, haversine_km
from handlers.dispatch.views import appointment, ticket_work_card, work_summary
from handlers.lifecycle import IllegalTransition, transition
from handlers.notify import tell_customer
from models.conversation import expect, expected, settle
from models.dispatch import DispatchDecisionRow, Offer, WorkReport, accepted_offer
from models.keys import ticket_conversation, work_task
from models.ticketing import point_of, staff_by_userid
from models.tickets import Site, Staff, Ticket
from nlp.staff_commands import PartUsed, StaffCommand

OWNER, WORK_REPORT = "dispatch", "work_report"  # the 完工 details awaited from a technician
REPORT_WAIT = timedelta(hours=24)  # how long a bare "工时1.5小时" still completes that job


def part_rows(parts: tuple[PartUsed, ...]) -> list[dict[str, str | None]]:
    """The parts of a work report as stored (Decimal strings; a nameless price is no part)."""
    return [{"name": p.name, "qty": str(p.qty),
             "unit_cost": None if p.unit_cost is None else str(p.unit_cost)}
            for p in parts if p.name]


def details_data(cmd: StaffCommand) -> dict[str, Any]:
    """What a technician said so far about a job's 完工, kept while the bot asks for the rest."""
    return {"labour_minutes": cmd.labour_minutes, "parts": part_rows(cmd.parts),
            "no_parts": cmd.no_parts}


class Work(DispatchBase):
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
                told = await tell_customer(ctx, ticket, texts.CUSTOMER_DEPARTED.format(
                    number=ticket.number, name=name, eta=self.eta_text(ticket, km, now=True)),
                    progress=True)
                ctx.reply((texts.DEPARTED_OK if told else texts.DEPARTED_NOT_TOLD).format(
                    number=ticket.number))
                await self.refresh_work_card(offer, ticket, "departed")
            elif kind == "arrive":
                if ticket.status == "accepted":
                    await transition(self.session, ticket, "in_progress", actor=self.actor,
                                     now=self.now)
                elif ticket.status != "in_progress" or ticket.arrived_at is not None:
                    raise IllegalTransition(ticket, "in_progress")
                ticket.arrived_at = self.now
                told = await tell_customer(ctx, ticket, texts.CUSTOMER_ARRIVED.format(
                    number=ticket.number, name=name), progress=True)
                ctx.reply((texts.ARRIVED_OK if told else texts.ARRIVED_NOT_TOLD).format(
                    number=ticket.number))
                await self.refresh_work_card(offer, ticket, "arrived")
            else:
                if ticket.status not in ("accepted", "in_progress"):
                    raise IllegalTransition(ticket, "resolved")
                cmd = await self.with_earlier_details(tech, ticket, cmd)
                if not cmd.has_details:  # keep what was said, ask for the rest
                    await expect(self.session, person=tech, owner=OWNER, kind=WORK_REPORT,
                                 ref=ticket.id, now=self.now, expires_at=self.now + REPORT_WAIT,
                                 data={**details_data(cmd), "said": self.said_so_far()})
                    ask = (texts.ASK_LABOUR if cmd.parts or cmd.no_parts else
                           texts.ASK_PARTS if cmd.labour_minutes is not None
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
        """完工 with its details: the work report, the ticket resolved, ``ticket_resolved``
        raised for settlement."""
        tech = self.ctx.event.sender
        if ticket.status == "accepted":
            await transition(self.session, ticket, "in_progress", actor=self.actor, now=self.now)
        report = WorkReport(
            ticket_id=ticket.id, technician=tech, labour_minutes=cmd.labour_minutes or 0,
            parts=part_rows(cmd.parts),
            travel_km=await self.travel_km(offer),
            note=self.said_so_far(), reported_at=self.now)
        self.session.add(report)
        await transition(self.session, ticket, "resolved", actor=self.actor, now=self.now)
        await settle(self.session, owner=OWNER, kind=WORK_REPORT, ref=ticket.id)
        self.ctx.reply(texts.DONE_OK.format(number=ticket.number,
                                            work=work_summary(report, prices=True)))
        await tell_customer(self.ctx, ticket, texts.CUSTOMER_DONE.format(
            number=ticket.number, name=name, work=work_summary(report)))
        if offer is not None:
            await self.ctx.update_card(texts.WORK_DONE_LABEL, task_id=work_task(offer.id),
                                       user=tech)
        await self.session.flush()
        self.ctx.emit("ticket_resolved", {"ticket_id": ticket.id},
                      conversation_key=ticket_conversation(ticket.id))

    async def with_earlier_details(self, tech: str, ticket: Ticket,
                                   cmd: StaffCommand | None) -> StaffCommand:
        """``cmd`` completed by what the technician already said about this job and the bot
        kept while asking for the rest (labour time first said, parts added; a part named
        again replaces the earlier one, e.g. now with its price)."""
        cmd = cmd or StaffCommand("done")
        earlier = next((w.data for w in await expected(
            self.session, tech, self.now, owner=OWNER, kind=WORK_REPORT) if w.ref == ticket.id),
            None)
        self.earlier_said = str((earlier or {}).get("said") or "")
        if not earlier:
            return cmd
        named = {p.name for p in cmd.parts}
        kept = () if cmd.no_parts else tuple(PartUsed(p["name"], Decimal(p["qty"]),
                              None if p.get("unit_cost") is None else Decimal(p["unit_cost"]))
                     for p in earlier.get("parts", []) if p["name"] not in named)
        minutes = cmd.labour_minutes if cmd.labour_minutes is not None \
            else earlier.get("labour_minutes")
        return replace(cmd, labour_minutes=minutes, parts=kept + cmd.parts,
                       no_parts=cmd.no_parts or (bool(earlier.get("no_parts")) and not cmd.parts))

    def said_so_far(self) -> str:
        """Everything the technician wrote about this 完工 (floor, pipe, notes said in the
        first message survive the bot asking for labour time in the next)."""
        now = self.ctx.event.text or ""
        earlier = getattr(self, "earlier_said", "")
        return f"{earlier}\n{now}".strip() if earlier and now not in earlier else (earlier or now)

    async def refresh_work_card(self, offer: Offer | None, ticket: Ticket, stage: str) -> None:
        if offer is not None:
            await self.ctx.update_card(card=ticket_work_card(offer.id, ticket, stage),
                                       task_id=work_task(offer.id), user=offer.technician)

    # -- how far, how soon, how to reach them --------------------------------------------------

    def eta_text(self, ticket: Ticket, km: float | None, *, now: bool = False) -> str:
        """When they will be there: at the appointment; ``now`` (they set off), by distance."""
        if not now and ticket.appointment_start and ticket.appointment_start > self.now:
            return texts.CUSTOMER_ETA_APPOINTMENT.format(time=appointment(ticket))
        if km is None:
            return texts.CUSTOMER_ETA_UNKNOWN
        return texts.CUSTOMER_ETA.format(minutes=eta_minutes(km))

    def contact(self, staff: Staff | None) -> str:
        if staff is not None and staff.extension and self.offering.hotline:
            return texts.CONTACT_HOTLINE.format(hotline=self.offering.hotline,
                                                extension=staff.extension)
        return texts.CONTACT_VIA_BOT

    async def travel_km(self, offer: Offer | None) -> float | None:
        """The distance to bill, to 0.1 km: as the offer was ranked (straight line)."""
        km = await self.distance_of(offer) if offer else None
        return None if km is None else round(km, 1)

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
