"""Hostile and malformed callbacks: every one is a 4xx with a logged reason, never a 500.

Two halves. First, the shapes a fault-injection run found (project issue 9, item 7), sent over
real HTTP with real encryption to a running bot on SQLite and PostgreSQL: each is answered 4xx,
nothing is stored, and the next genuine message is stored. Then hypothesis fuzzing of the
parsers (``event_from_app_xml``, ``event_from_aibot_json``), the outer envelope extraction and
the crypto: the only exceptions allowed are the modules' own typed errors (``PayloadError`` /
``CryptoError``), and valid generated payloads come out as the expected ``Event``.
"""

from __future__ import annotations

import base64
import json
import string

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.aibot import event_from_aibot_json
from bot.crypto import CryptoError, WeComCrypto, signature
from bot.events import event_from_app_xml
from bot.payloads import (MAX_JSON_DEPTH, MAX_XML_DEPTH, PayloadError, check_json_depth,
                          check_xml_depth, parse_xml)
from bot.server import encrypt_from_json, encrypt_from_xml
from tests.conftest import TEST_AES_KEY, TEST_CORP_ID, TEST_TOKEN

# -- over real HTTP: the shapes of issue 9, item 7 --------------------------------------------

TS, NONCE = "1732500000", "n0nce"
APP = WeComCrypto(TEST_TOKEN, TEST_AES_KEY, TEST_CORP_ID)
AIBOT = WeComCrypto(TEST_TOKEN, TEST_AES_KEY, "")


def app_xml(fields: str = "<MsgType>text</MsgType><Content><![CDATA[hi]]></Content>"
                          "<MsgId>1</MsgId>", user: str = "<FromUserName>u1</FromUserName>") -> str:
    return (f"<xml><ToUserName>{TEST_CORP_ID}</ToUserName>{user}<CreateTime>1732500000"
            f"</CreateTime>{fields}<AgentID>218</AgentID></xml>")


def aibot_doc(**over) -> dict:
    d = {"msgid": "M1", "aibotid": "AIB", "chattype": "single", "from": {"userid": "u1"},
         "response_url": "http://127.0.0.1:9/r", "msgtype": "text", "text": {"content": "hi"}}
    d.update(over)
    return d


def sealed(channel: str, plaintext: str) -> tuple[str, bytes]:
    crypto = APP if channel == "app" else AIBOT
    enc, sig = crypto.seal(plaintext, TS, NONCE)
    body = (f"<xml><Encrypt><![CDATA[{enc}]]></Encrypt></xml>".encode() if channel == "app"
            else json.dumps({"encrypt": enc}).encode())
    return f"msg_signature={sig}&timestamp={TS}&nonce={NONCE}", body


def unsigned(body: bytes | str) -> tuple[str, bytes]:
    """Anyone can send these: the signature is checked only after the envelope is read."""
    return f"msg_signature={'a' * 40}&timestamp={TS}&nonce={NONCE}", \
        body.encode() if isinstance(body, str) else body


