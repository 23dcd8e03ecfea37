"""AI-bot JSON becomes a normalised event; any other shape is a PayloadError naming the field."""

from __future__ import annotations

import json

import pytest

from bot.aibot import event_from_aibot_json
from bot.payloads import PayloadError


def aibot(**d) -> str:
    base = {"msgid": "M1", "aibotid": "AIB", "chattype": "group", "chatid": "CH",
            "from": {"userid": "zhangsan"}, "response_url": "http://r", "msgtype": "text",
            "text": {"content": "@bot 咖啡机坏了"}}
    base.update(d)
    return json.dumps(base, ensure_ascii=False)


def test_aibot_text_in_group():
    e = event_from_aibot_json(aibot())
    assert (e.channel, e.type, e.sender, e.conversation_key) == ("aibot", "text", "zhangsan",
                                                                 "aibot:g:CH")
    assert e.text == "@bot 咖啡机坏了" and e.payload["response_url"] == "http://r"
    assert e.dedupe_key == "aibot:msg:M1"


def test_aibot_mixed_and_image_and_single_chat():
    mixed = event_from_aibot_json(aibot(chattype="single", chatid=None, msgtype="mixed", mixed={
        "msg_item": [{"msgtype": "text", "text": {"content": "看图"}},
                     {"msgtype": "image", "image": {"url": "http://img"}}]}))
    assert mixed.conversation_key == "aibot:u:zhangsan"
    assert mixed.text == "看图" and mixed.payload["images"] == ["http://img"]
    img = event_from_aibot_json(aibot(msgtype="image", image={"url": "http://i2"}))
    assert img.payload["image"] == {"url": "http://i2"}


def test_aibot_events():
    enter = event_from_aibot_json(aibot(msgtype="event", event={"eventtype": "enter_chat"}))
    assert (enter.kind, enter.type) == ("event", "enter_chat")
    click = event_from_aibot_json(aibot(msgtype="event", event={
        "eventtype": "template_card_event", "template_card_event": {
            "card_type": "button_interaction", "event_key": "k1", "task_id": "t1",
            "selected_items": {"selected_item": {"question_key": "q", "option_ids": {
                "option_id": "o"}}}}}))
    assert click.card["event_key"] == "k1"
    assert click.card["selected_items"] == [{"question_key": "q", "option_ids": ["o"]}]


@pytest.mark.parametrize("bad", ["{", "[]", json.dumps({"msgid": "x"}),
                                 json.dumps({"msgtype": "event", "event": {}})])
def test_bad_aibot_payloads(bad):
    with pytest.raises(PayloadError):
        event_from_aibot_json(bad)


# -- malformed shapes are PayloadErrors, never anything else (issue 9, items 6 and 7) ----------


@pytest.mark.parametrize("over,reason", [
    ({"text": "str"}, "text"),
    ({"msgtype": "mixed", "mixed": {"msg_item": [{"msgtype": "text", "text": "str"}]}},
     "mixed.msg_item.0.text"),
    ({"msgtype": "mixed", "mixed": {"msg_item": "str"}}, "mixed.msg_item.0"),
    ({"msgtype": "event", "event": {"eventtype": "template_card_event",
                                    "template_card_event": "str"}}, "template_card_event"),
    ({"msgtype": "event", "event": {"eventtype": "template_card_event",
                                    "template_card_event": {"selected_items": {
                                        "selected_item": [{"option_ids": {"option_id": [1]}}]}}}},
     "option_ids"),
    ({"msgtype": "event", "event": "enter_chat"}, "event"),
    ({"from": "str"}, "from"),
    ({"from": {"userid": ""}}, "from.userid"),
    ({"from": {"userid": 7}}, "from.userid"),
    ({"from": None}, "from"),
    ({"msgid": 12345}, "msgid"),
    ({"msgid": "m" * 129}, "msgid"),
    ({"chatid": "c" * 201}, "chatid"),
    ({"image": {"url": ["x"]}}, "image.url"),
    ({"text": {"content": None}}, "text.content"),
    ({"text": {"content": "a\u0000b"}}, "NUL"),
    ({"text": {"content": "\ud800"}}, "surrogate"),
    ({"x": float("nan")}, "NaN"),
    ({"x": float("inf")}, "Infinity"),
])
def test_malformed_aibot_json_is_refused_with_a_reason(over, reason):
    with pytest.raises(PayloadError, match=reason) as info:
        event_from_aibot_json(aibot(**over))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000,
                                  json.dumps({"msgtype": "text"})[:-1] + ', "x": 1e999}',
                                  '{"msgtype": "text", "x": 1' + "0" * 5000 + "}"])
def test_aibot_json_the_json_module_chokes_on_is_refused(text):
    with pytest.raises(PayloadError):
        event_from_aibot_json(text)


def test_aibot_unknown_fields_and_one_item_lists_are_taken():
    e = event_from_aibot_json(aibot(msgtype="mixed", extra={"new": ["field"]}, mixed={
        "msg_item": {"msgtype": "image", "image": {"url": "http://i"}}}))
    assert e.payload["images"] == ["http://i"] and e.text == ""
    assert e.payload["raw"]["extra"] == {"new": ["field"]}
    click = event_from_aibot_json(aibot(msgtype="event", event={
        "eventtype": "template_card_event", "template_card_event": {
            "event_key": "k",
            "selected_items": [{"question_key": "q", "option_ids": ["a", "b"]}]}}))
    assert click.card["selected_items"] == [{"question_key": "q", "option_ids": ["a", "b"]}]
