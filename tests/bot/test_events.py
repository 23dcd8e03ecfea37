"""App XML and pulled 微信客服 messages become normalised events; any other shape is refused."""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.events import event_from_app_xml, event_from_kf_message
from bot.payloads import MAX_JSON_DEPTH, PayloadError


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



# -- 微信客服: messages pulled with kf/sync_msg -------------------------------------------------


def kf(**over) -> dict:
    d = {"msgid": "m1", "open_kfid": "wkA", "external_userid": "wmC", "send_time": 1732500000,
         "origin": 3, "msgtype": "text", "text": {"content": "空调坏了"}}
    d.update(over)
    return {k: v for k, v in d.items() if v is not DROP}


DROP = object()


def test_kf_location_image_and_event_messages():
    loc = event_from_kf_message(kf(msgtype="location", text=DROP, location={
        "latitude": 23.106, "longitude": 113, "name": "广州国际媒体港", "address": "滨江东路"}))
    assert (loc.kind, loc.type) == ("message", "location")
    assert loc.payload["location"] == {"lat": 23.106, "lon": 113, "label": "广州国际媒体港"}
    unnamed = event_from_kf_message(kf(msgtype="location", location={
        "latitude": -33.9, "longitude": -70.6, "address": "滨江东路"}))
    assert unnamed.payload["location"]["label"] == "滨江东路"
    img = event_from_kf_message(kf(msgtype="image", text=DROP, image={"media_id": "MEDIA1"}))
    assert img.payload["image"] == {"media_id": "MEDIA1"} and img.text is None
    ev = event_from_kf_message(kf(msgtype="event", text=DROP, origin=4,
                                  event={"event_type": "enter_session", "scene": "x"}))
    assert (ev.kind, ev.type, ev.sender) == ("event", "enter_session", "wmC")
    other = event_from_kf_message(kf(msgtype="voice", text=DROP, voice={"media_id": "V"},
                                     servicer_userid="zhangsan"))
    assert (other.kind, other.type) == ("message", "voice")
    assert other.payload["raw"]["voice"] == {"media_id": "V"}  # unknown fields are kept


@pytest.mark.parametrize("msg,reason", [
    ("str", "not an object"),
    (["m"], "not an object"),
    (None, "not an object"),
    (kf(msgid=DROP), "msgid"),
    (kf(msgid=12345), "msgid"),
    (kf(msgid=""), "msgid"),
    (kf(msgid="  "), "msgid"),
    (kf(msgid="m" * 129), "msgid"),
    (kf(open_kfid=DROP), "open_kfid"),
    (kf(open_kfid=""), "open_kfid"),
    (kf(open_kfid="k" * 121), "open_kfid"),
    (kf(external_userid=DROP), "external_userid"),
    (kf(external_userid=None), "external_userid"),
    (kf(external_userid=" "), "external_userid"),
    (kf(external_userid=7), "external_userid"),
    (kf(external_userid="u" * 129), "external_userid"),
    (kf(msgtype=DROP), "msgtype"),
    (kf(msgtype=""), "msgtype"),
    (kf(msgtype=["text"]), "msgtype"),
    (kf(msgtype="t" * 65), "msgtype"),
    (kf(origin="3"), "origin"),
    (kf(origin=3.0), "origin"),
    (kf(text="str"), "text"),
    (kf(text={"content": None}), "text.content"),
    (kf(text={"content": 5}), "text.content"),
    (kf(msgtype="location", location="here"), "location"),
    (kf(msgtype="location", location={"latitude": "23.1", "longitude": 113}),
     "location.latitude"),
    (kf(msgtype="location", location={"latitude": True, "longitude": 113}),
     "location.latitude"),
    (kf(msgtype="location", location={"latitude": 91, "longitude": 113}), "location.latitude"),
    (kf(msgtype="location", location={"latitude": 23, "longitude": -180.5}),
     "location.longitude"),
    (kf(msgtype="location", location={"latitude": 23, "longitude": 10 ** 400}),
     "location.longitude"),
    (kf(msgtype="location", location={"name": 5}), "location.name"),
    (kf(msgtype="location", location={"address": ["x"]}), "location.address"),
    (kf(msgtype="image", image={"media_id": 5}), "image.media_id"),
    (kf(msgtype="image", image={"media_id": "m" * 201}), "image.media_id"),
    (kf(msgtype="event", event="enter_session"), "event"),
    (kf(msgtype="event", event={"event_type": 5}), "event.event_type"),
    (kf(msgtype="event", event={"event_type": ""}), "event.event_type"),
    (kf(text={"content": "a\u0000b"}), "NUL"),
    (kf(external_userid="wm\ud800"), "surrogate"),
    (kf(extra={"x": float("nan")}), "NaN"),
    (kf(msgtype="location", location={"latitude": float("inf"), "longitude": 1}), "Infinity"),
    (kf(extra=[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]),
     "nested deeper"),
])
def test_malformed_kf_messages_are_refused_with_a_reason(msg, reason):
    with pytest.raises(PayloadError, match=reason) as info:
        event_from_kf_message(msg)
    assert "\n" not in str(info.value)