DEEP = 50_000
SHAPES = {
    # before any signature check (anyone can send these)
    "outer_xml_50000_deep": ("app", lambda: unsigned(
        "<xml>" + "<a>" * DEEP + "</a>" * DEEP + "<Encrypt>x</Encrypt></xml>")),
    "outer_xml_260000_elements": ("app", lambda: unsigned(  # took 51 s to parse, pre-auth
        "<xml>" + "<a/>" * 260_000 + "<Encrypt>x</Encrypt></xml>")),
    "outer_json_100000_deep": ("aibot", lambda: unsigned("[" * 100_000 + "]" * 100_000)),
    "outer_json_deep_encrypt": ("aibot", lambda: unsigned(
        '{"encrypt": ' + "[" * 100_000 + "]" * 100_000 + "}")),
    "outer_json_lone_surrogate": ("aibot", lambda: unsigned(b'{"encrypt": "\\ud800"}')),
    "outer_json_5000_digit_int": ("aibot", lambda: unsigned('{"encrypt": 1' + "0" * 5000 + "}")),
    "outer_json_not_utf8": ("aibot", lambda: unsigned(b'{"encrypt": "\xff\xfe"}')),
    "outer_xml_non_ascii_encrypt": ("app", lambda: unsigned(
        "<xml><Encrypt>密文</Encrypt></xml>")),
    # with valid credentials
    "inner_xml_5000_deep": ("app", lambda: sealed("app", app_xml(
        "<MsgType>text</MsgType>" + "<a>" * 5000 + "</a>" * 5000))),
    "two_from_user_names": ("app", lambda: sealed("app", app_xml(
        user="<FromUserName>u1</FromUserName><FromUserName>u2</FromUserName>"))),
    "no_from_user_name": ("app", lambda: sealed("app", app_xml(user=""))),
    "content_is_an_element": ("app", lambda: sealed("app", app_xml(
        "<MsgType>text</MsgType><Content><b>x</b></Content><MsgId>1</MsgId>"))),
    "two_msgtypes": ("app", lambda: sealed("app", app_xml(
        "<MsgType>text</MsgType><MsgType>image</MsgType><MsgId>1</MsgId>"))),
    "card_event_key_repeated": ("app", lambda: sealed("app", app_xml(
        "<MsgType>event</MsgType><Event>template_card_event</Event>"
        "<EventKey>a</EventKey><EventKey>b</EventKey><TaskId>t</TaskId>"))),
    "task_id_over_128_bytes": ("app", lambda: sealed("app", app_xml(
        "<MsgType>event</MsgType><Event>template_card_event</Event>"
        "<EventKey>dispatch:accept:1</EventKey><TaskId>" + "t" * 129 + "</TaskId>"))),
    "aibot_text_is_a_string": ("aibot", lambda: sealed("aibot", json.dumps(
        aibot_doc(text="str")))),
    "aibot_mixed_item_text_is_a_string": ("aibot", lambda: sealed("aibot", json.dumps(
        aibot_doc(msgtype="mixed", text=None, mixed={"msg_item": [
            {"msgtype": "text", "text": "str"}]})))),
    "aibot_template_card_event_is_a_string": ("aibot", lambda: sealed("aibot", json.dumps(
        aibot_doc(msgtype="event", text=None, event={"eventtype": "template_card_event",
                                                      "template_card_event": "str"})))),
    "aibot_deep_json": ("aibot", lambda: sealed("aibot", json.dumps(aibot_doc())[:-1]
                                                + ', "x": ' + "[" * 100_000 + "]" * 100_000
                                                + "}")),
    "aibot_from_is_a_string": ("aibot", lambda: sealed("aibot", json.dumps(
        aibot_doc(**{"from": "str"})))),
    "aibot_empty_userid": ("aibot", lambda: sealed("aibot", json.dumps(
        aibot_doc(**{"from": {"userid": ""}})))),
    "aibot_userid_with_nul": ("aibot", lambda: sealed("aibot", json.dumps(
        aibot_doc(**{"from": {"userid": "u\u0000"}})))),
    "aibot_nan": ("aibot", lambda: sealed("aibot", json.dumps(aibot_doc(x=float("nan"))))),
    "aibot_float_overflow": ("aibot", lambda: sealed("aibot", json.dumps(aibot_doc())[:-1]
                                                     + ', "x": 1e999}')),
    "aibot_msgid_300_chars": ("aibot", lambda: sealed("aibot", json.dumps(
        aibot_doc(msgid="m" * 300)))),
    "aibot_msgid_is_a_number": ("aibot", lambda: sealed("aibot", json.dumps(
        aibot_doc(msgid=12345)))),
    "aibot_content_lone_surrogate": ("aibot", lambda: sealed("aibot", json.dumps(
        aibot_doc(text={"content": "\ud800"})))),
}


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as s:
        yield s


async def post(stack, http, channel: str, query: str, body: bytes) -> tuple[int, str]:
    path = "/wecom/callback" if channel == "app" else "/wecom/aibot"
    async with http.post(f"{stack.bot.url}{path}?{query}", data=body) as r:
        return r.status, await r.text()


