"""The sandbox page does not mislead (issue 11, item 8): every chat a person sees is on their
persona's page, a click shows the button's label, every seeded person has a persona, the group
persona shows the one mention it sends, the examples name the sandbox's own stores, and there is
a favicon. Through the page's real HTTP API, with a stand-in bot that records what it gets."""

from __future__ import annotations

import json
import re
from xml.etree import ElementTree

import aiohttp
import pytest
import yaml
from aiohttp import web

from bot.sandbox.personas import SANDBOX_CONFIG, load_personas
from bot.sandbox.server import Sandbox
from tests.conftest import TEST_AES_KEY, TEST_CORP_ID, TEST_SECRET, TEST_TOKEN

GROUP, ROBOT_KEY = "wrSTORE3group", "sandbox-store3-robot"  # config/sandbox/groups.yaml
OFFER = {"card_type": "button_interaction", "task_id": "offer-7",
         "main_title": {"title": "新派单：咖啡机坏了"},
         "button_list": [{"text": "接单", "style": 1, "key": "dispatch:accept:7"},
                         {"text": "拒单", "style": 3, "key": "dispatch:decline:7"}]}


class Env:
    def __init__(self, sandbox: Sandbox, http: aiohttp.ClientSession, received: list[dict]):
        self.sb, self.http, self.received = sandbox, http, received
        self.url = sandbox.base_url

    async def token(self) -> str:
        async with self.http.get(f"{self.url}/cgi-bin/gettoken",
                                 params={"corpid": TEST_CORP_ID, "corpsecret": TEST_SECRET}) as r:
            return (await r.json())["access_token"]

    async def app_send(self, user: str, body: dict) -> dict:
        """The bot sends through the app (message/send), as the real client does."""
        async with self.http.post(f"{self.url}/cgi-bin/message/send",
                                  params={"access_token": await self.token()},
                                  json={"touser": user, "agentid": 218, **body}) as r:
            return await r.json()

    async def robot_posts(self, text: str, key: str = ROBOT_KEY) -> None:
        async with self.http.post(f"{self.url}/cgi-bin/webhook/send", params={"key": key},
                                  json={"msgtype": "text", "text": {"content": text}}) as r:
            assert (await r.json())["errcode"] == 0

    async def lines(self, persona: str) -> dict:
        async with self.http.get(f"{self.url}/sandbox/api/lines",
                                 params={"persona": persona}) as r:
            assert r.status == 200
            return await r.json()

    async def post(self, path: str, body: dict) -> tuple[int, dict]:
        async with self.http.post(f"{self.url}/sandbox/api/{path}", json=body) as r:
            return r.status, await r.json()


@pytest.fixture
async def env():
    """A sandbox whose callbacks go to a stand-in bot that decrypts and records them."""
    received: list[dict] = []
    sandbox = Sandbox(corp_id=TEST_CORP_ID, agent_id=218, secret=TEST_SECRET,
                      app_token=TEST_TOKEN, app_aes_key=TEST_AES_KEY, aibot_token=TEST_TOKEN,
                      aibot_aes_key=TEST_AES_KEY)

    async def app_cb(request: web.Request) -> web.Response:
        enc = ElementTree.fromstring(await request.text()).findtext("Encrypt")
        xml = ElementTree.fromstring(sandbox.app_crypto.decrypt(enc).text)
        received.append({"channel": "app", **{e.tag: e.text for e in xml}})
        return web.Response(text="")

    async def aibot_cb(request: web.Request) -> web.Response:
        enc = (await request.json())["encrypt"]
        received.append({"channel": "aibot",
                         **json.loads(sandbox.aibot_crypto.decrypt(enc).text)})
        return web.Response(text="")

    app = web.Application()
    app.router.add_post("/wecom/callback", app_cb)
    app.router.add_post("/wecom/aibot", aibot_cb)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    sandbox.bot_url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    await sandbox.start()
    async with aiohttp.ClientSession() as http:
        yield Env(sandbox, http, received)
    await sandbox.stop()
    await runner.cleanup()


# -- personas -----------------------------------------------------------------------------------


