"""微信客服: the event only says "there is something"; pull it with ``kf/sync_msg``.

Each pulled message becomes an ordinary inbox event (channel ``kf``, deduplicated on its msgid)
and is handled like any other message; the cursor is kept per open_kfid so nothing is pulled
twice or skipped across restarts (events of one open_kfid are handled one at a time, in order).
"""

from __future__ import annotations

from bot.events import event_from_kf_message
from bot.inbox import inbox_row
from handlers.routing import Context, Router
from models.queues import inbox_insert, kv_get, kv_set

router = Router("kf")

CUSTOMER_MESSAGE_ORIGIN = 3  # origin 3: sent by the WeChat customer (4: system, 5: our agent)


@router.event("kf_msg_or_event", channel="app")
async def on_kf_event(ctx: Context) -> None:
    client = ctx.services["client"]
    kf = ctx.event.payload.get("kf") or {}
    open_kfid, token = kf.get("open_kfid", ""), kf.get("token", "")
    key = f"kf_cursor:{open_kfid}"
    # Read the cursor in its own short transaction: the network pulls below must not run
    # while the event's transaction holds the database (SQLite has one writer).
    async with ctx.services["sessionmaker"]() as s:
        cursor = await kv_get(s, key)
    rows = []
    now = ctx.clock.now()
    while True:
        page = await client.kf_sync_msg(token, open_kfid, cursor)
        for msg in page.get("msg_list", []):
            if msg.get("origin") == CUSTOMER_MESSAGE_ORIGIN:
                rows.append(inbox_row(event_from_kf_message(msg), now))
        cursor = page.get("next_cursor") or cursor
        if not page.get("has_more"):
            break
    await inbox_insert(ctx.session, rows)
    if cursor:
        await kv_set(ctx.session, key, cursor)