async def test_every_malformed_shape_is_a_4xx_with_a_reason_and_stores_nothing(stack, http,
                                                                              caplog):
    """One bot per database for all the shapes (a bot per shape would take a minute)."""
    problems = []
    for n, shape in enumerate(sorted(SHAPES)):
        channel, make = SHAPES[shape]
        query, body = make()
        caplog.clear()
        with caplog.at_level("WARNING", logger="bot.server"):
            status, _ = await post(stack, http, channel, query, body)
        lines = [r.getMessage() for r in caplog.records if "callback rejected" in r.getMessage()]
        if not 400 <= status < 500:
            problems.append(f"{shape}: HTTP {status}")
        elif len(lines) != 1 or "\n" in lines[0] or "reason=" not in lines[0]:
            problems.append(f"{shape}: logged {lines!r}")
        if len(await stack.inbox()) != n:
            problems.append(f"{shape}: stored")
        # The bot is unharmed: the next genuine message on the same channel is stored.
        if channel == "app":
            query, body = sealed("app", app_xml(
                f"<MsgType>text</MsgType><Content>ok</Content><MsgId>{n + 2}</MsgId>"))
        else:
            query, body = sealed("aibot", json.dumps(aibot_doc(msgid=f"M{n + 2}")))
        if await post(stack, http, channel, query, body) != (200, ""):
            problems.append(f"{shape}: the next genuine message was not acked")
        rows = await stack.inbox()
        if len(rows) != n + 1 or rows[-1].sender != "u1":
            problems.append(f"{shape}: the next genuine message was not stored")
    assert problems == []


async def test_an_absurd_timestamp_is_a_4xx_not_an_overflow(db_url, http):
    from tests.conftest import start_stack

    st_ = await start_stack(db_url, CALLBACK_MAX_SKEW_SECONDS=300)
    try:
        enc, sig = APP.seal(app_xml(), "9" * 400, NONCE)
        body = f"<xml><Encrypt>{enc}</Encrypt></xml>".encode()
        status, _ = await post(st_, http, "app", f"msg_signature={sig}&timestamp={'9' * 400}"
                                                 f"&nonce={NONCE}", body)
        assert status == 400
        assert await st_.inbox() == []
    finally:
        await st_.bot.stop()
        await st_.sandbox.stop()


async def test_a_system_event_without_from_user_name_is_still_taken(stack, http):
    """WeCom's own example of ``kf_msg_or_event`` has no FromUserName (微信客服 接收消息和事件):
    it is the one event taken without one, from the sender ``sys`` (what the sandbox sends)."""
    query, body = sealed("app", app_xml(
        "<MsgType>event</MsgType><Event>kf_msg_or_event</Event><Token>T</Token>"
        "<OpenKfId>wkA</OpenKfId>", user=""))
    assert await post(stack, http, "app", query, body) == (200, "")
    [row] = await stack.inbox()
    assert (row.sender, row.conversation_key, row.type) == ("sys", "kf:wkA", "kf_msg_or_event")


# -- hypothesis: only typed errors, and valid payloads round-trip ------------------------------