# -- hypothesis: only PayloadErrors, and what comes out is storable -----------------------------

FUZZ = settings(max_examples=400, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])

# What the API client's json.loads can hand over: any text (lone surrogates and NUL included,
# from \ud800 and \u0000 escapes), NaN, infinities and integers of any size.
KF_TEXT = st.text(st.characters(), max_size=30) | st.sampled_from(
    ["", " ", "\u0000", "\ud800", "wm\udfff", "x" * 121, "x" * 129, "x" * 201])
KF_LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-200, 200),
                    st.floats(allow_nan=True, allow_infinity=True), KF_TEXT,
                    st.sampled_from(["text", "image", "location", "event", "voice"]))
KF_KEYS = ["msgid", "open_kfid", "external_userid", "msgtype", "origin", "text", "content",
           "image", "media_id", "location", "latitude", "longitude", "name", "address",
           "event", "event_type", "send_time"]
KF_VALUES = st.recursive(KF_LEAF, lambda kids: st.one_of(
    st.lists(kids, max_size=4),
    st.dictionaries(st.sampled_from(KF_KEYS) | KF_TEXT, kids, max_size=5)), max_leaves=20)
KF_DOCS = st.fixed_dictionaries(
    {}, optional={"msgid": KF_VALUES | st.just("m1"), "open_kfid": KF_VALUES | st.just("wkA"),
                  "external_userid": KF_VALUES | st.just("wmC"), "origin": KF_VALUES,
                  "msgtype": KF_VALUES, "text": KF_VALUES, "image": KF_VALUES,
                  "location": KF_VALUES, "event": KF_VALUES, "send_time": KF_VALUES})
# Mostly valid messages with one field bent.
KF_BENT = st.builds(lambda key, value, msgtype: kf(**{"msgtype": msgtype, key: value}),
                    st.sampled_from(KF_KEYS), KF_VALUES,
                    st.sampled_from(["text", "image", "location", "event"]))


@FUZZ
@given(st.one_of(KF_DOCS, KF_BENT, KF_VALUES))
def test_kf_message_parser_raises_only_payload_errors(msg):
    try:
        ev = event_from_kf_message(msg)
    except PayloadError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(ev.sender, str) and ev.sender.strip() and len(ev.sender) <= 128
    assert len(ev.conversation_key) <= 255 and len(ev.dedupe_key) <= 200
    assert 1 <= len(ev.type) <= 64
    # storable as it is, on both databases: finite numbers, UTF-8, no NUL
    stored = json.dumps(ev.payload, allow_nan=False, ensure_ascii=False)
    stored.encode("utf-8")
    assert "\x00" not in stored and "\\u0000" not in json.dumps(ev.payload)


KF_ID = st.text(string.ascii_letters + string.digits + "_-", min_size=1, max_size=64)
KF_CONTENT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
                     max_size=200)


@FUZZ
@given(KF_ID, KF_ID, KF_ID, KF_CONTENT)
def test_kf_text_messages_round_trip(msgid, open_kfid, ext, content):
    msg = kf(msgid=msgid, open_kfid=open_kfid, external_userid=ext, text={"content": content})
    ev = event_from_kf_message(msg)
    assert (ev.channel, ev.kind, ev.type, ev.sender, ev.text) == (
        "kf", "message", "text", ext, content)
    assert (ev.dedupe_key, ev.conversation_key) == (f"kf:msg:{msgid}", f"kf:{open_kfid}:{ext}")
    assert ev.payload["raw"] == msg
    assert (ev.payload["open_kfid"], ev.payload["external_userid"]) == (open_kfid, ext)


@FUZZ
@given(st.floats(-90, 90) | st.integers(-90, 90), st.floats(-180, 180) | st.integers(-180, 180),
       KF_CONTENT, KF_CONTENT)
def test_kf_locations_round_trip(lat, lon, name, address):
    ev = event_from_kf_message(kf(msgtype="location", text=DROP, location={
        "latitude": lat, "longitude": lon, "name": name, "address": address}))
    assert ev.payload["location"] == {"lat": lat, "lon": lon, "label": name or address}
    assert type(ev.payload["location"]["lat"]) is type(lat)  # an integer stays one


def test_kf_nesting_up_to_the_limit_is_taken():
    deep: object = "x"
    for _ in range(MAX_JSON_DEPTH - 1):  # and the message itself
        deep = [deep]
    assert event_from_kf_message(kf(extra=deep)).payload["raw"]["extra"] == deep
