"""Every string key the bot builds, in one place: conversations (which order events share),
dedupe keys (what makes an event or a firing unique), durable-timer keys, card task ids,
outbox pacing keys, review keys and small cursors. Change a shape here and every reader and
writer follows; nothing else formats these strings by hand."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

# -- conversations: events of one conversation are handled one at a time, in order --------


def app_conversation(userid: str) -> str:
    """A member's 1:1 chat with the self-built app."""
    return f"app:{userid}"


def aibot_conversation(userid: str, chat_id: str = "") -> str:
    """A chat with the AI bot: the group's when it is one, else the person's 1:1."""
    return f"aibot:g:{chat_id}" if chat_id else f"aibot:u:{userid}"


def kf_conversation(open_kfid: str, external_userid: str = "") -> str:
    """A 微信客服 customer's chat (or, without one, the account's "there is news" events)."""
    return f"kf:{open_kfid}:{external_userid}" if external_userid else f"kf:{open_kfid}"


def kf_parts(conversation_key: str) -> tuple[str, str] | None:
    """(open_kfid, external_userid) of a 微信客服 customer's conversation, else None."""
    parts = conversation_key.split(":", 2)
    return (parts[1], parts[2]) if len(parts) == 3 and parts[0] == "kf" else None


def ticket_conversation(ticket_id: int) -> str:
    """What happens to a ticket (internal events, its timers): in order, one at a time."""
    return f"ticket:{ticket_id}"


def timer_conversation(timer_key: str) -> str:
    return f"timer:{timer_key}"


# -- dedupe keys of inbox events ----------------------------------------------------------


def message_dedupe(channel: str, msg_id: str) -> str:
    """A message WeCom numbered (MsgId / msgid): redelivered copies share the key."""
    return f"{channel}:msg:{msg_id}"


def payload_dedupe(channel: str, raw: str | bytes) -> str:
    """An event without an id: the SHA-256 of its decrypted payload (several events can share
    a CreateTime second, so the whole payload is the key)."""
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    return f"{channel}:evt:{hashlib.sha256(data).hexdigest()}"


def timer_dedupe(timer_id: int, generation: int) -> str:
    return f"timer:{timer_id}:{generation}"


def internal_dedupe_key(cause: Any, n: int) -> str:
    """The ``n``-th internal event raised while handling ``cause`` (an ``Event``)."""
    base = f"evt{cause.id}" if cause.id is not None else cause.dedupe_key
    return f"internal:{base}:{n}"


def operator_dedupe(kind: str, ref: str) -> str:
    """An internal event raised by an operator's command (``python main.py settle …``)."""
    return f"cli:{kind}:{ref}"


# -- durable timers (scheduler/timers.py) ---------------------------------------------------


def offer_timer(offer_id: int) -> str:
    """A direct offer's answer window."""
    return f"offer:{offer_id}"


def price_timer(ticket_id: int) -> str:
    """The durable timer of a ticket's missing part prices (handlers/settlement/prices.py)."""
    return f"part_prices:{ticket_id}"


def grab_timer(job_id: int) -> str:
    """A grab's window (抢单)."""
    return f"grab:{job_id}"


# -- card task ids: ≤ 128 bytes of [0-9A-Za-z_-@] [PROTOCOL.md §4] ----------------------------


def intake_task(draft_id: int, revision: int) -> str:
    return f"intake-d{draft_id}-r{revision}"


def offer_task(offer_id: int) -> str:
    return f"offer-{offer_id}"


def work_task(offer_id: int) -> str:
    return f"work-{offer_id}"


def transfer_task(offer_id: int) -> str:
    """The 转派 card: colleagues to hand an offer to."""
    return f"xfer-{offer_id}"


def assign_task(job_id: int) -> str:
    """The dispatchers' 派给… card of an escalated job."""
    return f"assign-{job_id}"


def node_task(node_id: int) -> str:
    """A workflow node's card to its owner (完成 / 转交)."""
    return f"node-{node_id}"


def approval_card_task(task_id: int) -> str:
    """An approver's card (同意 / 驳回 / 转交)."""
    return f"appr-{task_id}"


def quote_task(quote_id: int) -> str:
    """A quote's card to the customer (接受 / 拒绝)."""
    return f"quote-{quote_id}"


def approval_timer(task_id: int) -> str:
    """The reminder of a pending approval task."""
    return f"approval_remind:{task_id}"


def settle_task(ack_id: int) -> str:
    return f"settle-a{ack_id}"


# -- outbox: idempotency and pacing --------------------------------------------------------


def outbox_key(cause: Any, n: int | str) -> str:
    """The ``n``-th message answering ``cause`` (an ``Event``): a retried handler writes the
    same keys, so nothing is queued twice."""
    base = f"evt{cause.id}" if cause.id is not None else f"key:{cause.dedupe_key}"
    return f"{base}:{n}"


def app_pace(agent_id: int | None, userid: str) -> str:
    """WeCom's limits count per app and member."""
    return f"app:{agent_id}:{userid}"


def aibot_pace(conversation_key: str) -> str:
    return f"aibot:{conversation_key}"


def webhook_pace(robot_key: str) -> str:
    """A group robot's limit (20 a minute) counts per robot. The key is a secret (it lets anyone
    post into the group), so only a digest of it is written where operators read."""
    return f"webhook:{hashlib.sha256(robot_key.encode()).hexdigest()[:16]}"


def card_pace(response_code: str) -> str:
    return f"card:{response_code}"


# -- records --------------------------------------------------------------------------------


def kf_cursor(open_kfid: str) -> str:
    """Where ``kf/sync_msg`` left off for one 微信客服 account (kv table)."""
    return f"kf_cursor:{open_kfid}"


def unpriced_review(ticket_id: int, resolved_at: datetime | None) -> str:
    """One review per completion that could not be priced."""
    return f"unpriced:{ticket_id}:{resolved_at.isoformat() if resolved_at else ''}"


def dispute_review(statement_id: str, party: str) -> str:
    return f"dispute:{statement_id}:{party}"


def actor(channel: str, userid: str) -> str:
    """Who did something, in a ticket's audit trail."""
    return f"{channel}:{userid}"


# -- SLA (handlers/sla/) ----------------------------------------------------------------------


def sla_clock_timer(clock_id: int) -> str:
    """An SLA clock's next step (yellow point, escalation level, breach, or a pause poll)."""
    return f"sla:{clock_id}"


def sla_remind_timer(ticket_id: int) -> str:
    """A ticket's repeating reminder (设备故障: every 30 min until the technician acts)."""
    return f"sla_remind:{ticket_id}"


def sla_digest_timer(name: str) -> str:
    """A recurring digest (fires once across replicas and is re-armed by its own firing)."""
    return f"sla_digest:{name}"


def sla_delivery_key(ticket_id: int, step: str, userid: str, channel: str) -> str:
    """One SMS / email / WeCom delivery of one ticket's escalation step to one person."""
    return f"t{ticket_id}:{step}:{userid}:{channel}"