FUZZ = settings(max_examples=500, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
FEW = settings(FUZZ, max_examples=150)

# Text as it reaches the parsers: decrypted bytes decoded as strict UTF-8 never hold a lone
# surrogate, so neither do these (arbitrary text, with the XML/JSON metacharacters favoured).
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
META = st.lists(st.sampled_from(list('<>/![]{}"\\:=?-&;#x0 aA\x00\n') + [
    "<![CDATA[", "]]>", "<!--", "-->", "<?", "?>", "<xml>", "</xml>", "<a>", "</a>", "\\u0000",
    "\\ud800", "NaN", "1e999", '"encrypt"']), max_size=40).map("".join)
FIELDS = ["xml", "ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId",
          "AgentID", "Event", "EventKey", "TaskId", "CardType", "ResponseCode", "SelectedItems",
          "SelectedItem", "QuestionKey", "OptionIds", "OptionId", "PicUrl", "MediaId", "Format",
          "Location_X", "Location_Y", "Scale", "Label", "Latitude", "Longitude", "Precision",
          "Token", "OpenKfId", "ChangeType", "UserID", "ExternalUserID", "ChatId", "Title",
          "Description", "Url"]
MSGTYPES = ["text", "image", "voice", "video", "file", "location", "link", "event", "mixed"]
EVENTS = ["template_card_event", "template_card_menu_event", "LOCATION", "kf_msg_or_event",
          "change_external_contact", "change_external_chat", "enter_agent"]


def _cdata(s: str) -> str:
    return "<![CDATA[" + s.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _xml_tree():
    leaf = st.one_of(TEXT.map(_cdata), st.sampled_from(MSGTYPES + EVENTS), st.just(""),
                     TEXT.map(lambda s: s.replace("&", "&amp;").replace("<", "&lt;")))

    def nest(children):
        return st.lists(st.tuples(st.sampled_from(FIELDS), children), max_size=5).map(
            lambda kids: "".join(f"<{t}>{c}</{t}>" for t, c in kids))

    return st.recursive(leaf, nest, max_leaves=25)


@st.composite
def _app_docs(draw):
    """Mostly what WeCom sends, then bent: fields repeated, nested, emptied or added."""
    msgtype = draw(st.sampled_from(MSGTYPES) | _xml_tree())
    fields = [("MsgType", msgtype), ("FromUserName", draw(st.sampled_from(["u1", "", " "])
                                                          | _xml_tree()))]
    if msgtype == "event":
        fields.append(("Event", draw(st.sampled_from(EVENTS) | _xml_tree())))
    fields += draw(st.lists(st.tuples(st.sampled_from(FIELDS), _xml_tree()), max_size=8))
    fields = draw(st.permutations(fields))
    return "<xml>" + "".join(f"<{t}>{c}</{t}>" for t, c in fields) + "</xml>"


XML_DOCS = st.one_of(_xml_tree().map(lambda body: f"<xml>{body}</xml>"), _app_docs())

JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                      TEXT, st.sampled_from(MSGTYPES + EVENTS))
JSON_VALUES = st.recursive(JSON_LEAF, lambda kids: st.one_of(
    st.lists(kids, max_size=4),
    st.dictionaries(st.sampled_from(["msgtype", "text", "content", "image", "url", "mixed",
                                     "msg_item", "event", "eventtype", "template_card_event",
                                     "selected_items", "selected_item", "question_key",
                                     "option_ids", "option_id", "event_key", "task_id",
                                     "card_type", "from", "userid", "chatid", "chattype",
                                     "msgid", "response_url", "aibotid"]) | TEXT, kids,
                    max_size=5)), max_leaves=20)
AIBOT_DOCS = st.fixed_dictionaries(
    {}, optional={k: JSON_VALUES for k in ("msgid", "aibotid", "chattype", "chatid", "from",
                                           "response_url", "text", "image", "mixed", "event")}
    | {"msgtype": st.sampled_from(MSGTYPES) | JSON_VALUES})


def only_payload_errors(fn, arg):
    try:
        return fn(arg)
    except PayloadError as exc:
        assert str(exc) and "\n" not in str(exc)
        return None


@FUZZ
@given(st.one_of(TEXT, META, XML_DOCS))
def test_app_xml_parser_raises_only_payload_errors(text):
    ev = only_payload_errors(event_from_app_xml, text)
    if ev is not None:
        assert isinstance(ev.sender, str) and ev.sender.strip()
        json.dumps(ev.payload, allow_nan=False)  # storable as it is


@FUZZ
@given(st.one_of(TEXT, META, AIBOT_DOCS.map(lambda d: json.dumps(d)),
                 JSON_VALUES.map(lambda d: json.dumps(d))))
def test_aibot_json_parser_raises_only_payload_errors(text):
    ev = only_payload_errors(event_from_aibot_json, text)
    if ev is not None:
        assert isinstance(ev.sender, str) and ev.sender
        assert isinstance(ev.text, str) or ev.text is None
        json.dumps(ev.payload, allow_nan=False)


@FUZZ
@given(st.one_of(st.binary(max_size=200), META.map(str.encode), XML_DOCS.map(str.encode),
                 JSON_VALUES.map(lambda d: json.dumps(d).encode()),
                 TEXT.map(lambda s: json.dumps({"encrypt": s}).encode()),
                 TEXT.map(lambda s: f"<xml><Encrypt>{_cdata(s)}</Encrypt></xml>".encode())))
