"""What handlers want said → outbox rows addressed the way each channel must be answered.

* app (自建应用): ``message/send`` to the member [doc 90236]
* aibot (智能机器人): one POST to the message's ``response_url`` [doc 101138] — used once, so
  every reply a handler makes for one event is merged into that single message
* kf (微信客服): ``kf/send_msg`` to the external user

Each row stores the request body exactly as it will be sent (``body``): a resend after a crash
or a timed-out call is the same bytes, which is what WeCom's duplicate check compares.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from models.messages import Event, Outgoing
from models.keys import (aibot_pace, app_pace, card_pace, kf_conversation, outbox_key,
                         webhook_pace)
from models.queues import outbox_repeats

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

# What a resend may do when an earlier attempt's outcome is unknown (the process died during
# the call, or WeCom answered after the client's timeout). One table, per API and message kind:
#
# * ``dedup``: resend the stored body unchanged. ``message/send`` carries WeCom's duplicate
#   check (``enable_duplicate_check``, interval DUPLICATE_CHECK_SECONDS [doc 90236]): the same
#   request JSON within the interval is not delivered twice. Card updates are the same: a
#   response_code works once, so a resend after a success is refused and counts as done.
# * ``once``: the AI bot's ``response_url`` accepts one POST [doc 101138]; a resend after a
#   success is refused ("spent") and counts as done — it can never arrive twice.
# * ``at_least_once``: no duplicate check exists (微信客服's ``kf/send_msg`` takes a ``msgid`` we
#   set stably from the row, but WeCom's documentation does not say it deduplicates on it): the
#   stored body is resent, so a customer may rarely see a message twice rather than never.
#   Used for what a customer must receive (answers, 完工, statements).
# * ``at_most_once``: never resent after an unknown outcome; the row is parked for a person
#   ("outcome unknown"). Used for 微信客服 progress notices (出发 / 到达), group announcements
#   (``appchat/send``, the group-robot ``webhook``), where a duplicate is worse than a gap.
DEDUP, ONCE, AT_LEAST_ONCE, AT_MOST_ONCE = "dedup", "once", "at_least_once", "at_most_once"
DELIVERY: dict[str, str] = {
    "message/send": DEDUP,
    "message/update_template_card": DEDUP,
    "response_url": ONCE,
    "kf/send_msg": AT_LEAST_ONCE,
    "appchat/send": AT_MOST_ONCE,
    "webhook": AT_MOST_ONCE,
}
#: WeCom's duplicate-check interval for ``message/send`` (at most 4 hours [doc 90236]); longer
#: than the sender's whole retry horizon (SENDER_MAX_ATTEMPTS with backoff ≈ 9 minutes).
DUPLICATE_CHECK_SECONDS = 4 * 3600
#: appended to a text that would otherwise repeat a message sent to the same person within the
#: interval (WeCom would drop the repeat): invisible, but it makes the request JSON differ.
DISTINCT_MARK = "\u200b"


def wire_body(payload: dict[str, Any]) -> str:
    """The request body as sent: compact JSON, UTF-8 characters kept."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def dup_key(api: str, pace_key: str, body: str) -> str:
    return hashlib.sha256(f"{api}\n{pace_key}\n{body}".encode()).hexdigest()


