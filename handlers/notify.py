"""Reaching a ticket's customer later — from a technician's click, a timer, settlement — on the
channel they used. One table (``ROUTES``) decides it; the README's "Channels" section is its
user-facing copy.

The customer is not the sender of those events, so the answer cannot be ``ctx.reply``, and not
every channel lets a company speak first:

* **微信客服 (kf)**: ``kf/send_msg``. WeCom lets a company send a 微信客服 customer at most
  **5 messages within 48 hours of the customer's last message**; the customer writing again
  renews the allowance (WeCom's kf send_msg documentation; PROTOCOL.md does not list it, the
  SDKs quote it). Past that WeCom refuses the message, so the bot counts: a *progress* notice
  (出发, 到达) goes out only while two sends stay free for what matters most (完工, the
  statement); a notice with no send left is not sent (logged) — the customer sees the state
  when they next write (进度). Text only: WeChat users see no template cards.
* **the app (自建应用)**: ``message/send`` to the member, cards included.
* **the AI bot 1:1**: the AI bot answers a message only through that message's ``response_url``
  (once, within an hour [doc 101138]); it cannot speak first. Its users are members of the
  corp, so later news comes to them 1:1 through the app (in the 「工单助手」 app's chat).
* **the AI bot in a group**: progress is posted into the group by the group's own 消息推送
  robot (``webhook``) when ``config/groups.yaml`` names it — everyone who saw the report sees
  what became of it; without one, the reporter is told 1:1 through the app. Statements and
  anything with buttons are private: always 1:1 to the reporter through the app.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from handlers.config_file import CONFIG_DIR, ROOT, ConfigError, load_yaml_model
from handlers.routing import Context
from models.keys import kf_conversation, kf_parts
from models.queues import kf_sends_since_last_message
from models.tickets import Ticket

log = logging.getLogger("handlers.notify")

KF_REPLIES = 5  # messages a company may send a 微信客服 customer per customer message …
KF_WINDOW = timedelta(hours=48)  # … within this long after it
KF_KEEP_FOR_ESSENTIAL = 2  # sends a progress notice leaves free (完工, the statement)
GROUPS_PATH: Final = CONFIG_DIR / "groups.yaml"

#: where a ticket was reported → how news reaches its customer later (see the module's text)
ROUTES: Final[dict[str, str]] = {
    "kf": "kf/send_msg, within WeCom's allowance of 5 per customer message; text only",
    "app": "message/send to the member; cards too",
    "aibot_user": "message/send to the member through the app; cards too",
    "aibot_group": "the group's 消息推送 robot (config/groups.yaml); else the reporter through "
                   "the app; statements and cards always to the reporter through the app",
}


class GroupLink(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    chat_id: str = Field(min_length=1, max_length=200)
    name: str = ""
    webhook_key: SecretStr  # anyone holding it can post into the group: never logged


class GroupsConfig(BaseModel):
    """``config/groups.yaml``: the groups the AI bot works in, and their 消息推送 robots."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    groups: tuple[GroupLink, ...] = ()

    def robot_of(self, chat_id: str) -> str | None:
        link = next((g for g in self.groups if g.chat_id == chat_id), None)
        return link.webhook_key.get_secret_value() if link else None

    def secrets(self) -> list[str]:
        return [g.webhook_key.get_secret_value() for g in self.groups]


class GroupsConfigError(ConfigError):
    """One line per problem: ``file:line: field: message``."""


def load_groups_config(path: str | Path | None = None) -> GroupsConfig:
    """``path`` (a relative one is looked for in the working directory, then in the checkout),
    default ``config/groups.yaml``."""
    p = Path(path) if path else GROUPS_PATH
    if not p.is_absolute() and not p.exists():
        p = ROOT / p
    return load_yaml_model(p, GroupsConfig, GroupsConfigError)


def route_of(ticket: Ticket) -> str:
    """Which row of ``ROUTES`` reaches this ticket's customer."""
    if ticket.channel == "kf":
        return "kf"
    if ticket.channel == "aibot":
        return "aibot_group" if ticket.conversation_key.startswith("aibot:g:") else "aibot_user"
    return "app"


def sees_cards(ticket: Ticket) -> bool:
    """Whether the customer can see (and click) our cards: everyone but WeChat users."""
    return route_of(ticket) != "kf"


async def kf_sends_left(ctx: Context, open_kfid: str, external_userid: str) -> int:
    last, used = await kf_sends_since_last_message(ctx.session, open_kfid, external_userid)
    if last is None or ctx.clock.now() - last > KF_WINDOW:
        return 0
    conversation = kf_conversation(open_kfid, external_userid)
    queued = sum(1 for m in ctx.outgoing
                 if not m.updates_card and (m.to_kf == (open_kfid, external_userid) or (
                     m.to_kf is None and m.to_user is None and m.to_webhook is None
                     and ctx.event.conversation_key == conversation)))
    return KF_REPLIES - used - queued


async def tell_customer(ctx: Context, ticket: Ticket, text: str, *, progress: bool = False,
                        private: bool = False) -> bool:
    """Tell the ticket's customer ``text`` the way ``ROUTES`` says; False if nothing could be
    sent (WeCom's 微信客服 allowance kept it back, or nobody to tell). ``progress``: a notice
    that may give way (出发, 到达); ``private``: for the reporter only (a statement), never
    posted into a group."""
    route = route_of(ticket)
    if route == "kf":
        open_kfid, external_userid = kf_parts(ticket.conversation_key)  # type: ignore[misc]
        left = await kf_sends_left(ctx, open_kfid, external_userid)
        if left <= (KF_KEEP_FOR_ESSENTIAL if progress else 0):
            log.info("ticket %s: %s notice to the 微信客服 customer kept back (%d of %d sends "
                     "left in WeCom's allowance)", ticket.number,
                     "a progress" if progress else "a", max(left, 0), KF_REPLIES)
            return False
        ctx.send_to_kf(open_kfid, external_userid, text, at_most_once=progress)
        return True
    if route == "aibot_group" and not private:
        chat_id = ticket.conversation_key.removeprefix("aibot:g:")
        robot = ctx.services[GroupsConfig].robot_of(chat_id) if GroupsConfig in ctx.services \
            else None
        if robot:
            ctx.post_to_group(robot, text)
            return True
    if ticket.reporter:
        ctx.send_to(ticket.reporter, text)
        return True
    log.warning("ticket %s: nobody to tell (no reporter)", ticket.number)
    return False
