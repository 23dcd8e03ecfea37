"""A draft being filled in: a new report (or its link to an open or repeated ticket), the slots
asked for one at a time, the confirmation (card and text) and the ticket made from it.

A draft awaits its person's next message for ``window_minutes`` (``models/conversation.py``,
kind ``draft``): that is how a bare 确认 / 修改 / 取消 finds it (``handlers/arbitration.py``),
and how an untouched draft expires.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from datetime import datetime, timedelta
from typing import Any

from handlers.intake import texts
from handlers.intake.base import DRAFT, OWNER, IntakeBase
from handlers.intake.template_fields import (answer_custom, ask_for, collect_list,
                                             custom_filled, custom_rows, is_custom, pick_template,
                                             retry_text)
from handlers.intake.helpers import PRIORITIES, WINDOW_HOURS, local_time, mask_phones, quote, same_problem
from handlers.intake.views import intake_confirm_card
from models.conversation import expect, expected, settle
from models.keys import ticket_conversation
from models.ticketing import (DONE_STATUSES, OPEN_STATUSES, add_phone, create_ticket,
                              customer_phone, draft_messages_to_ticket, open_drafts, site_named,
                              tickets_of)
from models.tickets import Attachment, Draft, Ticket, TicketCreate, TicketEvent
from nlp.field_values import store_name
from nlp.region_codes import region_codes

#: draft fields a ticket keeps in its structured ``fields``
TICKET_FIELDS = ("faults", "order", "time_text", "precision", "urgency", "lat", "lon",
                 "location_label", "custom", "kind_name")


# -- pure: what a message and a draft's fields make of each other ----------------------------


#: a visit time given as "as soon as possible"
ASAP = re.compile(r"尽快|越快越好|尽早|马上|立刻|立即|随时|asap", re.IGNORECASE)


def draft_category(a: Any, categories: Any) -> str:
    """The category a new report's draft opens with (one the config knows)."""
    category = a.category if a.category in categories else "repair"
    if category == "other":
        category = "repair" if (a.entities.device or a.faults) else "consult"
    return category


def filled(f: dict[str, Any], slot: str) -> bool:
    if is_custom(slot):
        return custom_filled(f, slot)
    if slot == "place":
        return bool(f.get("store") or f.get("address"))
    if slot == "time":
        return bool(f.get("appointment") or f.get("time_text"))
    return bool(f.get(slot))


def with_entities(fields: dict[str, Any], a: Any) -> dict[str, Any]:
    """``fields`` with what the analysis ``a`` of a message found (a new dict)."""
    e = a.entities
    f = dict(fields)
    if e.phones:
        f["phone"] = e.phones[0]
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
    elif not f.get("appointment") and (asap := ASAP.search(a.text)):
        f["time_text"] = asap.group(0)  # "尽快" said in the report answers the time question
    if e.order_ids:
        f["order"] = e.order_ids[0]
    if a.faults:
        f["faults"] = list(dict.fromkeys([*f.get("faults", []), *a.faults]))
    f["urgency"] = max(f.get("urgency", "low"), a.urgency, key=PRIORITIES.index) \
        if a.urgency in PRIORITIES else f.get("urgency", "normal")
    return f


def changed_fields(fields: dict[str, Any], edit: Any, a: Any) -> dict[str, Any] | None:
    """``fields`` with the change ``edit`` (``nlp.edits.Edit``) applied, its new value read from
    the analysis ``a`` of the message; None when the new value cannot be read (a phone that is
    no number)."""
    e, f = a.entities, dict(fields)
    if edit.slot == "time":
        for k in ("appointment", "precision", "time_text"):
            f.pop(k, None)
        if e.appointment:
            f["appointment"], f["precision"] = e.appointment.isoformat(), a.appointment_precision
        else:
            f["time_text"] = edit.value
    elif edit.slot == "phone":
        if not e.phones:
            return None
        f["phone"] = e.phones[0]
    elif edit.slot == "place":
        for k in ("store", "address", "province", "city", "district", "lat", "lon",
                  "location_label"):
            f.pop(k, None)
        if e.store:
            f["store"] = e.store
        if e.address:
            f["address"] = e.address
        for level in ("province", "city", "district"):
            if getattr(e, level):
                f[level] = getattr(e, level)
        if not (e.store or e.address):
            f["address"] = edit.value
    else:
        f["device"] = e.device or edit.value
    return f


