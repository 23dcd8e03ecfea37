"""What a customer does with their tickets: ask for progress, urge, cancel, confirm the work is
done, rate it. A ``GD…`` number in the text picks that ticket if it is theirs; otherwise their
latest one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from handlers.intake import texts
from handlers.intake.base import COMPLETION, OWNER, IntakeBase
from handlers.intake.helpers import PRIORITIES, WINDOW_HOURS, local_time, mask_phones
from handlers.lifecycle import IllegalTransition, change, transition
from models.conversation import settle
from models.keys import ticket_conversation
from handlers.dispatch.config import OfferingConfig
from models.workflow import nodes_of
from models.ticketing import (DONE_STATUSES, OPEN_STATUSES, create_ticket, staff_by_userid,
                              staff_with_role, ticket_by_number, tickets_of)
from models.tickets import Ticket, TicketCreate
from nlp.billing import TICKET_NO

LOW_SCORE = 2  # a rating this low or lower opens a 回访 ticket


class Followups(IntakeBase):
    """The intents that act on the sender's tickets (query, urge, cancel, confirm, rate)."""

    async def target(self, text: str, statuses: tuple[str, ...]) -> Ticket | None:
        """The ticket named in the text (if it is this customer's), else their latest one."""
        if m := TICKET_NO.search(text):
            t = await ticket_by_number(self.session, m.group(0))
            return t if t is not None and t.customer_id == self.customer.id else None
        found = await tickets_of(self.session, self.customer.id, statuses, limit=1)
        return found[0] if found else None

    def eta(self, t: Ticket) -> str:
        if t.status not in OPEN_STATUSES:  # done, closed, cancelled: no visit ahead
            return texts.ETA_NONE
        offering = self.ctx.services[OfferingConfig] if OfferingConfig in self.ctx.services \
            else None
        if offering is not None and not offering.dispatched(t.category):
            return texts.ETA_NONE  # nobody comes to a complaint or an invoice question
        if t.appointment_start:
            return texts.ETA_APPOINTMENT.format(
                time=local_time(t.appointment_start.isoformat(), t.fields.get("precision")))
        if t.status in OPEN_STATUSES:
            due = t.created_at + timedelta(hours=self.cfg.eta_hours.get(t.priority, 24))
            return texts.ETA_BY.format(time=local_time(due.isoformat(), "minute"))
        return texts.ETA_NONE

    async def query(self, text: str) -> None:
        if TICKET_NO.search(text):
            t = await self.target(text, ())
            found = [t] if t else []
        else:
            found = (await tickets_of(self.session, self.customer.id, OPEN_STATUSES, limit=3)
                     or await tickets_of(self.session, self.customer.id,
                                         (*DONE_STATUSES, "cancelled"), limit=1))
        if not found:
            self.say(texts.NO_TICKET)
            return
        names = {}
        for t in found:
            staff = await staff_by_userid(self.session, t.assignee) if t.assignee else None
            names[t.id] = (staff.name or staff.userid) if staff else (
                t.assignee or await self.node_owners(t) or texts.NO_ASSIGNEE)
        self.say("\n\n".join(texts.QUERY_RESULT.format(
            number=t.number, title=t.title, status=texts.STATUS_NAMES.get(t.status, t.status),
            assignee=names[t.id], eta=self.eta(t)) for t in found))

    async def node_owners(self, t: Ticket) -> str:
        """Who handles a ticket nobody was dispatched to: its running workflow steps' owners
        ("陈店长（店长处理）")."""
        out = []
        tasks = [n for n in await nodes_of(self.session, t.id) if n.kind == "task"]
        running = [n for n in tasks if n.status == "active"]
        for n in running or [n for n in tasks if n.status == "done"]:  # who did it, once done
            people = n.owners if n in running else [n.done_by or ""]
            who = [await staff_by_userid(self.session, u) for u in people or []]
            names = "、".join((s.name or s.userid) for s in who if s is not None)
            if names:
                out.append(f"{names}（{n.name}）")
        return "；".join(out)

    async def urge(self, text: str) -> None:
        t = await self.target(text, OPEN_STATUSES)
        if t is None or t.status not in OPEN_STATUSES:
            self.say(texts.NO_TICKET)
            return
        level = PRIORITIES.index(t.priority) if t.priority in PRIORITIES else 1
        raised = PRIORITIES[min(level + 1, len(PRIORITIES) - 1)]
        await change(self.session, t, actor=self.actor, action="urge", now=self.now,
                     reason=text, priority=raised, urge_count=t.urge_count + 1)
        for s in await staff_with_role(self.session, "supervisor"):
            self.ctx.send_to(s.userid, texts.URGE_TO_SUPERVISOR.format(
                number=t.number, title=t.title, count=t.urge_count,
                priority=texts.PRIORITY_NAMES[t.priority],
                status=texts.STATUS_NAMES.get(t.status, t.status)))
        template = texts.URGED if level < len(PRIORITIES) - 1 else texts.URGED_MAX
        self.say(template.format(number=t.number, priority=texts.PRIORITY_NAMES[raised]))

    async def named_or_only(self, text: str, action: str, example: str) -> bool:
        """True when ``text`` names a ticket or the customer has at most one open; else asks
        which (``action``: texts.WHICH_CANCEL / WHICH_CHANGE; ``example``: the message again
        with ``{number}``) and is False: a bare 取消 or 改到… never guesses between tickets."""
        if TICKET_NO.search(text):
            return True
        open_ = await tickets_of(self.session, self.customer.id, OPEN_STATUSES, limit=5)
        if len(open_) <= 1:
            return True
        self.say(texts.WHICH_TICKET.format(
            count=len(open_), action=action,
            example=example.replace("{number}", open_[0].number), tickets="\n".join(
                texts.WHICH_TICKET_LINE.format(number=t.number, title=t.title,
                                               status=texts.STATUS_NAMES.get(t.status, t.status))
                for t in open_)))
        return False

    async def cancel(self, text: str) -> None:
        if not await self.named_or_only(text, texts.WHICH_CANCEL, texts.WHICH_CANCEL_EXAMPLE):
            return
        t = await self.target(text, (*OPEN_STATUSES, *DONE_STATUSES))
        if t is None:
            self.say(texts.NO_TICKET)
            return
        try:
            await transition(self.session, t, "cancelled", actor=self.actor, reason=text,
                             now=self.now)
        except IllegalTransition as exc:
            self.say(exc.chat)
            return
        await settle(self.session, owner=OWNER, kind=COMPLETION, ref=t.id)
        self.say(texts.CANCELLED.format(number=t.number))
        self.ctx.emit("ticket_cancelled", {"ticket_id": t.id},
                      conversation_key=ticket_conversation(t.id))

    async def confirm_done(self, text: str) -> None:
        t = await self.target(text, ("resolved",))
        if t is None or t.status != "resolved":
            self.say(texts.NOTHING_TO_CONFIRM)
            return
        await transition(self.session, t, "closed", actor=self.actor, reason=text, now=self.now)
        await settle(self.session, owner=OWNER, kind=COMPLETION, ref=t.id)
        self.say(texts.CONFIRMED_CLOSED.format(number=t.number))
        self.ctx.emit("ticket_closed", {"ticket_id": t.id},
                      conversation_key=ticket_conversation(t.id))

    async def rate(self, text: str, score: int | None) -> None:
        if score is None:
            self.say(texts.RATE_ASK)
            return
        rated = [t for t in await tickets_of(self.session, self.customer.id, DONE_STATUSES)
                 if t.satisfaction is None and t.category != "followup"]
        if not rated:
            self.say(texts.NO_RATABLE)
            return
        t = rated[0]
        await change(self.session, t, actor=self.actor, action="rate", now=self.now,
                     reason=text, satisfaction=score)
        if score > LOW_SCORE:
            self.say(texts.RATED.format(score=score))
            return
        follow = await create_ticket(self.session, TicketCreate(
            customer_id=t.customer_id, site_id=t.site_id, category="followup", priority="high",
            title=texts.FOLLOWUP_TITLE.format(number=t.number, score=score),
            description=text, phone=t.phone, device=t.device, store=t.store,
            address=t.address, channel=self.ctx.event.channel,
            conversation_key=self.ctx.event.conversation_key, reporter=self.ctx.event.sender,
            linked_ticket_id=t.id, link_kind="followup", template="followup"),
            actor=self.actor, now=self.now)
        self.say(texts.RATED_LOW.format(score=score, number=follow.number))
        # the 回访 has an owner, told at once (config/templates/followup.yaml)
        self.ctx.emit("ticket_created", {"ticket_id": follow.id},
                      conversation_key=ticket_conversation(follow.id))

    async def change(self, text: str, edit: Any, a: Any) -> None:
        """A change asked for after the ticket was created: time, place and phone change on the
        ticket (audited; the technician is told); device or store would need a new placement."""
        said = " ".join(text.split())  # their own words again, with the number in front
        if not await self.named_or_only(text, texts.WHICH_CHANGE, "{number} " + (
                said if len(said) <= 30 else texts.CHANGE_EXAMPLES[edit.slot])):
            return
        t = await self.target(text, OPEN_STATUSES)
        if t is None or t.status not in OPEN_STATUSES:
            self.say(texts.NO_TICKET)
            return
        name = texts.SUMMARY_LINES[edit.slot]
        if edit.slot == "device" or (edit.slot == "place" and t.store):
            self.say(texts.CHANGE_NOT_ON_TICKET.format(number=t.number, field=name))
            return
        e = a.entities
        if edit.slot == "time":
            if e.appointment is None:
                self.say(texts.CHANGE_NOT_UNDERSTOOD.format(
                    field=name, example=texts.CHANGE_EXAMPLES["time"]))
                return
            hours = WINDOW_HOURS.get(a.appointment_precision or "minute", 1)
            # the precision travels with it: "明天" shows as a day, "下午3点" with its hour
            values: dict[str, Any] = {"appointment_start": e.appointment,
                                      "appointment_end": e.appointment + timedelta(hours=hours),
                                      "fields": {**(t.fields or {}),
                                                 "precision": a.appointment_precision}}
            shown = local_time(e.appointment.isoformat(), a.appointment_precision)
        elif edit.slot == "phone":
            if not e.phones:
                self.say(texts.CHANGE_NOT_UNDERSTOOD.format(
                    field=name, example=texts.CHANGE_EXAMPLES["phone"]))
                return
            values, shown = {"phone": e.phones[0]}, e.phones[0]
        else:
            values, shown = {"address": e.address or edit.value}, e.address or edit.value
        await change(self.session, t, actor=self.actor, action=f"change:{edit.slot}",
                     now=self.now, reason=text, **values)
        self.say(texts.TICKET_CHANGED.format(number=t.number, field=name,
                                             value=mask_phones(shown) if self.group else shown))
        if t.assignee:
            self.ctx.send_to(t.assignee, texts.TICKET_CHANGED_TO_TECH.format(
                number=t.number, field=name, value=shown))
