"""Reaching a ticket's customer from any handler (a technician's click, a timer, settlement).

The customer is not the sender of those events, so the answer cannot be ``ctx.reply``:
* 微信客服 (kf) customers get ``kf/send_msg`` (the ticket's conversation names the open_kfid);
* app and AI-bot reporters are members of the corp: the app reaches them 1:1. The AI bot can
  only answer a message through its ``response_url`` (once, within an hour [doc 101138]), so it
  cannot carry news that comes later.
"""

from __future__ import annotations

from handlers.routing import Context
from models.tickets import Ticket


def tell_customer(ctx: Context, ticket: Ticket, text: str) -> None:
    if ticket.channel == "kf":
        _, open_kfid, external_userid = ticket.conversation_key.split(":", 2)
        ctx.send_to_kf(open_kfid, external_userid, text)
    elif ticket.reporter:
        ctx.send_to(ticket.reporter, text)