def summary_rows(draft: Draft, *, group: bool) -> list[tuple[str, str]]:
    """The draft as (label, value) rows: the confirmation, the card and the ticket's answer."""
    f, names = draft.fields, texts.SUMMARY_LINES
    rows = [(names["category"], f.get("kind_name") or texts.CATEGORY_NAMES[draft.category])]
    if f.get("device"):
        rows.append((names["device"], f["device"]))
    place = " ".join(x for x in (f.get("store"), f.get("address")) if x)
    if place:
        rows.append((names["place"], place))
    if f.get("phone"):
        rows.append((names["phone"], mask_phones(f["phone"]) if group else f["phone"]))
    if f.get("appointment"):
        rows.append((names["time"], local_time(f["appointment"], f.get("precision"))))
    elif f.get("time_text"):
        rows.append((names["time"], f["time_text"]))
    if f.get("order"):
        rows.append((names["order"], f["order"]))
    rows += custom_rows(f)
    rows.append((names["description"], quote(draft.description)))
    return rows


def summary_text(rows: list[tuple[str, str]]) -> str:
    return "\n".join(texts.SUMMARY_ROW.format(label=k, value=v) for k, v in rows)


def ticket_data(draft: Draft, site_id: int | None) -> TicketCreate:
    """The ticket a confirmed draft becomes."""
    f = draft.fields
    pc, cc, dc = region_codes(f.get("province"), f.get("city"), f.get("district"))
    start = end = None
    if f.get("appointment"):
        start = datetime.fromisoformat(f["appointment"])
        end = start + timedelta(hours=WINDOW_HOURS.get(f.get("precision") or "minute", 1))
    faults = f.get("faults") or []
    title = (f.get("device") or "") + (faults[0] if faults else "")
    title = title or quote(draft.description)[:30]
    urgency = f.get("urgency", "normal")
    return TicketCreate(
        customer_id=draft.customer_id, site_id=site_id,
        category=draft.category, priority=urgency if urgency in PRIORITIES else "normal",
        title=title, description=draft.description,
        fields={k: v for k, v in f.items() if k in TICKET_FIELDS},
        phone=f.get("phone"), device=f.get("device"), store=f.get("store"),
        province=f.get("province"), province_code=pc, city=f.get("city"), city_code=cc,
        district=f.get("district"), district_code=dc, address=f.get("address"),
        lat=f.get("lat"), lon=f.get("lon"), channel=draft.channel,
        template=f.get("template") or "",
        conversation_key=draft.conversation_key, reporter=draft.sender,
        appointment_start=start, appointment_end=end,
        linked_ticket_id=draft.linked_ticket_id,
        link_kind="repeat" if draft.linked_ticket_id else None)


# -- the draft of this person in this conversation -------------------------------------------


