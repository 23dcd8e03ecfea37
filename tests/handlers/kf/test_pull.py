"""微信客服 pulls: a malformed pulled message is skipped with one warning, never the whole pull.

Before, one message ``kf/sync_msg`` returned in a shape WeCom does not send failed the
``kf_msg_or_event`` event: it was retried, then parked, the cursor stayed put, and every later
pull stopped at the same message, so that customer account went silent.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from handlers.kf.router import customer_messages
from models.keys import kf_cursor
from models.queues import kv_get
from models.tables import DONE, InboxEvent

OPEN_KFID = "wkSANDBOXKF0001"  # the sandbox's account (bot.sandbox.server.OPEN_KFID)
USER = "wmCHENnvshi0001"
LOGGER = "handlers.kf.router"

MALFORMED = [
    {"open_kfid": OPEN_KFID, "external_userid": USER, "origin": 3, "msgtype": "text",
     "text": {"content": "no msgid"}},
    {"msgid": "bad-text", "open_kfid": OPEN_KFID, "external_userid": USER, "origin": 3,
     "msgtype": "text", "text": "not an object"},
    {"msgid": "bad-sender", "open_kfid": OPEN_KFID, "external_userid": 7, "origin": 3,
     "msgtype": "text", "text": {"content": "x"}},
    {"msgid": "bad-location", "open_kfid": OPEN_KFID, "external_userid": USER, "origin": 3,
     "msgtype": "location", "location": {"latitude": "north", "longitude": 121.47}},
    {"msgid": "nan", "open_kfid": OPEN_KFID, "external_userid": USER, "origin": 3,
     "msgtype": "location", "location": {"latitude": float("nan"), "longitude": 121.47}},
]
# A system message (origin 4) has no external_userid of its own: not ours, and not a warning.
SYSTEM = {"msgid": "sys-1", "open_kfid": OPEN_KFID, "origin": 4, "msgtype": "event",
          "event": {"event_type": "enter_session", "external_userid": USER}}


def warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == LOGGER and r.levelno == logging.WARNING]


def test_one_page_keeps_the_good_messages_and_warns_once_per_bad_one(caplog):
    good = {"msgid": "ok-1", "open_kfid": OPEN_KFID, "external_userid": USER, "origin": 3,
            "msgtype": "text", "text": {"content": "空调不制冷"}}
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        events = customer_messages([*MALFORMED, "a string", None, SYSTEM, good], OPEN_KFID)
    assert [e.dedupe_key for e in events] == ["kf:msg:ok-1"]
    lines = warnings(caplog)
    assert len(lines) == len(MALFORMED) + 2
    assert all("skipped a malformed message" in ln and "\n" not in ln for ln in lines)
    assert "'bad-text'" in lines[1] and "text" in lines[1]
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert customer_messages({"not": "a list"}, OPEN_KFID) == []


async def test_a_malformed_pulled_message_does_not_stop_the_customers_conversation(stack,
                                                                                 caplog):
    stack.sandbox.state.kf_msgs.extend([*MALFORMED, SYSTEM])
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        await stack.sandbox.customer_kf(USER, "空调不制冷")
        await stack.settle()
    assert len(warnings(caplog)) == len(MALFORMED)
    async with stack.bot.sm() as s:
        rows = list((await s.execute(select(InboxEvent).order_by(InboxEvent.id))).scalars())
        cursor = await kv_get(s, kf_cursor(OPEN_KFID))
    assert all(r.status == DONE for r in rows)  # the pull event too: nothing failed or parked
    assert [r.payload.get("text") for r in rows if r.channel == "kf"] == ["空调不制冷"]
    assert cursor == str(len(MALFORMED) + 2)  # past the bad ones: they are not pulled again
    assert len(stack.sandbox.delivered(f"kf:{USER}")) == 1  # the customer got an answer
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        await stack.sandbox.customer_kf(USER, "还漏水")
        await stack.settle()
    assert warnings(caplog) == []
    assert len(stack.sandbox.delivered(f"kf:{USER}")) == 2
