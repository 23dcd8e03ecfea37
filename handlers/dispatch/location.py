"""Photos and locations from technicians: a photo is attached to their active ticket (the one
on site when they have several); a location message or the app's ``LOCATION`` report moves
them for the next ranking (``location_fresh_hours``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from handlers.dispatch import texts
from handlers.routing import Context, SkipHandler
from models.dispatch import active_tickets_of
from models.keys import actor
from models.tickets import Attachment, Staff, TicketEvent


async def technician_media(ctx: Context, me: Staff) -> None:
    """A technician sent a location or a photo; a photo with no job of theirs is not ours."""
    now = ctx.clock.now()
    if ctx.event.type == "location":
        loc = ctx.event.payload.get("location") or {}
        if set_location(me, loc.get("lat"), loc.get("lon"), now):
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


def set_location(me: Staff, lat: Any, lon: Any, now: datetime) -> bool:
    """Record where ``me`` is, if ``lat``/``lon`` are coordinates; whether they were."""
    try:
        la, lo = float(lat), float(lon)
    except (TypeError, ValueError):
        return False
    if not (-90 <= la <= 90 and -180 <= lo <= 180):
        return False
    me.last_lat, me.last_lon, me.last_seen_at = la, lo, now
    return True
