"""What handlers want said → outbox rows addressed the way each channel must be answered.

* app (自建应用): ``message/send`` to the member [doc 90236]
* aibot (智能机器人): one POST to the message's ``response_url`` [doc 101138] — used once, so
  every reply a handler makes for one event is merged into that single message
* kf (微信客服): ``kf/send_msg`` to the external user
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.events import Event

# Per-recipient windows WeCom enforces, and past which it drops messages *silently*
# [doc 90312 / PROTOCOL.md §5]: (seconds, max messages accepted in that window).
PACING: dict[str, tuple[tuple[int, int], ...]] = {
    "message/send": ((60, 30), (3600, 1000)),  # per app, per member
    "response_url": ((60, 30), (3600, 1000)),  # AI bot, per conversation
    "appchat/send": ((60, 200), (86400, 10000)),  # per member of the group (approximated per chat)
    "webhook": ((60, 20),),  # per group robot
    "kf/send_msg": ((60, 30),),  # unconfirmed by WeCom docs; kept at the app rate
    "message/update_template_card": (),
}


@dataclass
class Outgoing:
    """One message a handler wants delivered. ``card`` makes it a template card."""

    text: str = ""
    markdown: bool = False
    card: dict[str, Any] | None = None
    to_user: str | None = None  # app member to address instead of the event's sender
    card_update: str | None = None  # grey out the clicked card's buttons with this label
    extra: dict[str, Any] = field(default_factory=dict)


def reply_rows(event: Event, messages: list[Outgoing], *, agent_id: int | None,
               now: datetime) -> list[dict[str, Any]]:
    """Outbox rows for ``messages`` answering ``event``; idempotent per (event, position)."""
    if not messages:
        return []
    base = f"evt{event.id}" if event.id is not None else f"key:{event.dedupe_key}"
    rows: list[dict[str, Any]] = []

    def row(n: int, api: str, pace_key: str, payload: dict[str, Any]) -> None:
        rows.append({"idempotency_key": f"{base}:{n}", "api": api, "pace_key": pace_key,
                     "payload": payload, "created_at": now, "status": "pending", "attempts": 0,
                     "next_attempt_at": now})

    # A clicked card's buttons are replaced through the click's response_code, which works
    # once and within 72 h [doc 94888]; only app clicks carry one (AI-bot clicks are answered
    # in the reply itself).
    code = (event.card or {}).get("response_code")
    for m in messages:
        if m.card_update is not None and event.channel == "app" and code:
            row(len(messages) + 1, "message/update_template_card", f"card:{code}",
                {"userids": [event.sender], "agentid": agent_id, "response_code": code,
                 "button": {"replace_name": m.card_update}})
    messages = [m for m in messages if m.card_update is None]

    if event.channel == "aibot":
        # The chat's answers merge into the one response_url call; messages addressed to a
        # member (a supervisor told of an urge …) go through the app like any other.
        chat = [m for m in messages if m.to_user is None]
        url = event.payload.get("response_url", "")
        if chat and url:
            content = "\n\n".join(m.text for m in chat if m.text)
            body = {"msgtype": "markdown", "markdown": {"content": content}}
            row(0, "response_url", f"aibot:{event.conversation_key}", {"url": url, "body": body})
        messages = [m for m in messages if m.to_user is not None]
    for n, m in enumerate(messages, start=1 if event.channel == "aibot" else 0):
        if event.channel == "kf" and m.to_user is None:
            p = event.payload
            row(n, "kf/send_msg", f"kf:{p['open_kfid']}:{p['external_userid']}",
                {"touser": p["external_userid"], "open_kfid": p["open_kfid"], "msgtype": "text",
                 "text": {"content": m.text}})
            continue
        user = m.to_user or event.sender
        payload: dict[str, Any] = {"touser": user, "agentid": agent_id}
        if m.card is not None:
            payload |= {"msgtype": "template_card", "template_card": m.card}
        elif m.markdown:
            payload |= {"msgtype": "markdown", "markdown": {"content": m.text}}
        else:
            payload |= {"msgtype": "text", "text": {"content": m.text}}
        row(n, "message/send", f"app:{agent_id}:{user}", payload | m.extra)
    return rows
