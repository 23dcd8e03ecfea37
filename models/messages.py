"""The message shapes every room shares: what comes in (``Event``, stored as an inbox row) and
what a handler wants said (``Outgoing``). Pure data: the WeCom edge (``bot/``) builds events
from callbacks and turns outgoing messages into API calls; handlers only see these shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: the channel of events handlers raise themselves (``Context.emit``): ticket_created …
INTERNAL = "internal"
#: the channel of fired durable timers (scheduler/timers.py)
TIMER = "timer"


@dataclass
class Event:
    """What the dispatcher sees, whatever the channel. ``payload`` is JSON-ready."""

    channel: str  # app | aibot | kf | timer | internal
    kind: str  # message | event
    type: str  # msgtype or event name
    sender: str
    conversation_key: str
    dedupe_key: str
    payload: dict[str, Any] = field(default_factory=dict)
    id: int | None = None  # inbox row id once stored

    @property
    def text(self) -> str | None:
        return self.payload.get("text")

    @property
    def card(self) -> dict[str, Any] | None:
        return self.payload.get("card")

    @classmethod
    def from_row(cls, row: Any) -> "Event":
        """The event an inbox row holds."""
        return cls(row.channel, row.kind, row.type, row.sender, row.conversation_key,
                   row.dedupe_key, row.payload, row.id)


def inbox_row(event: Event, now: datetime) -> dict[str, Any]:
    """The inbox row that stores ``event`` (pending, due at once)."""
    return {
        "dedupe_key": event.dedupe_key, "channel": event.channel, "kind": event.kind,
        "type": event.type, "conversation_key": event.conversation_key, "sender": event.sender,
        "payload": event.payload, "received_at": now, "status": "pending", "attempts": 0,
        "next_attempt_at": now,
    }


@dataclass
class Handled:
    """What handling one event produced, to be committed with it: replies and internal events."""

    outgoing: list["Outgoing"] = field(default_factory=list)
    emitted: list[Event] = field(default_factory=list)


@dataclass
class Outgoing:
    """One message a handler wants delivered. ``card`` makes it a template card."""

    text: str = ""
    card: dict[str, Any] | None = None
    to_user: str | None = None  # app member to address instead of the event's sender
    to_kf: tuple[str, str] | None = None  # (open_kfid, external_userid): a 微信客服 customer
    to_webhook: str | None = None  # a group's 消息推送 robot key: a post into that group
    card_update: str | None = None  # replace a card's buttons with this label …
    card_replace: dict[str, Any] | None = None  # … or the whole card with this one
    response_code: str | None = None  # the claimed response_code that updates it
    at_most_once: bool = False  # never resent after an unknown outcome (bot/outbox.py DELIVERY)

    @property
    def updates_card(self) -> bool:
        return self.card_update is not None or self.card_replace is not None