def test_envelope_extraction_raises_only_payload_errors(body):
    for extract in (encrypt_from_xml, encrypt_from_json):
        enc = only_payload_errors(extract, body)
        if enc is not None:
            assert enc and enc.isascii()
            # What the envelope yields is safe to hand to the signature check.
            with pytest.raises(CryptoError):
                APP.verify_and_decrypt("0" * 40, TS, NONCE, enc)


@FUZZ
@given(st.one_of(TEXT, st.text(string.ascii_letters + string.digits + "+/=", max_size=120),
                 st.binary(max_size=160).map(lambda b: base64.b64encode(b).decode())))
def test_decrypting_garbage_raises_only_crypto_errors(enc):
    for crypto in (APP, AIBOT):
        try:
            crypto.decrypt(enc)
        except CryptoError:
            pass


@FUZZ
@given(st.binary(min_size=1, max_size=300), st.integers(0, 10_000), st.integers(0, 255))
def test_garbled_ciphertext_raises_only_crypto_errors(message, where, flip):
    enc = APP.encrypt(message)
    raw = bytearray(base64.b64decode(enc))
    raw[where % len(raw)] ^= flip or 1
    garbled = base64.b64encode(bytes(raw)).decode()
    try:
        out = APP.decrypt(garbled)
    except CryptoError:
        return
    assert out.receiveid == TEST_CORP_ID  # only what passes every check comes out


@FUZZ
@given(TEXT, TEXT, TEXT, st.binary(max_size=200))
def test_signatures_reject_everything_but_the_right_one(sig, ts, nonce, message):
    enc = APP.encrypt(message)
    good = signature(TEST_TOKEN, ts, nonce, enc)
    assert APP.verify_and_decrypt(good, ts, nonce, enc).message == message
    if sig.lower() != good:
        with pytest.raises(CryptoError):
            APP.verify_and_decrypt(sig, ts, nonce, enc)


# -- valid generated payloads round-trip -------------------------------------------------------

USERID = st.text(string.ascii_letters + string.digits + "_-.@", min_size=1, max_size=64)
CONTENT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
                  max_size=200)
XML_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Cn")),
                   max_size=200)


@FUZZ
@given(USERID, XML_TEXT, st.integers(1, 2**63 - 1))
def test_app_text_messages_round_trip(user, content, msgid):
    xml = (f"<xml><ToUserName>{TEST_CORP_ID}</ToUserName><FromUserName>{_cdata(user)}"
           f"</FromUserName><CreateTime>1732500000</CreateTime><MsgType>text</MsgType>"
           f"<Content>{_cdata(content)}</Content><MsgId>{msgid}</MsgId>"
           f"<AgentID>218</AgentID></xml>")
    ev = event_from_app_xml(xml)
    stripped = content.strip()
    assert (ev.channel, ev.kind, ev.type, ev.sender) == ("app", "message", "text", user)
    assert ev.text == (stripped if stripped else content)
    assert (ev.dedupe_key, ev.conversation_key) == (f"app:msg:{msgid}", f"app:{user}")
    assert ev.payload["agent_id"] == "218" and ev.payload["create_time"] == "1732500000"


@FUZZ
@given(USERID, st.lists(st.tuples(USERID, st.lists(USERID, max_size=3)), max_size=3),
       st.text(string.ascii_letters + ":0123456789", min_size=1, max_size=60))
def test_app_card_clicks_round_trip(user, items, key):
    selected = "".join(
        f"<SelectedItem><QuestionKey>{q}</QuestionKey><OptionIds>"
        + "".join(f"<OptionId>{o}</OptionId>" for o in opts) + "</OptionIds></SelectedItem>"
        for q, opts in items)
    xml = app_xml(f"<MsgType>event</MsgType><Event>template_card_event</Event>"
                  f"<EventKey>{key}</EventKey><TaskId>t-1</TaskId><CardType>button_interaction"
                  f"</CardType><ResponseCode>RC</ResponseCode>"
                  f"<SelectedItems>{selected}</SelectedItems>",
                  user=f"<FromUserName>{user}</FromUserName>")
    ev = event_from_app_xml(xml)
    assert (ev.kind, ev.type, ev.sender) == ("event", "template_card_event", user)
    assert ev.card == {"event_key": key, "task_id": "t-1", "card_type": "button_interaction",
                       "response_code": "RC", "selected_items": [
                           {"question_key": q, "option_ids": opts} for q, opts in items]}


