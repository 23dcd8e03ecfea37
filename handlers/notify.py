"""Reaching a ticket's customer from any handler (a technician's click, a timer, settlement).

The customer is not the sender of those events, so the answer cannot be ``ctx.reply``:
* 微信客服 (kf) customers get ``kf/send_msg`` (the ticket's conversation names the open_kfid).
  WeCom lets a company send a 微信客服 customer at most **5 messages within 48 hours of the
  customer's last message**; the customer writing again renews the allowance (WeCom's kf
  send_msg documentation; PROTOCOL.md does not list it, the SDKs quote it). Past that WeCom
  refuses the message, so the bot counts: a *progress* notice (出发, 到达) goes out only while
  two sends stay free for what matters most (完工, the statement); a notice with no send left is
  not sent (logged) — the customer sees the state when they next write (进度).
* app and AI-bot reporters are members of the corp: the app reaches them 1:1. The AI bot can
  only answer a message through its ``response_url`` (once, within an hour [doc 101138]), so it
  cannot carry news that comes later.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from handlers.routing import Context
from models.keys import kf_conversation, kf_parts
from models.queues import kf_sends_since_last_message
from models.tickets import Ticket

log = logging.getLogger("handlers.notify")

KF_REPLIES = 5  # messages a company may send a 微信客服 customer per customer message …
KF_WINDOW = timedelta(hours=48)  # … within this long after it
KF_KEEP_FOR_ESSENTIAL = 2  # sends a progress notice leaves free (完工, the statement)


async def kf_sends_left(ctx: Context, open_kfid: str, external_userid: str) -> int:
    last, used = await kf_sends_since_last_message(ctx.session, open_kfid, external_userid)
    if last is None or ctx.clock.now() - last > KF_WINDOW:
        return 0
    conversation = kf_conversation(open_kfid, external_userid)
    queued = sum(1 for m in ctx.outgoing
                 if not m.updates_card and (m.to_kf == (open_kfid, external_userid) or (
                     m.to_kf is None and m.to_user is None
                     and ctx.event.conversation_key == conversation)))
    return KF_REPLIES - used - queued


async def tell_customer(ctx: Context, ticket: Ticket, text: str, *,
                        progress: bool = False) -> bool:
    """Tell the ticket's customer ``text``; False if WeCom's allowance kept it back."""
    if ticket.channel == "kf":
        open_kfid, external_userid = kf_parts(ticket.conversation_key)  # type: ignore[misc]
        left = await kf_sends_left(ctx, open_kfid, external_userid)
        if left <= (KF_KEEP_FOR_ESSENTIAL if progress else 0):
            log.info("ticket %s: %s notice to the 微信客服 customer kept back (%d of %d sends "
                     "left in WeCom's allowance)", ticket.number,
                     "a progress" if progress else "a", max(left, 0), KF_REPLIES)
            return False
        ctx.send_to_kf(open_kfid, external_userid, text, at_most_once=progress)
        return True
    if ticket.reporter:
        ctx.send_to(ticket.reporter, text)
        return True
    return False
