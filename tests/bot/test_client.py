"""The async API client against the sandbox: tokens, retries, typed errors, every method."""

from __future__ import annotations

import asyncio

import pytest

from bot.client import (AppCredentials, WeComBusy, WeComClient, WeComError,
                        WeComInvalidRecipients, WeComPermissionError, WeComRateLimited,
                        WeComResponseCodeError, WeComTransportError)
from bot.sandbox.server import Sandbox
from scheduler.clock import ManualClock
from tests.conftest import TEST_AES_KEY, TEST_CORP_ID, TEST_SECRET, TEST_TOKEN, no_sleep


@pytest.fixture
async def env():
    clock = ManualClock()
    sb = Sandbox(corp_id=TEST_CORP_ID, agent_id=218, secret=TEST_SECRET, app_token=TEST_TOKEN,
                 app_aes_key=TEST_AES_KEY, clock=clock)
    base = await sb.start()
    sleeps: list[float] = []

    async def sleep(s):
        sleeps.append(s)

    client = WeComClient(base, {"app": AppCredentials(TEST_CORP_ID, TEST_SECRET)}, clock=clock,
                         sleep=sleep, timeout=0.5)
    yield sb, client, clock, sleeps
    await client.close()
    await sb.stop()


def text_to(user: str, content: str) -> dict:
    """A message/send body: a text for one member."""
    return {"touser": user, "agentid": 218, "msgtype": "text", "text": {"content": content}}


async def test_token_is_cached_and_fetched_once_under_concurrency(env):
    sb, client, _, _ = env
    await asyncio.gather(*(client.perform("message/send", text_to("lishifu", f"m{i}")) for i in range(10)))
    assert len(sb.calls("gettoken")) == 1
    assert len(sb.calls("message/send")) == 10


async def test_expired_token_is_refreshed_before_use(env):
    sb, client, clock, _ = env
    await client.perform("message/send", text_to("lishifu", "one"))
    clock.advance(seconds=7200)
    await client.perform("message/send", text_to("lishifu", "two"))
    assert len(sb.calls("gettoken")) == 2
    assert [c["errcode"] for c in sb.calls("message/send")] == [0, 0]


async def test_token_expired_early_by_wecom_is_refreshed_and_retried_once(env):
    sb, client, _, _ = env
    await client.perform("message/send", text_to("lishifu", "one"))
    sb.expire_tokens()
    await client.perform("message/send", text_to("lishifu", "two"))
    assert [c["errcode"] for c in sb.calls("message/send")] == [0, 42001, 0]
    assert len(sb.calls("gettoken")) == 2


async def test_busy_is_retried_with_backoff_then_succeeds(env):
    sb, client, _, sleeps = env
    sb.fail("message/send", errcode=-1, times=2)
    await client.perform("message/send", text_to("lishifu", "hello"))
    assert sleeps == [0.5, 1.0]
    assert [ln.content for ln in sb.delivered("app:lishifu")] == ["hello"]


@pytest.mark.parametrize("errcode,exc", [(-1, WeComBusy), (45009, WeComRateLimited)])
async def test_retries_are_bounded(env, errcode, exc):
    sb, client, _, sleeps = env
    sb.fail("message/send", errcode=errcode, times=10)
    with pytest.raises(exc) as info:
        await client.perform("message/send", text_to("lishifu", "hello"))
    assert info.value.errcode == errcode and info.value.retryable
    assert len(sleeps) == 3  # 4 attempts in all


async def test_http_5xx_and_timeouts_are_retried(env):
    sb, client, _, sleeps = env
    sb.fail("message/send", http_status=502)
    sb.fail("message/send", delay=1.0)  # longer than the client's 0.5 s timeout
    await client.perform("message/send", text_to("lishifu", "hello"))
    assert len(sleeps) == 2
    assert [ln.content for ln in sb.delivered("app:lishifu")] == ["hello"]


async def test_persistent_timeouts_raise_a_transport_error(env):
    sb, client, _, _ = env
    sb.fail("message/send", delay=1.0, times=4)
    with pytest.raises(WeComTransportError):
        await client.perform("message/send", text_to("lishifu", "hello"))


@pytest.mark.parametrize("errcode,exc", [(48002, WeComPermissionError),
                                         (60011, WeComPermissionError),
                                         (81013, WeComInvalidRecipients), (40003, WeComError)])
async def test_other_errors_are_typed_and_not_retried(env, errcode, exc):
    sb, client, _, sleeps = env
    sb.fail("message/send", errcode=errcode)
    with pytest.raises(exc) as info:
        await client.perform("message/send", text_to("lishifu", "hello"))
    assert info.value.errcode == errcode and not info.value.retryable
    assert sleeps == []