def reply_rows(event: Event, messages: list[Outgoing], *, agent_id: int | None,
               now: datetime) -> list[dict[str, Any]]:
    """Outbox rows for ``messages`` answering ``event``; idempotent per (event, position)."""
    if not messages:
        return []
    rows: list[dict[str, Any]] = []

    def row(n: int | str, api: str, pace_key: str, payload: dict[str, Any],
            once: bool = False) -> None:
        key = outbox_key(event, n)
        if api == "kf/send_msg":  # echoed back by WeCom; stable across resends of this row
            payload = {**payload, "msgid": "o" + hashlib.sha256(key.encode()).hexdigest()[:31]}
        body = wire_body(payload["body"] if api in ("response_url", "webhook") else payload)
        rows.append({"idempotency_key": key, "api": api, "pace_key": pace_key,
                     "payload": payload, "body": body,
                     "delivery": AT_MOST_ONCE if once else DELIVERY.get(api, AT_MOST_ONCE),
                     "dup_key": dup_key(api, pace_key, body) if api == "message/send" else None,
                     "created_at": now, "status": "pending", "attempts": 0,
                     "next_attempt_at": now})

    # A card is updated through a response_code, which works once and within 72 h
    # [doc 94888]: the one Context.update_card claimed (models.cards).
    for i, m in enumerate(m for m in messages if m.updates_card):
        code = m.response_code
        if not code:
            continue
        body: dict[str, Any] = {"userids": [m.to_user or event.sender], "agentid": agent_id,
                                "response_code": code}
        if m.card_replace is not None:
            body["template_card"] = m.card_replace
        else:
            body["button"] = {"replace_name": m.card_update}
        row(f"u{i}", "message/update_template_card", card_pace(code), body)
    messages = [m for m in messages if not m.updates_card]

    for n, m in enumerate(m for m in messages if m.to_webhook is not None):
        row(f"w{n}", "webhook", webhook_pace(m.to_webhook),
            {"key": m.to_webhook, "body": {"msgtype": "text", "text": {"content": m.text}}})
    messages = [m for m in messages if m.to_webhook is None]

    if event.channel == "aibot":
        # The chat's answers merge into the one response_url call; messages addressed to a
        # member (a supervisor told of an urge …) go through the app like any other.
        chat = [m for m in messages if m.to_user is None and m.to_kf is None]
        url = event.payload.get("response_url", "")
        if chat and url:
            content = "\n\n".join(m.text for m in chat if m.text)
            body = {"msgtype": "markdown", "markdown": {"content": content}}
            row(0, "response_url", aibot_pace(event.conversation_key), {"url": url, "body": body})
        messages = [m for m in messages if m.to_user is not None or m.to_kf is not None]
    for n, m in enumerate(messages, start=1 if event.channel == "aibot" else 0):
        kf = m.to_kf or ((event.payload["open_kfid"], event.payload["external_userid"])
                         if event.channel == "kf" and m.to_user is None else None)
        if kf is not None:
            row(n, "kf/send_msg", kf_conversation(*kf),
                {"touser": kf[1], "open_kfid": kf[0], "msgtype": "text",
                 "text": {"content": m.text}}, once=m.at_most_once)
            continue
        user = m.to_user or event.sender
        payload: dict[str, Any] = {"touser": user, "agentid": agent_id}
        if m.card is not None:
            payload |= {"msgtype": "template_card", "template_card": m.card}
        else:
            payload |= {"msgtype": "text", "text": {"content": m.text}}
        payload |= {"enable_duplicate_check": 1,
                    "duplicate_check_interval": DUPLICATE_CHECK_SECONDS}
        row(n, "message/send", app_pace(agent_id, user), payload)
    return rows


def make_distinct(row: dict[str, Any], earlier: int) -> dict[str, Any]:
    """``row`` changed so that its request JSON differs from ``earlier`` identical messages to
    the same person within the duplicate-check interval (which WeCom would not deliver again):
    the text gets that many invisible marks. Cards need nothing: their task_id is unique."""
    payload = row["payload"]
    kind = payload.get("msgtype")
    if earlier <= 0 or kind not in ("text", "markdown"):
        return row
    content = payload[kind]["content"] + DISTINCT_MARK * earlier
    payload = {**payload, kind: {**payload[kind], "content": content}}
    # ``dup_key`` stays that of the unmarked message: it counts how often this was said.
    return {**row, "payload": payload, "body": wire_body(payload)}


async def distinct_rows(session: Any, rows: list[dict[str, Any]],
                        now: datetime) -> list[dict[str, Any]]:
    """``rows`` with every ``message/send`` text that repeats one queued for the same person
    within WeCom's duplicate-check interval made distinct (see ``make_distinct``)."""
    keys = [r["dup_key"] for r in rows if r.get("dup_key")]
    if not keys:
        return rows
    seen = await outbox_repeats(session, keys, now - timedelta(seconds=DUPLICATE_CHECK_SECONDS))
    out = []
    for r in rows:
        if r.get("dup_key"):
            n = seen.get(r["dup_key"], 0)
            seen[r["dup_key"]] = n + 1
            r = make_distinct(r, n)
        out.append(r)
    return out
