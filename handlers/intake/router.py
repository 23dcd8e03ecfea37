"""Chat intake: a problem described in chat becomes a ticket; follow-ups act on it.

* A new problem opens a **draft** for the person in this conversation; the bot asks, one short
  question at a time, for the slots its category needs (``config/intake.yaml``). Messages from
  the same person within the window join the same draft. When nothing is missing the bot asks
  for confirmation — a card (确认/修改/取消) for app members plus a text line, a text question on
  the AI-bot and 微信客服 — and then creates the ticket and answers with its number.
* A report like an open ticket of the same customer or store is added to that ticket instead;
  a repeat of a recently resolved problem is linked to it.
* query / urge / cancel / confirm / rate act on the customer's tickets.
* Images and locations attach to the current draft, or else to the latest open ticket.

Taken up: every 1:1 message; in groups, @-mentions of the bot and messages with a keyword
(``Turn.addressed``). Anything intake does not understand goes on (``SkipHandler``) to the
fallback, ``handlers/basic``. A draft and a completion waiting for the customer's 确认 are
recorded as awaited answers (``models/conversation.py``), which is how a bare 确认 or 取消
finds its owner (``handlers/arbitration.py``).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from rapidfuzz import fuzz

from bot.cards import parse_key
from handlers.intake import texts
from handlers.intake.config import IntakeConfig
from handlers.intake.views import INTAKE_ACTIONS, intake_confirm_card
from handlers.lifecycle import IllegalTransition, change, transition
from handlers.routing import Context, Router, SkipHandler
from handlers.understanding import MAX_TEXT, Turn
from models.conversation import expect, expected, settle
from models.keys import actor, ticket_conversation
from models.messages import INTERNAL
from models.types import LOCAL_TZ
from models.ticketing import (DONE_STATUSES, OPEN_STATUSES, add_phone, create_ticket,
                              customer_for, customer_of, customer_phone,
                              draft_messages_to_ticket, open_drafts, site_named, staff_by_userid,
                              staff_with_role, ticket_by_number, tickets_of)
from models.tickets import Attachment, Customer, Draft, Ticket, TicketCreate, TicketEvent, \
    TicketMessage
from nlp.billing import TICKET_NO
from nlp.rating import parse_score
from nlp.region_codes import region_codes

router = Router("intake")

QUOTE = 60  # characters of the user's text quoted back
PRIORITIES = ("low", "normal", "high", "urgent")
MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
WINDOW_HOURS = {"minute": 1, "part_of_day": 4, "date": 10}  # appointment window length
LOW_SCORE = 2


# -- small pure helpers ----------------------------------------------------------------------


def mask_phones(text: str) -> str:
    """13812345678 → 138****5678."""
    return MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


def quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE else text[:QUOTE] + "…"


def local_time(iso: str, precision: str | None) -> str:
    t = datetime.fromisoformat(iso).astimezone(LOCAL_TZ)
    if precision == "date":
        return texts.DATE.format(month=t.month, day=t.day)
    return texts.DATE_TIME.format(month=t.month, day=t.day, hm=f"{t:%H:%M}")


def _norm(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def same_problem(text: str, device: str | None, address: str | None, ticket: Ticket,
                 threshold: int) -> bool:
    """Whether a report describes ``ticket``'s problem (rapidfuzz over text, device, address)."""
    if device and ticket.device:
        if device != ticket.device:
            return False
        if address and ticket.address:
            return fuzz.ratio(_norm(address), _norm(ticket.address)) >= threshold
        return True
    a, b = _norm(text), _norm(ticket.description.split("\n")[0])
    return len(a) >= 4 and fuzz.ratio(a, b) >= threshold


# -- the conversation ------------------------------------------------------------------------


def _identity(ctx: Context) -> tuple[str, str]:
    # 微信客服 senders are external_userids, the same ids as in 客户联系: one identity kind.
    return ("external_userid" if ctx.event.channel == "kf" else "wecom_userid"), ctx.event.sender


def _is_group(ctx: Context) -> bool:
    return ctx.event.channel == "aibot" and ctx.event.payload.get("chat_type") == "group"


OWNER = "intake"
DRAFT, COMPLETION = "draft", "completion"  # what intake awaits from a person