async def test_template_card_response_code_works_once(env):
    sb, client, _, _ = env
    card = {"card_type": "button_interaction", "task_id": "t1", "main_title": {"title": "新工单"},
            "button_list": [{"text": "接单", "key": "dispatch:accept:1"}]}
    res = await client.perform("message/send", {"touser": "lishifu", "agentid": 218, "msgtype": "template_card", "template_card": card})
    code = res["response_code"]
    await client.perform("message/update_template_card", {"userids": ["lishifu"], "agentid": 218,
                                       "response_code": code,
                                       "button": {"replace_name": "已接单"}})
    assert sb.state.cards["t1"]["replaced"] == "已接单"
    with pytest.raises(WeComResponseCodeError):
        await client.perform("message/update_template_card", {"userids": ["lishifu"], "agentid": 218,
                                           "response_code": code,
                                           "button": {"replace_name": "again"}})


async def test_response_code_expires_after_72_hours(env):
    sb, client, clock, _ = env
    card = {"card_type": "button_interaction", "task_id": "t2", "main_title": {"title": "x"},
            "button_list": [{"text": "接单", "key": "k"}]}
    code = (await client.perform("message/send", {"touser": "lishifu", "agentid": 218, "msgtype": "template_card", "template_card": card}))["response_code"]
    clock.advance(hours=72, seconds=1)
    with pytest.raises(WeComResponseCodeError):
        await client.perform("message/update_template_card", {"response_code": code, "agentid": 218,
                                           "button": {"replace_name": "late"}})


async def test_appchat_kf_externalcontact_webhook(env):
    sb, client, _, _ = env
    chatid = (await client.call("appchat/create", {"name": "3号店维修群", "owner": "wangjingli",
                                                     "userlist": ["wangjingli", "lishifu"]}))["chatid"]
    await client.perform("appchat/send", {"chatid": chatid, "msgtype": "text",
                                          "text": {"content": "通知"}})
    assert [ln.content for ln in sb.delivered(f"appchat:{chatid}")] == ["通知"]
    sb.state.kf_msgs.append({"msgid": "k1", "open_kfid": "wk1", "external_userid": "wmC",
                             "origin": 3, "msgtype": "text", "text": {"content": "你好"}})
    sb.kf_customer_wrote("wmC")
    page = await client.kf_sync_msg("tok", "wk1")
    assert [m["msgid"] for m in page["msg_list"]] == ["k1"] and page["has_more"] == 0
    assert (await client.kf_sync_msg("tok", "wk1", page["next_cursor"]))["msg_list"] == []
    await client.perform("kf/send_msg", {"touser": "wmC", "open_kfid": "wk1", "msgtype": "text",
                              "text": {"content": "您好"}})
    assert [ln.content for ln in sb.delivered("kf:wmC")] == ["您好"]
    # WeCom allows 5 messages per customer message (within 48 h): the sixth is refused.
    for i in range(4):
        await client.perform("kf/send_msg", {"touser": "wmC", "open_kfid": "wk1", "msgtype": "text",
                                  "text": {"content": f"m{i}"}})
    with pytest.raises(WeComError) as info:
        await client.perform("kf/send_msg", {"touser": "wmC", "open_kfid": "wk1", "msgtype": "text",
                                  "text": {"content": "one too many"}})
    assert info.value.errcode == 40193 and len(sb.delivered("kf:wmC")) == 5
    got = await client.call("externalcontact/get", method="GET",
                            params={"external_userid": "wmC"})
    assert got["external_contact"]["external_userid"] == "wmC"
    await client.perform("webhook", {"key": "robot-key",
                                     "body": {"msgtype": "text", "text": {"content": "群通知"}}})
    assert len(sb.delivered("webhook:robot-key")) == 1
    # The robot key never appears in what the sandbox recorded.
    assert all("robot-key" not in str(c["params"]) for c in sb.calls("webhook"))


async def test_response_url_works_once(env):
    sb, client, _, _ = env
    sb.state.response_urls["r1"] = {"conversation": "aibot:u:liu", "created": sb.clock.now(),
                                    "used": False}
    url = f"{sb.base_url}/aibot/response/r1"
    await client.perform("response_url", {"url": url, "body": {
        "msgtype": "markdown", "markdown": {"content": "好的"}}})
    with pytest.raises(WeComError):
        await client.perform("response_url", {"url": url, "body": {
            "msgtype": "markdown", "markdown": {"content": "again"}}})
    assert [ln.content for ln in sb.delivered("aibot:u:liu")] == ["好的"]