@FUZZ
@given(USERID, CONTENT, st.text(string.ascii_letters + string.digits, min_size=1, max_size=60),
       st.one_of(st.none(), st.text(string.ascii_letters + string.digits, min_size=1,
                                    max_size=60)))
def test_aibot_text_messages_round_trip(user, content, msgid, chatid):
    doc = {"msgid": msgid, "aibotid": "AIB", "chattype": "group" if chatid else "single",
           "from": {"userid": user}, "response_url": "http://r", "msgtype": "text",
           "text": {"content": content}, "unknown_extra": {"kept": [1, 2]}}
    if chatid:
        doc["chatid"] = chatid
    ev = event_from_aibot_json(json.dumps(doc, ensure_ascii=False))
    assert (ev.channel, ev.kind, ev.type, ev.sender, ev.text) == (
        "aibot", "message", "text", user, content)
    assert ev.conversation_key == (f"aibot:g:{chatid}" if chatid else f"aibot:u:{user}")
    assert ev.dedupe_key == f"aibot:msg:{msgid}" and ev.payload["raw"] == doc
    assert (ev.payload["chat_type"], ev.payload["chat_id"], ev.payload["response_url"],
            ev.payload["aibot_id"]) == (doc["chattype"], chatid or "", "http://r", "AIB")


@FUZZ
@given(USERID, st.lists(st.one_of(CONTENT.map(lambda c: ("text", c)),
                                  USERID.map(lambda u: ("image", "http://img/" + u))),
                        max_size=5))
def test_aibot_mixed_messages_round_trip(user, items):
    doc = aibot_doc(msgtype="mixed", text=None, **{"from": {"userid": user}}, mixed={
        "msg_item": [{"msgtype": k, k: {"content" if k == "text" else "url": v}}
                     for k, v in items]})
    ev = event_from_aibot_json(json.dumps(doc))
    assert ev.text == "\n".join(v for k, v in items if k == "text")
    assert ev.payload["images"] == [v for k, v in items if k == "image"]


# -- the depth scans agree with the real depth -------------------------------------------------


def _json_depth(v) -> int:
    if isinstance(v, dict):
        return 1 + max((_json_depth(x) for x in v.values()), default=0)
    if isinstance(v, list):
        return 1 + max((_json_depth(x) for x in v), default=0)
    return 0


@FEW
@given(JSON_VALUES | st.just("[{\\\"}]"), st.integers(0, 2 * MAX_JSON_DEPTH), st.randoms())
def test_json_depth_scan_matches_the_real_depth(value, wrap, rnd):
    for _ in range(wrap):  # brackets, quotes and backslashes inside keys must not count
        value = [value] if rnd.random() < 0.5 else {'k"[{\\': value, "]}": "[{"}
    text = json.dumps(value)
    if _json_depth(value) > MAX_JSON_DEPTH:
        with pytest.raises(PayloadError):
            check_json_depth(text)
    else:
        check_json_depth(text)


@FEW
@given(st.integers(1, 3 * MAX_XML_DEPTH), st.sampled_from(["<a>", "<a x='1'>"]),
       st.sampled_from(["", "<![CDATA[<b><c>]]>", "<!-- <b> -->", "<e/>", "&lt;b&gt;"]))
def test_xml_depth_scan_matches_the_real_depth(depth, tag, filler):
    doc = "<xml>" + (tag + filler) * (depth - 1) + "</a>" * (depth - 1) + "</xml>"
    real = depth + (filler == "<e/>" and depth > 1)  # <e/> in the innermost <a> is one deeper
    if real > MAX_XML_DEPTH:
        with pytest.raises(PayloadError):
            check_xml_depth(doc)
    else:
        check_xml_depth(doc)
        check_xml_depth(doc.encode())
        parse_xml(doc)  # the parser's own bound agrees
