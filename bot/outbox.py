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
    to_kf: tuple[str, str] | None = None  # (open_kfid, external_userid): a 微信客服 customer
    card_update: str | None = None  # replace a card's buttons with this label …
    card_replace: dict[str, Any] | None = None  # … or the whole card with this one
    response_code: str | None = None  # the claimed code that updates it (None: the click's own)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def updates_card(self) -> bool:
        return self.card_update is not None or self.card_replace is not None


def reply_rows(event: Event, messages: list[Outgoing], *, agent_id: int | None,
               now: datetime) -> list[dict[str, Any]]:
    """Outbox rows for ``messages`` answering ``event``; idempotent per (event, position)."""
    if not messages:
        return []
    base = f"evt{event.id}" if event.id is not None else f"key:{event.dedupe_key}"
    rows: list[dict[str, Any]] = []

    def row(n: int | str, api: str, pace_key: str, payload: dict[str, Any]) -> None:
        rows.append({"idempotency_key": f"{base}:{n}", "api": api, "pace_key": pace_key,
                     "payload": payload, "created_at": now, "status": "pending", "attempts": 0,
                     "next_attempt_at": now})

    # A card is updated through a response_code, which works once and within 72 h
    # [doc 94888]: one claimed from models.cards, or else the click's own (only app clicks
    # carry one; AI-bot clicks are answered in the reply itself).
    click_code = (event.card or {}).get("response_code") if event.channel == "app" else None
    for i, m in enumerate(m for m in messages if m.updates_card):
        code = m.response_code or click_code
        if not code:
            continue
        body: dict[str, Any] = {"userids": [m.to_user or event.sender], "agentid": agent_id,
                                "response_code": code}
        if m.card_replace is not None:
            body["template_card"] = m.card_replace
        else:
            body["button"] = {"replace_name": m.card_update}
        row(f"u{i}", "message/update_template_card", f"card:{code}", body)
    messages = [m for m in messages if not m.updates_card]

    if event.channel == "aibot":
        # The chat's answers merge into the one response_url call; messages addressed to a
        # member (a supervisor told of an urge …) go through the app like any other.
        chat = [m for m in messages if m.to_user is None and m.to_kf is None]
        url = event.payload.get("response_url", "")
        if chat and url:
            content = "\n\n".join(m.text for m in chat if m.text)
            body = {"msgtype": "markdown", "markdown": {"content": content}}
            row(0, "response_url", f"aibot:{event.conversation_key}", {"url": url, "body": body})
        messages = [m for m in messages if m.to_user is not None or m.to_kf is not None]
    for n, m in enumerate(messages, start=1 if event.channel == "aibot" else 0):
        kf = m.to_kf or ((event.payload["open_kfid"], event.payload["external_userid"])
                         if event.channel == "kf" and m.to_user is None else None)
        if kf is not None:
            row(n, "kf/send_msg", f"kf:{kf[0]}:{kf[1]}",
                {"touser": kf[1], "open_kfid": kf[0], "msgtype": "text",
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
