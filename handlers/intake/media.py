"""Images and locations: attached to the sender's current draft (a location also fills the place
slot and the coordinates), else to their latest open ticket (audited)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from handlers.intake import texts
from handlers.intake.drafts import Drafts, filled
from models.messages import Event
from models.ticketing import OPEN_STATUSES, tickets_of
from models.tickets import Attachment, TicketEvent


def _float(v: Any) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def attachment_of(ev: Event, now: datetime) -> Attachment:
    """The attachment an image or location message carries (not yet attached to anything)."""
    if ev.type == "location":
        loc = ev.payload.get("location") or {}
        lat, lon = _float(loc.get("lat")), _float(loc.get("lon"))
        label = str(loc.get("label") or "") or (f"{lat},{lon}" if lat is not None else "")
        return Attachment(kind="location", lat=lat, lon=lon, label=label[:300],
                          inbox_event_id=ev.id, at=now)
    urls = ([ev.payload["image"].get("url", "")] if ev.payload.get("image")
            else list(ev.payload.get("images") or []))
    media = (ev.payload.get("image") or {}).get("media_id")
    return Attachment(kind="image", url=(urls[0] if urls else None) or None, media_id=media,
                      inbox_event_id=ev.id, at=now)


async def attach_media(it: Drafts) -> bool:
    """Attach the event's image or location and answer. False if there is nothing to attach
    it to (no draft, no open ticket): nothing is attached and nothing said."""
    ev, session = it.ctx.event, it.session
    kind_name = texts.KIND_NAMES.get(ev.type, texts.KIND_DEFAULT)
    att = attachment_of(ev, it.now)
    draft = await it.current_draft()
    if draft is not None:
        att.draft_id = draft.id
        session.add(att)
        await it.keep(draft)
        if att.kind == "location":
            f = dict(draft.fields) | {"lat": att.lat, "lon": att.lon, "location_label": att.label}
            if not filled(f, "place") and att.label:
                f["address"] = att.label
            draft.fields = f
            used = texts.LOCATION_USED.format(label=att.label)
            await it.advance(draft, lambda question: used + "\n" + question)
        else:
            it.say(texts.ATTACHED_DRAFT.format(kind=kind_name))
        return True
    found = await tickets_of(session, it.customer.id, OPEN_STATUSES, limit=1)
    if not found:
        return False
    t = found[0]
    att.ticket_id = t.id
    session.add(att)
    session.add(TicketEvent(ticket_id=t.id, actor=it.actor, action=f"attach:{att.kind}",
                            after={"label": att.label, "url": att.url}, at=it.now))
    it.say(texts.ATTACHED_TICKET.format(kind=kind_name, number=t.number))
    return True