class Intake:
    """One event's work: who is writing, their draft, and how to answer in this channel."""

    def __init__(self, ctx: Context, cfg: IntakeConfig, customer: Customer) -> None:
        self.ctx, self.cfg, self.customer = ctx, cfg, customer
        self.session = ctx.session
        self.now = ctx.clock.now()
        self.actor = actor(ctx.event.channel, ctx.event.sender)
        self.group = _is_group(ctx)

    # -- what awaits the person's answer (models/conversation.py) ------------------------

    async def current_draft(self) -> Draft | None:
        """The draft this person is filling in here, if it awaits them still; older open ones
        (their wait ran out) are marked expired."""
        ev = self.ctx.event
        live = await expected(self.session, ev.sender, self.now, ev.conversation_key,
                              owner=OWNER, kind=DRAFT)
        draft = await self.session.get(Draft, live[0].ref) if live else None
        for d in await open_drafts(self.session, ev.conversation_key, ev.sender):
            if draft is None or d.id != draft.id:
                await self.release(d, "expired")
        return draft

    async def keep(self, draft: Draft) -> None:
        """The draft was touched: it awaits this person's next message for the window."""
        draft.updated_at = self.now
        await expect(self.session, person=draft.sender, owner=OWNER, kind=DRAFT, ref=draft.id,
                     now=self.now, conversation_key=draft.conversation_key,
                     expires_at=self.now + timedelta(minutes=self.cfg.window_minutes))

    async def release(self, draft: Draft, status: str) -> None:
        draft.status, draft.updated_at = status, self.now
        await settle(self.session, owner=OWNER, kind=DRAFT, ref=draft.id)

    def say(self, text: str) -> None:
        self.ctx.reply(mask_phones(text) if self.group and self.cfg.mask_phones_in_groups
                       else text)

    def record(self, text: str, *, draft: Draft | None = None,
               ticket: Ticket | None = None) -> None:
        self.session.add(TicketMessage(draft_id=draft.id if draft else None,
                                       ticket_id=ticket.id if ticket else None,
                                       inbox_event_id=self.ctx.event.id, text=text, at=self.now))

    # -- drafts --------------------------------------------------------------------------

    async def new_report(self, text: str, a: Any) -> None:
        e = a.entities
        store = e.store
        for t in await tickets_of(self.session, self.customer.id, OPEN_STATUSES, store=store):
            if same_problem(text, e.device, e.address, t, self.cfg.duplicate_score):
                self.record(text, ticket=t)
                self.session.add(TicketEvent(ticket_id=t.id, actor=self.actor,
                                             action="linked_report", reason=text, at=self.now))
                for url in self.ctx.event.payload.get("images") or []:
                    self.session.add(Attachment(ticket_id=t.id, kind="image", url=url,
                                                inbox_event_id=self.ctx.event.id, at=self.now))
                self.say(texts.DUPLICATE_LINKED.format(
                    number=t.number, status=texts.STATUS_NAMES.get(t.status, t.status)))
                return
        since = self.now - timedelta(days=self.cfg.repeat_days)
        repeat = next((t for t in await tickets_of(self.session, self.customer.id, DONE_STATUSES,
                                                   since=since, store=store)
                       if t.category != "followup"
                       and same_problem(text, e.device, e.address, t, self.cfg.duplicate_score)),
                      None)
        category = a.category if a.category in self.cfg.slots else "repair"
        if category == "other":
            category = "repair" if (e.device or a.faults) else "consult"
        draft = Draft(conversation_key=self.ctx.event.conversation_key,
                      sender=self.ctx.event.sender, channel=self.ctx.event.channel,
                      customer_id=self.customer.id, category=category, fields={},
                      description=text, linked_ticket_id=repeat.id if repeat else None,
                      created_at=self.now, updated_at=self.now)
        self.session.add(draft)
        await self.session.flush()
        if phone := await customer_phone(self.session, self.customer.id):
            draft.fields = {"phone": phone}
        await self.merge(draft, text, a, as_description=False)
        self.record(text, draft=draft)
        self.attach_images(draft)
        header = texts.DRAFT_STARTED.format(category=texts.CATEGORY_NAMES[category],
                                            text=quote(text), question="{question}")
        if repeat:
            header = texts.REPEAT_LINKED.format(number=repeat.number) + "\n" + header
        await self.advance(draft, header)

    def attach_images(self, draft: Draft) -> None:
        for url in self.ctx.event.payload.get("images") or []:
            self.session.add(Attachment(draft_id=draft.id, kind="image", url=url,
                                        inbox_event_id=self.ctx.event.id, at=self.now))

    async def merge(self, draft: Draft, text: str, a: Any, *, as_description: bool) -> bool:
        """Fold a message into the draft. False if it was meant for the pending slot but did
        not fill it (the caller re-asks)."""
        e = a.entities
        f = dict(draft.fields)
        before = dict(f)
        if e.phones:
            f["phone"] = e.phones[0]
            self.customer = await add_phone(self.session, self.customer, e.phones[0], self.now)
        if e.store:
            f["store"] = e.store
        if e.address:
            f["address"] = e.address
        for level in ("province", "city", "district"):
            if getattr(e, level):
                f[level] = getattr(e, level)
        if e.device:
            f["device"] = e.device
        if e.appointment:
            f["appointment"] = e.appointment.isoformat()
            f["precision"] = a.appointment_precision
            f.pop("time_text", None)
        if e.order_ids:
            f["order"] = e.order_ids[0]
        if a.faults:
            f["faults"] = list(dict.fromkeys([*f.get("faults", []), *a.faults]))
        f["urgency"] = max(f.get("urgency", "low"), a.urgency, key=PRIORITIES.index) \
            if a.urgency in PRIORITIES else f.get("urgency", "normal")
        slot = draft.pending_slot
        problem_info = bool(e.device or a.faults or a.intent == "create")
        answered = slot is not None and self.filled(f, slot) and not self.filled(before, slot)
        if slot and not answered and not problem_info and len(text) <= 50:
            if slot == "phone":
                draft.fields = f
                return False
            if slot == "time":
                f["time_text"] = text
            elif slot == "place":
                f["address"] = text
            else:
                f[slot] = text
            answered = True
        if as_description and (problem_info or not answered) and text not in draft.description:
            draft.description = f"{draft.description}\n{text}".strip()
        draft.fields = f
        await self.keep(draft)
        if self.customer.id != draft.customer_id:
            draft.customer_id = self.customer.id
        return True

    @staticmethod
    def filled(f: dict[str, Any], slot: str) -> bool:
        if slot == "place":
            return bool(f.get("store") or f.get("address"))
        if slot == "time":
            return bool(f.get("appointment") or f.get("time_text"))
        return bool(f.get(slot))

    async def advance(self, draft: Draft, header: str) -> None:
        """Ask for the next missing slot, or for confirmation when nothing is missing."""
        missing = [s for s in self.cfg.slots_for(draft.category)
                   if not self.filled(draft.fields, s)]
        if missing:
            draft.status, draft.pending_slot = "collecting", missing[0]
            self.say(header.format(question=texts.ASK[missing[0]]))
            return
        draft.status, draft.pending_slot = "confirming", None
        draft.revision += 1
        card = self.ctx.event.channel == "app"
        how = texts.CONFIRM_BY_CARD if card else texts.CONFIRM_BY_TEXT
        summary = "\n".join(f"{k}：{v}" for k, v in self.summary_rows(draft))
        self.say(header.format(question=texts.CONFIRM_SUMMARY.format(summary=summary) + "\n" + how))
        if card:
            await self.session.flush()
            self.ctx.send_to(self.ctx.event.sender, card=intake_confirm_card(
                draft_id=draft.id, revision=draft.revision,
                title=texts.CARD_TITLE.format(category=texts.CATEGORY_NAMES[draft.category]),
                desc=texts.CARD_DESC, rows=self.summary_rows(draft), labels=texts.CARD_LABELS,
                source=texts.CARD_SOURCE))

    def summary_rows(self, draft: Draft) -> list[tuple[str, str]]:
        f, names = draft.fields, texts.SUMMARY_LINES
        rows = [(names["category"], texts.CATEGORY_NAMES[draft.category])]
        if f.get("device"):
            rows.append((names["device"], f["device"]))
        place = " ".join(x for x in (f.get("store"), f.get("address")) if x)
        if place:
            rows.append((names["place"], place))
        if f.get("phone"):
            rows.append((names["phone"], mask_phones(f["phone"]) if self.group else f["phone"]))
        if f.get("appointment"):
            rows.append((names["time"], local_time(f["appointment"], f.get("precision"))))
        elif f.get("time_text"):
            rows.append((names["time"], f["time_text"]))
        if f.get("order"):
            rows.append((names["order"], f["order"]))
        rows.append((names["description"], quote(draft.description)))
        return rows

    async def continue_draft(self, draft: Draft, text: str, a: Any) -> None:
        self.record(text, draft=draft)
        self.attach_images(draft)
        if not await self.merge(draft, text, a, as_description=True):
            self.say(texts.BAD_PHONE)
            return
        await self.advance(draft, texts.DRAFT_ADDED.format(text=quote(text),
                                                           question="{question}"))

    async def cancel_draft(self, draft: Draft) -> None:
        await self.release(draft, "cancelled")
        self.say(texts.DRAFT_CANCELLED)

    async def create_from_draft(self, draft: Draft) -> Ticket:
        f = draft.fields
        site = await site_named(self.session, f["store"], self.now) if f.get("store") else None
        pc, cc, dc = region_codes(f.get("province"), f.get("city"), f.get("district"))
        start = end = None
        if f.get("appointment"):
            start = datetime.fromisoformat(f["appointment"])
            end = start + timedelta(hours=WINDOW_HOURS.get(f.get("precision") or "minute", 1))
        faults = f.get("faults") or []
        title = (f.get("device") or "") + (faults[0] if faults else "")
        title = title or quote(draft.description)[:30]
        urgency = f.get("urgency", "normal")
        data = TicketCreate(
            customer_id=draft.customer_id, site_id=site.id if site else None,
            category=draft.category, priority=urgency if urgency in PRIORITIES else "normal",
            title=title, description=draft.description,
            fields={k: v for k, v in f.items() if k in ("faults", "order", "time_text",
                                                        "precision", "urgency", "lat", "lon",
                                                        "location_label")},
            phone=f.get("phone"), device=f.get("device"), store=f.get("store"),
            province=f.get("province"), province_code=pc, city=f.get("city"), city_code=cc,
            district=f.get("district"), district_code=dc, address=f.get("address"),
            lat=f.get("lat"), lon=f.get("lon"), channel=draft.channel,
            conversation_key=draft.conversation_key, reporter=draft.sender,
            appointment_start=start, appointment_end=end,
            linked_ticket_id=draft.linked_ticket_id,
            link_kind="repeat" if draft.linked_ticket_id else None)
        ticket = await create_ticket(self.session, data, actor=self.actor, now=self.now)
        draft.ticket_id = ticket.id
        await self.release(draft, "done")
        await self.session.flush()
        await draft_messages_to_ticket(self.session, draft.id, ticket.id)
        summary = "\n".join(f"{k}：{v}" for k, v in self.summary_rows(draft))
        self.say(texts.TICKET_CREATED.format(number=ticket.number, summary=summary))
        self.ctx.emit("ticket_created", {"ticket_id": ticket.id},
                      conversation_key=ticket_conversation(ticket.id))
        return ticket

    # -- tickets -------------------------------------------------------------------------

    async def target(self, text: str, statuses: tuple[str, ...]) -> Ticket | None:
        """The ticket named in the text (if it is this customer's), else their latest one."""
        if m := TICKET_NO.search(text):
            t = await ticket_by_number(self.session, m.group(0))
            return t if t is not None and t.customer_id == self.customer.id else None
        found = await tickets_of(self.session, self.customer.id, statuses, limit=1)
        return found[0] if found else None

    def eta(self, t: Ticket) -> str:
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
            names[t.id] = (staff.name or staff.userid) if staff else (t.assignee
                                                                      or texts.NO_ASSIGNEE)
        self.say("\n\n".join(texts.QUERY_RESULT.format(
            number=t.number, title=t.title, status=texts.STATUS_NAMES.get(t.status, t.status),
            assignee=names[t.id], eta=self.eta(t)) for t in found))

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

    async def cancel(self, text: str) -> None:
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
            linked_ticket_id=t.id, link_kind="followup"), actor=self.actor, now=self.now)
        self.say(texts.RATED_LOW.format(score=score, number=follow.number))


