"""微信客服: the event only says "there is something"; pull it with ``kf/sync_msg``.

Each pulled message becomes an ordinary inbox event (channel ``kf``, deduplicated on its msgid)
and is handled like any other message; the cursor is kept per open_kfid so nothing is pulled
twice or skipped across restarts (events of one open_kfid are handled one at a time, in order).
A pulled message that is not a shape WeCom sends (``bot.events.event_from_kf_message``) is
skipped with one warning; the others are taken and the cursor moves on.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.client import WeComClient
from bot.events import event_from_kf_message
from bot.payloads import PayloadError
from handlers.routing import Context, Router
from models.keys import kf_cursor
from models.messages import Event, inbox_row
from models.queues import inbox_insert, kv_get, kv_set

log = logging.getLogger("handlers.kf.router")

router = Router("kf")

CUSTOMER_MESSAGE_ORIGIN = 3  # origin 3: sent by the WeChat customer (4: system, 5: our agent)


def customer_messages(msg_list: Any, open_kfid: str) -> list[Event]:
    """The customers' messages of one ``kf/sync_msg`` page, as events. A malformed one is
    skipped with one warning: failing the whole pull would keep the cursor where it is, and
    every later pull would stop at the same message."""
    out = []
    for m in msg_list if isinstance(msg_list, list) else [msg_list]:
        if isinstance(m, dict) and m.get("origin") != CUSTOMER_MESSAGE_ORIGIN:
            continue
        try:
            out.append(event_from_kf_message(m))
        except PayloadError as exc:
            msgid = m.get("msgid") if isinstance(m, dict) else None
            log.warning("kf/sync_msg of %.80r: skipped a malformed message (msgid %.80r): %s",
                        open_kfid, msgid, exc)
    return out


async def pull(event: Event, client: WeComClient, sm: async_sessionmaker) -> dict[str, Any]:
    """Network step, outside the event's transaction: page through kf/sync_msg."""
    kf = event.payload.get("kf") or {}
    open_kfid, token = kf.get("open_kfid", ""), kf.get("token", "")
    async with sm() as s:
        cursor = await kv_get(s, kf_cursor(open_kfid))
    messages: list[Event] = []
    while True:
        page = await client.kf_sync_msg(token, open_kfid, cursor)
        messages += customer_messages(page.get("msg_list") or [], open_kfid)
        cursor = page.get("next_cursor") or cursor
        if not page.get("has_more"):
            break
    return {"open_kfid": open_kfid, "messages": messages, "cursor": cursor}


@router.event("kf_msg_or_event", channel="app", prepare=pull)
async def on_kf_event(ctx: Context, open_kfid: str, messages: list[Event],
                      cursor: str | None) -> None:
    now = ctx.clock.now()
    await inbox_insert(ctx.session, [inbox_row(m, now) for m in messages])
    if cursor:
        await kv_set(ctx.session, kf_cursor(open_kfid), cursor)