def test_every_seeded_person_has_a_persona_and_the_old_ids_still_work():
    staff = yaml.safe_load((SANDBOX_CONFIG / "staff.yaml").read_text(encoding="utf-8"))
    personas = load_personas()
    by_user = {p.userid: p for p in personas if p.channel == "app"}
    for person in staff:  # 赵师傅 and 孙师傅 receive work: they are on the page too
        assert person["userid"] in by_user, person["name"]
        assert by_user[person["userid"]].name.startswith(person["name"] + "（")
    assert by_user["zhaoshifu"].id == "app_zhaoshifu" and by_user["sunshifu"].role == "technician"
    assert "杭州市" in by_user["sunshifu"].detail and "310000" not in by_user["lishifu"].detail
    assert by_user["qiankuaiji"].role == "finance"
    ids = [p.id for p in personas]
    assert len(ids) == len(set(ids))
    for old in ("kf_chen", "bot_liu", "grp_zhang", "app_zhang", "app_li", "app_wangshifu",
                "app_zhou", "app_wang"):
        assert old in ids
    grp = next(p for p in personas if p.id == "grp_zhang")
    assert (grp.chat_id, grp.webhook_key) == (GROUP, ROBOT_KEY)


def test_personas_are_read_from_the_files_not_a_list(tmp_path):
    for name in ("groups.yaml", "sites.yaml"):
        (tmp_path / name).write_text((SANDBOX_CONFIG / name).read_text(encoding="utf-8"),
                                     encoding="utf-8")
    (tmp_path / "staff.yaml").write_text(
        "- {userid: wushifu, name: 吴师傅, roles: [technician], skills: {coffee: 2},"
        " regions: ['310101']}\n", encoding="utf-8")
    people = {p.id: p for p in load_personas(tmp_path)}
    assert people["app_wushifu"].name == "吴师傅（技术员）"
    assert "黄浦区" in people["app_wushifu"].detail
    assert "app_li" not in people  # nobody is on the page who is not in the file


async def test_examples_use_the_sandboxs_own_stores_and_the_page_has_a_favicon(env):
    stores = [s["name"] for s in yaml.safe_load(
        (SANDBOX_CONFIG / "sites.yaml").read_text(encoding="utf-8"))]
    async with env.http.get(f"{env.url}/sandbox/api/personas") as r:
        personas = await r.json()
    reports = [p for p in personas if p["role"] in ("customer", "store")]
    assert reports and all(any(s in p["example"] for s in stores) for p in reports)
    async with env.http.get(f"{env.url}/") as r:
        html = await r.text()
    assert "3号店" not in html and "3号店" not in json.dumps(personas, ensure_ascii=False)
    assert 'rel="icon"' in html
    for path in ("/favicon.ico", "/favicon.svg"):
        async with env.http.get(env.url + path) as r:
            assert r.status == 200 and r.content_type == "image/svg+xml"
            assert "<svg" in await r.text()


# -- every chat on the persona's page -----------------------------------------------------------


async def test_ai_bot_customer_sees_the_bot_chat_and_the_app_chat(env):
    await env.post("say", {"persona": "bot_liu", "text": "家里冰箱不制冷"})
    await env.app_send("liuxiansheng", {"msgtype": "text",
                                        "text": {"content": "工单 GD1：李师傅已接单"}})
    await env.app_send("zhangsan", {"msgtype": "text", "text": {"content": "别人的消息"}})
    data = await env.lines("bot_liu")
    assert data["conversation"] == "aibot:u:liuxiansheng"  # where they write, as before
    assert [c["id"] for c in data["chats"]] == ["aibot:u:liuxiansheng", "app:liuxiansheng"]
    got = [(ln["sender"], ln["content"], ln["chat"], ln["chat_kind"], ln["chat_label"])
           for ln in data["lines"]]
    assert got == [
        ("liuxiansheng", "家里冰箱不制冷", "aibot:u:liuxiansheng", "aibot", "智能机器人单聊"),
        ("bot", "工单 GD1：李师傅已接单", "app:liuxiansheng", "app", "「工单助手」应用")]


async def test_group_member_sees_the_group_the_robots_posts_and_the_app(env):
    await env.post("say", {"persona": "grp_zhang", "text": "POS机死机了"})
    await env.robot_posts("工单 GD2：李师傅已出发")
    await env.app_send("zhangsan", {"msgtype": "template_card", "template_card": OFFER})
    await env.robot_posts("别的群", key="other-robot")  # another group's robot: not this page
    lines = (await env.lines("grp_zhang"))["lines"]
    assert [(ln["chat_kind"], ln["chat_label"]) for ln in lines] == [
        ("aibot", "人民广场店门店群"), ("webhook", "人民广场店门店群 · 群机器人"),
        ("app", "「工单助手」应用")]
    assert lines[1]["content"] == "工单 GD2：李师傅已出发"  # the text, not {"content": …}
    assert lines[2]["kind"] == "card" and lines[2]["clickable"] is True