# -- handlers --------------------------------------------------------------------------------


async def _intake(ctx: Context, cfg: IntakeConfig) -> Intake:
    kind, value = _identity(ctx)
    customer = await customer_for(ctx.session, kind, value, ctx.clock.now())
    return Intake(ctx, cfg, customer)


@router.message(msgtype=("text", "mixed"), when=lambda e, t: t is not None and t.addressed)
async def on_text(ctx: Context, cfg: IntakeConfig) -> None:
    turn: Turn = ctx.turn
    text = turn.text
    if not text and ctx.event.payload.get("images"):
        await on_media(ctx, cfg)
        return
    if not text or len(text) > MAX_TEXT:
        raise SkipHandler  # the fallback's polite "no text" / "please summarise" answers
    if turn.analysis is None:  # only emoji, symbols, punctuation
        ctx.reply(texts.NOT_UNDERSTOOD)
        return
    it = await _intake(ctx, cfg)
    draft = await it.current_draft()
    word, a = turn.word, turn.analysis
    if draft is not None and draft.status == "confirming" and word is not None:
        if word == "confirm":
            it.record(text, draft=draft)
            await it.create_from_draft(draft)
        elif word == "edit":
            draft.status, draft.pending_slot = "collecting", None
            await it.keep(draft)
            it.say(texts.EDIT_PROMPT)
        else:
            await it.cancel_draft(draft)
        return
    if draft is not None:
        if word == "cancel" or (a.intent == "cancel" and not turn.ticket_no):
            await it.cancel_draft(draft)
        else:
            await it.continue_draft(draft, text, a)
        return
    score = parse_score(text)
    intent = a.intent
    if score is not None and intent in ("other", "confirm", "rate"):
        intent = "rate"
    if intent == "query":
        await it.query(text)
    elif intent == "urge":
        await it.urge(text)
    elif intent == "cancel":
        await it.cancel(text)
    elif intent == "confirm":
        await it.confirm_done(text)
    elif intent == "rate":
        await it.rate(text, score)
    elif intent == "create" or a.entities.device or a.faults or any(k in text for k in cfg.keywords):
        await it.new_report(text, a)
    else:
        raise SkipHandler  # nothing intake understands: the fallback answers