class Drafts(IntakeBase):
    """Opening, filling in, confirming and cancelling the sender's draft."""

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

    # -- a new report --------------------------------------------------------------------

    async def new_report(self, text: str, a: Any) -> None:
        """Added to an open ticket of the same problem; else a new draft, linked to a ticket
        of the same problem resolved within ``repeat_days``."""
        e = a.entities
        store = e.store or store_name(text, numbered=True)  # 3号店, though the catalogue lacks it
        for t in await tickets_of(self.session, self.customer.id, OPEN_STATUSES, store=e.store):
            # A 回访 (follow-up) is ours to the customer, not their problem: never merged into.
            if t.category != "followup" and same_problem(text, e.device, e.address, t,
                                                         self.cfg.duplicate_score, store):
                self.add_to_ticket(t, text)
                return
        since = self.now - timedelta(days=self.cfg.repeat_days)
        repeat = next((t for t in await tickets_of(self.session, self.customer.id, DONE_STATUSES,
                                                   since=since, store=e.store)
                       if t.category != "followup"
                       and same_problem(text, e.device, e.address, t, self.cfg.duplicate_score,
                                        store)),
                      None)
        category = draft_category(a, self.cfg.slots)
        first = pick_template(self.ctx, category, text)
        category = first.pop("kind", None) or category  # a template's own words decide
        draft = Draft(conversation_key=self.ctx.event.conversation_key,
                      sender=self.ctx.event.sender, channel=self.ctx.event.channel,
                      customer_id=self.customer.id, category=category,
                      fields=first,
                      description=text, linked_ticket_id=repeat.id if repeat else None,
                      created_at=self.now, updated_at=self.now)
        self.session.add(draft)
        await self.session.flush()
        if phone := await customer_phone(self.session, self.customer.id):
            draft.fields = {**draft.fields, "phone": phone}
        await self.merge(draft, text, a, as_description=False)
        self.record(text, draft=draft)
        self.attach_images(draft)
        name = draft.fields.get("kind_name") or texts.CATEGORY_NAMES[category]
        quoted = quote(text)
        linked = texts.REPEAT_LINKED.format(number=repeat.number) + "\n" if repeat else ""
        await self.advance(draft, lambda question: linked + texts.DRAFT_STARTED.format(
            category=name, text=quoted, question=question))

    def add_to_ticket(self, t: Ticket, text: str) -> None:
        """The report is about open ticket ``t``: it joins it (audited) instead of a draft."""
        self.record(text, ticket=t)
        self.session.add(TicketEvent(ticket_id=t.id, actor=self.actor,
                                     action="linked_report", reason=text, at=self.now))
        for url in self.ctx.event.payload.get("images") or []:
            self.session.add(Attachment(ticket_id=t.id, kind="image", url=url,
                                        inbox_event_id=self.ctx.event.id, at=self.now))
        self.say(texts.DUPLICATE_LINKED.format(
            number=t.number, status=texts.STATUS_NAMES.get(t.status, t.status)))

    def attach_images(self, draft: Draft) -> None:
        for url in self.ctx.event.payload.get("images") or []:
            self.session.add(Attachment(draft_id=draft.id, kind="image", url=url,
                                        inbox_event_id=self.ctx.event.id, at=self.now))

    # -- filling it in -------------------------------------------------------------------

    async def merge(self, draft: Draft, text: str, a: Any, *, as_description: bool) -> bool:
        """Fold a message into the draft. False if it was meant for the pending slot but did
        not fill it (the caller re-asks)."""
        e = a.entities
        before = dict(draft.fields)
        f = with_entities(before, a)
        if e.phones:
            self.customer = await add_phone(self.session, self.customer, e.phones[0], self.now)
        slot = draft.pending_slot
        # "就是3号店啊" answers "哪家门店" even where the catalogue does not know the store (and
        # the intent model reads a bare store name as a report)
        named = store_name(text) if slot == "place" and not (e.store or e.address) else None
        if slot == "place" and e.address and not f.get("store") and (
                said := store_name(draft.description, numbered=True)):
            f["store"] = said  # the address of the store the report named: both are kept
        problem_info = bool(e.device or a.faults or (a.intent == "create" and not named))
        answered = slot is not None and filled(f, slot) and not filled(before, slot)
        if slot and is_custom(slot) and not answered:
            got = answer_custom(self.ctx, f, slot, text)
            if got is None and not problem_info:
                draft.fields = f
                return False
            f, answered = (got, True) if got is not None else (f, False)
        elif slot and not answered and not problem_info and len(text) <= 50:
            if slot == "phone":
                draft.fields = f
                return False
            if slot == "time":
                f["time_text"] = text
            elif slot == "place" and named:
                f["store"] = named
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

    async def continue_draft(self, draft: Draft, text: str, a: Any) -> None:
        self.record(text, draft=draft)
        self.attach_images(draft)
        if not await self.merge(draft, text, a, as_description=True):
            slot = draft.pending_slot or ""
            self.say(retry_text(self.ctx, draft.fields, slot) if is_custom(slot)
                     else texts.BAD_PHONE)
            return
        quoted = quote(text)
        await self.advance(draft, lambda question: texts.DRAFT_ADDED.format(
            text=quoted, question=question))

    async def advance(self, draft: Draft, say: Callable[[str], str]) -> None:
        """Ask for the next missing slot, or for confirmation when nothing is missing; ``say``
        puts the question into the answer (the person's words are formatted once, never as a
        template: a ``{`` in what they wrote stays a character)."""
        missing = [s for s in collect_list(self.ctx, self.cfg, draft.fields, draft.category)
                   if not filled(draft.fields, s)]
        if missing:
            draft.status, draft.pending_slot = "collecting", missing[0]
            named = (store_name(draft.description, numbered=True) if missing[0] == "place"
                     else None)
            self.say(say(ask_for(self.ctx, draft.fields, missing[0]) if is_custom(missing[0])
                         else texts.ASK_STORE_ADDRESS.format(store=named) if named
                         else texts.ASK[missing[0]]))
            return
        draft.status, draft.pending_slot = "confirming", None
        draft.revision += 1
        card = self.ctx.event.channel == "app"
        how = texts.CONFIRM_BY_CARD if card else texts.CONFIRM_BY_TEXT
        summary = summary_text(self.summary_rows(draft))
        self.say(say(texts.CONFIRM_SUMMARY.format(summary=summary) + "\n" + how))
        if card:
            await self.session.flush()
            self.ctx.send_to(self.ctx.event.sender, card=intake_confirm_card(
                draft_id=draft.id, revision=draft.revision,
                title=texts.CARD_TITLE.format(category=draft.fields.get("kind_name")
                                             or texts.CATEGORY_NAMES[draft.category]),
                desc=texts.CARD_DESC, rows=self.summary_rows(draft), labels=texts.CARD_LABELS,
                source=texts.CARD_SOURCE))

    def summary_rows(self, draft: Draft) -> list[tuple[str, str]]:
        return summary_rows(draft, group=self.group)

    async def change(self, draft: Draft, text: str, edit: Any, a: Any) -> None:
        """"时间改成今天下午3点": the field changes (the words do not join the description), and
        the draft asks for what is still missing or for confirmation again."""
        self.record(text, draft=draft)
        f = changed_fields(draft.fields, edit, a)
        name = texts.SUMMARY_LINES[edit.slot]
        if f is None:
            self.say(texts.CHANGE_NOT_UNDERSTOOD.format(field=name,
                                                        example=texts.CHANGE_EXAMPLES[edit.slot]))
            return
        if edit.slot == "phone":
            self.customer = await add_phone(self.session, self.customer, f["phone"], self.now)
        draft.fields = f
        await self.keep(draft)
        shown = dict(self.summary_rows(draft)).get(name, edit.value)
        await self.advance(draft, lambda question: texts.DRAFT_CHANGED.format(
            field=name, value=shown, question=question))

    # -- the answer to the confirmation (a reply word or a card button) ------------------

    async def answer(self, draft: Draft, action: str) -> None:
        """确认 creates the ticket, 修改 reopens slot filling, 取消 cancels the draft."""
        if action == "confirm":
            await self.create_from_draft(draft)
        elif action == "edit":
            draft.status, draft.pending_slot = "collecting", None
            await self.keep(draft)
            self.say(texts.EDIT_PROMPT)
        else:
            await self.cancel_draft(draft)

    async def cancel_draft(self, draft: Draft) -> None:
        await self.release(draft, "cancelled")
        self.say(texts.DRAFT_CANCELLED)

    async def create_from_draft(self, draft: Draft) -> Ticket:
        f = draft.fields
        site = await site_named(self.session, f["store"], self.now) if f.get("store") else None
        ticket = await create_ticket(self.session, ticket_data(draft, site.id if site else None),
                                     actor=self.actor, now=self.now)
        draft.ticket_id = ticket.id
        await self.release(draft, "done")
        await self.session.flush()
        await draft_messages_to_ticket(self.session, draft.id, ticket.id)
        summary = summary_text(self.summary_rows(draft))
        self.say(texts.TICKET_CREATED.format(number=ticket.number, summary=summary))
        self.ctx.emit("ticket_created", {"ticket_id": ticket.id},
                      conversation_key=ticket_conversation(ticket.id))
        return ticket
