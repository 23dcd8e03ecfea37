"""The callback routes over real HTTP, with real encryption, on SQLite and PostgreSQL."""

from __future__ import annotations

import io

import aiohttp
import pytest

from bot.crypto import WeComCrypto
from tests.conftest import TEST_AES_KEY, TEST_CORP_ID, TEST_TOKEN, vector


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as s:
        yield s


def qs(v: dict) -> str:
    return f"msg_signature={v['msg_signature']}&timestamp={v['timestamp']}&nonce={v['nonce']}"


async def test_vector_a_url_verification_answers_bare_plaintext(stack, http):
    v = vector("A_official_url_verify_QDG6eK")
    url = f"{stack.bot.url}/wecom/callback?{qs(v)}&echostr={v['echostr_urlencoded_in_query']}"
    async with http.get(url) as r:
        assert r.status == 200
        assert await r.read() == v["expected_decryption"]["msg"].encode()  # no quotes/BOM/newline


async def test_url_verification_with_plus_in_echostr_not_decoded_as_space(stack, http):
    """``+`` in the raw query must stay ``+`` (vector A's echostr has one, unencoded here)."""
    v = vector("A_official_url_verify_QDG6eK")
    raw = v["echostr"].replace("/", "%2F").replace("=", "%3D")  # '+' left as is
    assert "+" in raw
    async with http.get(f"{stack.bot.url}/wecom/callback?{qs(v)}&echostr={raw}") as r:
        assert r.status == 200 and await r.text() == v["expected_decryption"]["msg"]


async def test_vector_f_aibot_url_verification(stack, http):
    v = vector("F_derived_aibot_url_verify_empty_receiveid")
    from urllib.parse import quote

    url = f"{stack.bot.url}/wecom/aibot?{qs(v)}&echostr={quote(v['echostr'], safe='')}"
    async with http.get(url) as r:
        assert r.status == 200 and await r.text() == "1616140317555161061"


async def test_vector_b_post_is_stored_and_acked_empty(stack, http):
    v = vector("B_official_post_xml_QDG6eK")
    async with http.post(f"{stack.bot.url}/wecom/callback?{qs(v)}", data=v["post_body"]) as r:
        assert r.status == 200
        assert await r.read() == b""
    [row] = await stack.inbox()
    assert (row.channel, row.kind, row.type, row.sender) == ("app", "message", "text", "mycreate")
    assert row.dedupe_key == "app:msg:4561255354251345929"
    assert row.payload["text"] == "hello" and row.status == "pending"


async def test_vector_f_aibot_post_is_stored(stack, http):
    v = vector("F_derived_aibot_json_empty_receiveid")
    async with http.post(f"{stack.bot.url}/wecom/aibot?{qs(v)}", data=v["post_body"]) as r:
        assert r.status == 200 and await r.read() == b""
    [row] = await stack.inbox()
    assert (row.channel, row.conversation_key) == ("aibot", "aibot:g:CHATID")
    assert row.payload["text"] == "@RobotA hello robot"
    assert row.payload["response_url"] == "RESPONSEURL"


async def test_four_deliveries_of_one_message_store_one_row(stack, http):
    v = vector("B_official_post_xml_QDG6eK")
    for _ in range(4):
        async with http.post(f"{stack.bot.url}/wecom/callback?{qs(v)}", data=v["post_body"]) as r:
            assert r.status == 200
    assert len(await stack.inbox()) == 1
    assert stack.bot.metrics.callbacks.labels("app", "duplicate")._value.get() == 3


async def test_same_event_twice_stored_once_different_events_twice(stack):
    s = stack.sandbox
    await s.member_event("lishifu", "enter_agent")
    await s.member_event("lishifu", "enter_agent")  # identical payload (same second): a retry
    await s.member_event("lishifu", "LOCATION", "<Latitude>31.2</Latitude><Longitude>121.4"
                         "</Longitude><Precision>10</Precision>")
    assert [r.type for r in await stack.inbox()] == ["enter_agent", "LOCATION"]


def sealed_post(body_plain: str, *, token=TEST_TOKEN, key=TEST_AES_KEY, receiveid=TEST_CORP_ID,
                ts="1409659813", nonce="99"):
    c = WeComCrypto(token, key, receiveid)
    enc, sig = c.seal(body_plain, ts, nonce)
    return f"msg_signature={sig}&timestamp={ts}&nonce={nonce}", \
        f"<xml><Encrypt><![CDATA[{enc}]]></Encrypt></xml>"


TEXT = ("<xml><ToUserName>x</ToUserName><FromUserName>u1</FromUserName><CreateTime>1</CreateTime>"
        "<MsgType>text</MsgType><Content>hi</Content><MsgId>77</MsgId></xml>")


