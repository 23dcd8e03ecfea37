"""Decrypted payloads become normalised events; hostile XML is refused."""

from __future__ import annotations

import json

import pytest

from bot.events import (PayloadError, event_from_aibot_json, event_from_app_xml,
                        event_from_kf_message, parse_xml)


def app(fields: str, user: str = "zhangsan") -> str:
    return (f"<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[{user}]]>"
            f"</FromUserName><CreateTime>1732500000</CreateTime>{fields}<AgentID>1000002</AgentID></xml>")


def test_text_message_keys_on_msgid():
    e = event_from_app_xml(app("<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[咖啡机坏了]]>"
                               "</Content><MsgId>123456</MsgId>"))
    assert (e.channel, e.kind, e.type, e.sender) == ("app", "message", "text", "zhangsan")
    assert e.text == "咖啡机坏了"
    assert e.dedupe_key == "app:msg:123456"
    assert e.conversation_key == "app:zhangsan"


@pytest.mark.parametrize("fields,check", [
    ("<MsgType>image</MsgType><PicUrl>http://x/p.jpg</PicUrl><MediaId>M1</MediaId><MsgId>1</MsgId>",
     lambda e: e.payload["image"] == {"url": "http://x/p.jpg", "media_id": "M1"}),
    ("<MsgType>voice</MsgType><MediaId>V1</MediaId><Format>amr</Format><MsgId>2</MsgId>",
     lambda e: e.payload["media"] == {"media_id": "V1", "format": "amr"}),
    ("<MsgType>location</MsgType><Location_X>31.23</Location_X><Location_Y>121.47</Location_Y>"
     "<Scale>15</Scale><Label>人民广场</Label><MsgId>3</MsgId>",
     lambda e: e.payload["location"]["label"] == "人民广场" and e.payload["location"]["lat"] == "31.23"),
    ("<MsgType>link</MsgType><Title>说明书</Title><Description>d</Description><Url>http://u</Url>"
     "<PicUrl>http://p</PicUrl><MsgId>4</MsgId>",
     lambda e: e.payload["link"]["title"] == "说明书"),
])
def test_media_messages(fields, check):
    e = event_from_app_xml(app(fields))
    assert e.kind == "message"
    assert check(e)


def test_events_key_on_payload_hash_not_create_time():
    """Two events in the same second from the same user are different events."""
    a = event_from_app_xml(app("<MsgType>event</MsgType><Event>enter_agent</Event><EventKey/>"))
    b = event_from_app_xml(app("<MsgType>event</MsgType><Event>LOCATION</Event>"
                               "<Latitude>31.2</Latitude><Longitude>121.4</Longitude>"
                               "<Precision>30</Precision>"))
    assert a.type == "enter_agent" and b.type == "LOCATION"
    assert a.dedupe_key != b.dedupe_key and a.dedupe_key.startswith("app:evt:")
    assert b.payload["location"] == {"lat": "31.2", "lon": "121.4", "precision": "30"}
    again = event_from_app_xml(app("<MsgType>event</MsgType><Event>enter_agent</Event><EventKey/>"))
    assert again.dedupe_key == a.dedupe_key  # a WeCom retry of the same payload


CARD = ("<MsgType>event</MsgType><Event>template_card_event</Event><EventKey>dispatch:accept:7</EventKey>"
        "<TaskId>t-7</TaskId><CardType>vote_interaction</CardType><ResponseCode>RC1</ResponseCode>")


def test_card_click_single_selected_item_becomes_a_list():
    e = event_from_app_xml(app(CARD + "<SelectedItems><SelectedItem><QuestionKey>q1</QuestionKey>"
                               "<OptionIds><OptionId>o1</OptionId></OptionIds></SelectedItem>"
                               "</SelectedItems>"))
    assert e.card["event_key"] == "dispatch:accept:7"
    assert e.card["response_code"] == "RC1"
    assert e.card["selected_items"] == [{"question_key": "q1", "option_ids": ["o1"]}]


def test_card_click_several_selected_items():
    e = event_from_app_xml(app(
        CARD + "<SelectedItems><SelectedItem><QuestionKey>q1</QuestionKey><OptionIds>"
        "<OptionId>o1</OptionId><OptionId>o2</OptionId></OptionIds></SelectedItem>"
        "<SelectedItem><QuestionKey>q2</QuestionKey><OptionIds><OptionId>o3</OptionId>"
        "</OptionIds></SelectedItem></SelectedItems>"))
    assert e.card["selected_items"] == [{"question_key": "q1", "option_ids": ["o1", "o2"]},
                                        {"question_key": "q2", "option_ids": ["o3"]}]