async def test_app_and_kf_personas_see_their_own_chat_only(env):
    await env.app_send("lishifu", {"msgtype": "text", "text": {"content": "新派单"}})
    await env.app_send("zhaoshifu", {"msgtype": "text", "text": {"content": "给赵师傅"}})
    await env.post("say", {"persona": "kf_chen", "text": "洗衣机不转了"})
    li = (await env.lines("app_li"))["lines"]
    assert [(ln["content"], ln["chat"], ln["chat_kind"]) for ln in li] == [
        ("新派单", "app:lishifu", "app")]
    assert [ln["content"] for ln in (await env.lines("app_zhaoshifu"))["lines"]] == ["给赵师傅"]
    kf = (await env.lines("kf_chen"))["lines"]
    assert [(ln["sender"], ln["content"], ln["chat_kind"], ln["chat_label"]) for ln in kf] == [
        ("wmCHENnvshi0001", "洗衣机不转了", "kf", "微信客服")]


async def test_an_ai_bot_customer_can_write_in_the_app_chat_too(env):
    status, _ = await env.post("say", {"persona": "bot_liu", "text": "确认账单",
                                       "chat": "app:liuxiansheng"})
    assert status == 200
    assert env.received[-1]["channel"] == "app"
    assert env.received[-1]["FromUserName"] == "liuxiansheng"
    status, _ = await env.post("say", {"persona": "grp_zhang", "text": "x",
                                       "chat": "webhook:" + ROBOT_KEY})
    assert status == 400  # nobody writes as the group's robot


# -- clicks -------------------------------------------------------------------------------------


async def test_a_click_shows_the_buttons_label_and_sends_its_key(env):
    sent = await env.app_send("lishifu", {"msgtype": "template_card", "template_card": OFFER})
    assert sent["errcode"] == 0
    status, rec = await env.post("click", {"persona": "app_li", "task_id": "offer-7",
                                           "key": "dispatch:accept:7"})
    assert status == 200 and rec["acked"] is True
    event = env.received[-1]
    assert (event["Event"], event["EventKey"], event["TaskId"]) == (
        "template_card_event", "dispatch:accept:7", "offer-7")
    lines = (await env.lines("app_li"))["lines"]
    assert lines[-1]["kind"] == "event" and lines[-1]["content"] == "点击了「接单」"
    assert not any("dispatch:" in str(ln["content"]) for ln in lines if ln["kind"] != "card")


async def test_cards_in_the_app_chat_of_an_ai_bot_customer_can_be_clicked(env):
    await env.app_send("liuxiansheng", {"msgtype": "template_card", "template_card": {
        **OFFER, "task_id": "stmt-1",
        "button_list": [{"text": "确认账单", "style": 1, "key": "settle:confirm:1"}]}})
    card = next(ln for ln in (await env.lines("bot_liu"))["lines"] if ln["kind"] == "card")
    assert card["clickable"] is True and card["chat_kind"] == "app"
    status, _ = await env.post("click", {"persona": "bot_liu", "task_id": "stmt-1",
                                         "key": "settle:confirm:1"})
    assert status == 200
    assert (env.received[-1]["channel"], env.received[-1]["FromUserName"]) == (
        "app", "liuxiansheng")  # a click always comes through the app
    assert (await env.lines("bot_liu"))["lines"][-1]["content"] == "点击了「确认账单」"
    # Nobody clicks someone else's card, and a 微信客服 customer has no app.
    assert (await env.post("click", {"persona": "app_li", "task_id": "stmt-1",
                                     "key": "settle:confirm:1"}))[0] == 400
    assert (await env.post("click", {"persona": "kf_chen", "task_id": "stmt-1",
                                     "key": "settle:confirm:1"}))[0] == 400


async def test_an_unknown_button_is_not_shown_by_its_key(env):
    await env.sb.click("lishifu", "intake-x", "intake:explode:1")
    line = env.sb.state.lines[-1]
    assert line.content == "点击了卡片按钮" and "intake:" not in line.content


# -- the group's mention ------------------------------------------------------------------------


@pytest.mark.parametrize("typed,shown", [
    ("人民广场店咖啡机坏了", "@工单助手 人民广场店咖啡机坏了"),
    ("@工单助手 确认", "@工单助手 确认"),  # typed by the person: not a second one
    ("确认 @工单助手", "确认 @工单助手"),
])
async def test_the_group_persona_shows_the_one_mention_it_sends(env, typed, shown):
    status, _ = await env.post("say", {"persona": "grp_zhang", "text": typed})
    assert status == 200
    line = (await env.lines("grp_zhang"))["lines"][-1]
    assert (line["sender"], line["content"], line["chat"]) == ("zhangsan", shown,
                                                               f"aibot:g:{GROUP}")
    sent = env.received[-1]
    assert sent["chattype"] == "group" and sent["text"]["content"] == shown
    assert len(re.findall("@工单助手", sent["text"]["content"])) == 1