@pytest.mark.parametrize("case,status", [
    ("forged_signature", 403),
    ("wrong_receiveid", 403),
    ("wrong_token", 403),
    ("malformed_outer", 400),
    ("dtd_outer", 400),
    ("dtd_inner", 400),
    ("not_xml_inner", 400),
    ("missing_params", 400),
    ("oversized", 413),
    ("garbage_ciphertext", 400),
])
async def test_hostile_posts_get_4xx_and_store_nothing(stack, http, case, status, caplog):
    q, body = sealed_post(TEXT)
    if case == "forged_signature":
        q = q.replace(q.split("&")[0], "msg_signature=" + "a" * 40)
    elif case == "wrong_receiveid":
        q, body = sealed_post(TEXT, receiveid="ww-not-us")
    elif case == "wrong_token":
        q, body = sealed_post(TEXT, token="other-token")
    elif case == "malformed_outer":
        body = "<xml><Encrypt>abc</Encrypt>"
    elif case == "dtd_outer":
        body = '<!DOCTYPE x [<!ENTITY e "E">]><xml><Encrypt>&e;</Encrypt></xml>'
    elif case == "dtd_inner":
        q, body = sealed_post('<!DOCTYPE x [<!ENTITY e "E">]><xml><MsgType>&e;</MsgType></xml>')
    elif case == "not_xml_inner":
        q, body = sealed_post("hello, not xml")
    elif case == "missing_params":
        q = "timestamp=1"
    elif case == "oversized":
        body = "<xml><Encrypt>" + "A" * (1024 * 1024 + 10) + "</Encrypt></xml>"
    elif case == "garbage_ciphertext":
        c = WeComCrypto(TEST_TOKEN, TEST_AES_KEY, TEST_CORP_ID)
        from bot.crypto import signature

        sig = signature(TEST_TOKEN, "1", "2", "QUJD")
        q, body = f"msg_signature={sig}&timestamp=1&nonce=2", "<xml><Encrypt>QUJD</Encrypt></xml>"
    with caplog.at_level("WARNING", logger="bot.server"):
        data = io.BytesIO(body.encode()) if case == "oversized" else body
        async with http.post(f"{stack.bot.url}/wecom/callback?{q}", data=data) as r:
            assert r.status == status
    assert await stack.inbox() == []
    assert len([rec for rec in caplog.records if "callback rejected" in rec.getMessage()]) == 1
    # The process is unharmed: a genuine message right after is stored.
    q, body = sealed_post(TEXT)
    async with http.post(f"{stack.bot.url}/wecom/callback?{q}", data=body) as r:
        assert r.status == 200
    assert len(await stack.inbox()) == 1


async def test_freshness_window_rejects_stale_timestamps(db_url, http):
    from tests.conftest import start_stack

    st = await start_stack(db_url, CALLBACK_MAX_SKEW_SECONDS=300)
    try:
        now = int(st.clock.now().timestamp())
        q, body = sealed_post(TEXT, ts=str(now - 301))
        async with http.post(f"{st.bot.url}/wecom/callback?{q}", data=body) as r:
            assert r.status == 403
        q, body = sealed_post(TEXT, ts=str(now - 5))
        async with http.post(f"{st.bot.url}/wecom/callback?{q}", data=body) as r:
            assert r.status == 200
        assert len(await st.inbox()) == 1
    finally:
        await st.bot.stop()
        await st.sandbox.stop()


async def test_unconfigured_aibot_endpoint_is_404(db_url, http):
    from tests.conftest import start_stack

    st = await start_stack(db_url, AIBOT_TOKEN="", AIBOT_AES_KEY="")
    try:
        v = vector("F_derived_aibot_json_empty_receiveid")
        async with http.post(f"{st.bot.url}/wecom/aibot?{qs(v)}", data=v["post_body"]) as r:
            assert r.status == 404
    finally:
        await st.bot.stop()
        await st.sandbox.stop()


async def test_a_parser_bug_is_still_a_4xx_with_where_it_happened(stack, http, caplog):
    """Whatever a payload does to the code, the sender gets a 4xx, never a 500."""
    def boom(plaintext: str):
        return {}["no such key"]

    stack.bot.server.channels["app"].parse = boom
    q, body = sealed_post(TEXT)
    with caplog.at_level("WARNING", logger="bot.server"):
        async with http.post(f"{stack.bot.url}/wecom/callback?{q}", data=body) as r:
            assert (r.status, await r.text()) == (400, "unreadable payload")  # no internals
    [line] = [rec.getMessage() for rec in caplog.records
              if "callback rejected" in rec.getMessage()]
    assert "unreadable payload (KeyError at test_callbacks.py:" in line
    assert await stack.inbox() == []