def test_card_click_without_selected_items():
    e = event_from_app_xml(app(CARD))
    assert e.card["selected_items"] == []


def test_kf_and_external_contact_events():
    kf = event_from_app_xml(app("<MsgType>event</MsgType><Event>kf_msg_or_event</Event>"
                                "<Token>TK</Token><OpenKfId>wkA</OpenKfId>", user="sys"))
    assert kf.payload["kf"] == {"token": "TK", "open_kfid": "wkA"}
    assert kf.conversation_key == "kf:wkA"
    ext = event_from_app_xml(app("<MsgType>event</MsgType><Event>change_external_contact</Event>"
                                 "<ChangeType>add_external_contact</ChangeType><UserID>zhangsan"
                                 "</UserID><ExternalUserID>wmX</ExternalUserID>", user="sys"))
    assert ext.payload["external"]["external_user_id"] == "wmX"
    assert ext.payload["external"]["change_type"] == "add_external_contact"


def test_kf_pulled_message():
    e = event_from_kf_message({"msgid": "m1", "open_kfid": "wkA", "external_userid": "wmC",
                               "origin": 3, "msgtype": "text", "text": {"content": "空调坏了"}})
    assert (e.channel, e.type, e.text, e.sender) == ("kf", "text", "空调坏了", "wmC")
    assert e.dedupe_key == "kf:msg:m1" and e.conversation_key == "kf:wkA:wmC"


@pytest.mark.parametrize("xml", [
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaa">]><xml><Content>&a;</Content></xml>',
    '<!DOCTYPE xml SYSTEM "http://example.invalid/x.dtd"><xml/>',
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
    '<xml>&lol2;</xml>',
])
def test_dtd_and_entities_are_refused(xml):
    with pytest.raises(PayloadError):
        parse_xml(xml)


@pytest.mark.parametrize("xml", ["<xml><a></xml>", "not xml", "<root/>", ""])
def test_malformed_xml_is_refused(xml):
    with pytest.raises(PayloadError):
        parse_xml(xml)


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


@pytest.mark.parametrize("xml,reason", [
    (app("<MsgType>text</MsgType><Content>x</Content>", user="a]]></FromUserName>"
         "<FromUserName><![CDATA[b"), "FromUserName is repeated"),
    (app("<MsgType>text</MsgType><Content><b>x</b></Content>"), "Content is not text"),
    (app("<MsgType>text</MsgType><MsgId>1</MsgId><MsgId>2</MsgId>"), "MsgId is repeated"),
    (app("<MsgType>text</MsgType>", user=""), "no FromUserName"),
    (app("<MsgType>event</MsgType><Event>enter_agent</Event>", user="   "), "no FromUserName"),
    (app("<MsgType>text</MsgType>", user="u" * 129), "FromUserName is longer than 128"),
    (app(CARD.replace("<TaskId>t-7</TaskId>", "<TaskId>" + "任" * 43 + "</TaskId>")),
     "TaskId is longer than 128 bytes"),
    (app(CARD + "<SelectedItems>x</SelectedItems>"), "SelectedItems is not one element"),
    (app(CARD + "<SelectedItems><SelectedItem><OptionIds><OptionId><a/></OptionId></OptionIds>"
                "</SelectedItem></SelectedItems>"), "OptionId is not text"),
    ("<xml>" + "<a>" * 40 + "</a>" * 40 + "</xml>", "nested deeper than 32"),
    ("<xml>" + "<a/>" * 10_001 + "</xml>", "more than 10000 elements"),
    ("<xml><![CDATA[" + "<a>" * 100, "unterminated"),
])
def test_malformed_app_xml_is_refused_with_a_reason(xml, reason):
    with pytest.raises(PayloadError, match=reason):
        event_from_app_xml(xml)


def test_kf_event_without_from_user_name_comes_from_sys():
    """WeCom documents ``kf_msg_or_event`` with no FromUserName at all."""
    xml = ("<xml><ToUserName>ww1</ToUserName><CreateTime>1</CreateTime><MsgType>event</MsgType>"
           "<Event>kf_msg_or_event</Event><Token>TK</Token><OpenKfId>wkA</OpenKfId></xml>")
    e = event_from_app_xml(xml)
    assert (e.sender, e.conversation_key, e.payload["kf"]) == (
        "sys", "kf:wkA", {"token": "TK", "open_kfid": "wkA"})


def test_deep_xml_inside_cdata_is_text_not_nesting():
    e = event_from_app_xml(app("<MsgType>text</MsgType><Content><![CDATA[" + "<a>" * 100
                               + "]]></Content><MsgId>5</MsgId>"))
    assert e.text == "<a>" * 100


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