@router.event("ticket_resolved", channel=INTERNAL)
async def on_resolved(ctx: Context) -> None:
    """The work is done: the customer's 确认 now closes the ticket (an awaited answer)."""
    ticket = await ctx.session.get(Ticket, ctx.event.payload.get("ticket_id"))
    person = customer_of(ticket) if ticket is not None else ""
    if ticket is not None and ticket.status == "resolved" and person:
        await expect(ctx.session, person=person, owner=OWNER, kind=COMPLETION, ref=ticket.id,
                     now=ctx.clock.now())


@router.message(msgtype=("image", "location"))
async def on_media(ctx: Context, cfg: IntakeConfig) -> None:
    it = await _intake(ctx, cfg)
    ev = ctx.event
    kind_name = texts.KIND_NAMES.get(ev.type, texts.KIND_DEFAULT)
    if ev.type == "location":
        loc = ev.payload.get("location") or {}
        lat, lon = _float(loc.get("lat")), _float(loc.get("lon"))
        label = str(loc.get("label") or "") or (f"{lat},{lon}" if lat is not None else "")
        att = Attachment(kind="location", lat=lat, lon=lon, label=label[:300],
                         inbox_event_id=ev.id, at=it.now)
    else:
        urls = ([ev.payload["image"].get("url", "")] if ev.payload.get("image")
                else list(ev.payload.get("images") or []))
        media = (ev.payload.get("image") or {}).get("media_id")
        att = Attachment(kind="image", url=(urls[0] if urls else None) or None, media_id=media,
                         inbox_event_id=ev.id, at=it.now)
    draft = await it.current_draft()
    if draft is not None:
        att.draft_id = draft.id
        ctx.session.add(att)
        await it.keep(draft)
        if att.kind == "location":
            f = dict(draft.fields) | {"lat": att.lat, "lon": att.lon, "location_label": att.label}
            if not it.filled(f, "place") and att.label:
                f["address"] = att.label
            draft.fields = f
            await it.advance(draft, texts.LOCATION_USED.format(label=att.label) + "\n{question}")
        else:
            it.say(texts.ATTACHED_DRAFT.format(kind=kind_name))
        return
    found = await tickets_of(ctx.session, it.customer.id, OPEN_STATUSES, limit=1)
    if not found:
        raise SkipHandler  # nothing to attach it to: the fallback acknowledges it
    t = found[0]
    att.ticket_id = t.id
    ctx.session.add(att)
    ctx.session.add(TicketEvent(ticket_id=t.id, actor=it.actor, action=f"attach:{att.kind}",
                                after={"label": att.label, "url": att.url}, at=it.now))
    it.say(texts.ATTACHED_TICKET.format(kind=kind_name, number=t.number))


@router.card(prefix="intake:")
async def on_card(ctx: Context, key: str, cfg: IntakeConfig) -> None:
    parsed = parse_key(key, INTAKE_ACTIONS)
    draft = await ctx.session.get(Draft, parsed[1]) if parsed else None
    if parsed is None or draft is None or draft.sender != ctx.event.sender:
        ctx.reply(texts.CARD_CLICK_UNKNOWN)
        return
    if draft.status != "confirming":
        ctx.reply(texts.DRAFT_GONE)
        return
    customer = await ctx.session.get(Customer, draft.customer_id)
    it = Intake(ctx, cfg, customer)  # type: ignore[arg-type]
    action = parsed[0]
    await ctx.update_card(texts.CARD_DONE_LABELS[action])
    if action == "confirm":
        await it.create_from_draft(draft)
    elif action == "edit":
        draft.status, draft.pending_slot = "collecting", None
        await it.keep(draft)
        it.say(texts.EDIT_PROMPT)
    else:
        await it.cancel_draft(draft)


def _float(v: Any) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None
