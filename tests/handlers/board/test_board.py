"""The board over HTTP (the browser test drives the same page in Chromium): sign-in through the
sandbox's web OAuth, what each person sees, the SLA lights moving with the injected clock, the
map's bubbles, a ticket's page, and 指派 reaching the technician in chat."""

from __future__ import annotations

import json
from datetime import timedelta

import aiohttp
import pytest

from handlers.staff.fileformat import import_staff, read_staff_file
from handlers.staff.seed import seed_sandbox
from models.sla import SlaClock
from models.tickets import Staff
from tests.conftest import start_stack
from tests.handlers.board.conftest import ALL, make_key

MANAGERS = """
- {userid: shmgr, name: 上海经理, roles: [manager], regions: ["310000"]}
- {userid: hzmgr, name: 杭州经理, roles: [manager], regions: ["330100"]}
"""
SHANGHAI = {"category": "repair", "description": "咖啡机不出水，电话13800138000", "phone": "13800138000",
            "address": "上海市黄浦区南京东路1号", "device": "咖啡机"}
HANGZHOU = {"category": "repair", "description": "冰箱不制冷", "phone": "13800138001",
            "address": "浙江省杭州市西湖区文三路1号", "device": "冰箱"}


async def board_world(db_url, tmp_path, **stack_kw):
    stack = await start_stack(db_url, **stack_kw)
    path = tmp_path / "managers.yaml"
    path.write_text(MANAGERS, encoding="utf-8")
    async with stack.bot.sm() as s, s.begin():
        await seed_sandbox(s, stack.clock.now())
        await import_staff(s, read_staff_file(path), stack.clock.now())
    from bot.sandbox.state import Persona

    for userid, name in (("shmgr", "上海经理"), ("hzmgr", "杭州经理")):  # members of the corp
        stack.sandbox.personas[f"app_{userid}"] = Persona(f"app_{userid}", name, "manager",
                                                           "app", userid)
    key = await make_key(stack, "shop", ALL)
    numbers = []
    async with aiohttp.ClientSession() as http:
        for i, body in enumerate((SHANGHAI, HANGZHOU, {**SHANGHAI, "category": "consult",
                                                      "phone": "13800138002"})):
            async with http.post(f"{stack.bot.url}/api/tickets", json=body, headers={
                    "Authorization": f"Bearer {key}", "Idempotency-Key": f"b{i}"}) as r:
                numbers.append((await r.json())["number"])
    await stack.settle()
    return stack, numbers


@pytest.fixture
async def world(db_url, tmp_path):
    stack, numbers = await board_world(db_url, tmp_path)
    yield stack, numbers
    await stack.bot.stop()
    await stack.sandbox.stop()


async def sign_in(stack, http, userid: str) -> int:
    """Open /board/ as WeCom would: the OAuth redirect, the sandbox knows who (``as``)."""
    async with http.get(f"{stack.bot.url}/board/", allow_redirects=False) as r:
        assert r.status == 302
        authorize = r.headers["Location"]
    assert "/connect/oauth2/authorize?" in authorize and "scope=snsapi_base" in authorize
    url = authorize.split("#")[0] + f"&as={userid}"
    async with http.get(url, allow_redirects=True) as r:
        return r.status


async def test_a_manager_sees_their_regions_and_lights_follow_the_clock(world):
    stack, (sh, hz, consult) = world
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        assert await sign_in(stack, http, "shmgr") == 200
        async with http.get(f"{stack.bot.url}/board/data") as r:
            view = await r.json()
        assert view["me"]["scope"] == "上海市"
        assert {t["number"] for t in view["tickets"]} == {sh, consult}
        assert {t["light"] for t in view["tickets"]} == {"green"}
        [bubble] = view["bubbles"]
        assert (bubble["name"], bubble["count"], bubble["light"]) == ("上海市", 2, "green")
        async with stack.bot.sm() as s:
            clocks = [c for c in (await s.execute(__import__("sqlalchemy").select(SlaClock)))
                      .scalars()]
        yellow = min(c.yellow_at for c in clocks)
        stack.clock.set(yellow + timedelta(seconds=1))
        async with http.get(f"{stack.bot.url}/board/data") as r:
            later = await r.json()
        assert "yellow" in {t["light"] for t in later["tickets"]}
        assert later["version"] != view["version"]  # what live updates compare
        async with http.get(f"{stack.bot.url}/board/t/{sh}") as r:
            page = await r.json()
        # A manager reads it in Chinese, in Shanghai time, the phone masked everywhere.
        assert page["number"] == sh and page["audit"][0]["action"] == "创建"
        assert page["audit"][0]["at"].startswith("2026-11-25T10:00")  # 02:00 UTC
        assert page["fields"]["电话"] == "138****8000"
        assert (page["fields"]["类别"], page["fields"]["优先级"]) == ("报修", "普通")
        assert page["fields"]["创建"] == "11月25日 10:00"
        assert page["description"] == "咖啡机不出水，电话138****8000"
        assert "13800138000" not in json.dumps(page, ensure_ascii=False)
        assert page["workflow"] and {w["status"] for w in page["workflow"]} <= {
            "待开始", "进行中", "已完成", "已跳过"}
        # 指派 offers technicians only (not the manager, finance or purchasing)
        async with stack.bot.sm() as s:
            techs = {p.userid for p in (await s.execute(__import__("sqlalchemy").select(
                Staff))).scalars() if "technician" in (p.roles or [])}
        assert techs and {u for u, _ in view["technicians"]} == techs
        async with http.get(f"{stack.bot.url}/board/t/{hz}") as r:
            assert r.status == 404  # Hangzhou is not theirs
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        assert await sign_in(stack, http, "hzmgr") == 200
        async with http.get(f"{stack.bot.url}/board/data") as r:
            assert [t["number"] for t in (await r.json())["tickets"]] == [hz]


async def test_only_staff_sign_in_and_codes_work_once(world):
    stack, _ = world
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{stack.bot.url}/board/data") as r:
            assert r.status == 401
        async with http.get(f"{stack.bot.url}/board/oauth?code=forged&state=x") as r:
            assert r.status == 400  # no state cookie: not a sign-in this browser started
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{stack.bot.url}/board/", allow_redirects=False) as r:
            authorize = r.headers["Location"].split("#")[0]
        async with http.get(authorize + "&as=lishifu", allow_redirects=False) as r:
            back = r.headers["Location"]  # the bot's /board/oauth?code=…&state=…
        async with http.get(back, allow_redirects=False) as r:
            assert r.status == 302 and r.headers["Location"] == "/board/"
        async with http.get(back, allow_redirects=False) as r:
            assert r.status == 400  # replayed: the sign-in's state was spent
        from yarl import URL

        state = URL(back).query["state"]
        http.cookie_jar.update_cookies({"wo_board_state": state}, URL(stack.bot.url))
        async with http.get(back, allow_redirects=False) as r:
            assert r.status == 403  # and the code itself works once (WeCom: 40029)
        assert [c["errcode"] for c in stack.sandbox.calls("auth/getuserinfo")] == [0, 40029]


async def test_assign_from_the_board_reaches_the_technician_in_chat(world):
    stack, (sh, _, consult) = world
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        assert await sign_in(stack, http, "wangjingli") == 200
        async with http.post(f"{stack.bot.url}/board/assign",
                             json={"number": consult, "technician": "lishifu"}) as r:
            assert r.status == 202
        await stack.settle()
        # the board names people: everyone in its assign list, a ticket by its holder's name
        [offer] = [c for c in stack.cards("lishifu") if sh in str(c.content)]
        await stack.sandbox.click("lishifu", offer.task_id, "dispatch:accept:" +
                                  offer.task_id.split("-")[1])
        await stack.settle()
        async with http.get(f"{stack.bot.url}/board/data") as r:
            view = await r.json()
        assert ["lishifu", "李师傅"] in view["technicians"]
        assert {t["number"]: t["owner"] for t in view["tickets"]}[sh] == "李师傅"
    told = [ln.content for ln in stack.sandbox.delivered("app:lishifu")]
    assert any(consult in (c if isinstance(c, str) else str(c)) for c in told)


async def test_a_board_command_that_is_not_stored_is_not_promised(world):
    """The board answers 202 ("queued") only for a command stored as the person's chat message
    is: a storage fault is a 503 to try again, an event no database could hold a 400."""
    from bot.inbox import Unstorable

    stack, (_, _, consult) = world
    web_ = stack.bot.board.web
    stored = web_.store

    async def failing(event):
        raise failing.error

    web_.store = failing
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            assert await sign_in(stack, http, "wangjingli") == 200
            for error, status in ((OSError("disk I/O error"), 503),
                                  (Unstorable("sender is longer than 128 characters"), 400)):
                failing.error = error
                async with http.post(f"{stack.bot.url}/board/assign",
                                     json={"number": consult, "technician": "lishifu"}) as r:
                    assert r.status == status and "error" in await r.json()
    finally:
        web_.store = stored


async def test_beside_workers_a_board_command_keeps_its_place_after_the_chat(sqlite_url,
                                                                             tmp_path):
    """An ingest beside worker processes spools what people write (SQLite, models/spool.py):
    a board command, the person's own chat command, is spooled behind what they wrote in chat
    a moment before, and handled after it."""
    from sqlalchemy import select

    from models.tables import InboxEvent

    stack, (_, _, consult) = await board_world(sqlite_url, tmp_path, spool=True)
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            assert await sign_in(stack, http, "wangjingli") == 200
            assert (await stack.sandbox.member_says("wangjingli", "我的待办"))["acked"]
            async with http.post(f"{stack.bot.url}/board/assign",
                                 json={"number": consult, "technician": "lishifu"}) as r:
                assert r.status == 202
        await stack.settle()
        async with stack.bot.sm() as s:
            keys = (await s.execute(select(InboxEvent.dedupe_key).where(
                InboxEvent.sender == "wangjingli").order_by(InboxEvent.id))).scalars().all()
        assert [k.split(":")[0] for k in keys] == ["app", "board"]
    finally:
        await stack.bot.stop()
        await stack.sandbox.stop()


def test_board_actions_are_the_chat_commands():
    from handlers.board.board_web import command

    n = "GD20261125-0001"
    assert command({"number": n, "technician": "lishifu"}) == f"指派 {n} lishifu"
    assert command({"number": n, "action": "insert", "node": "质检"}) == f"加质检 {n}"
    assert command({"number": n, "action": "approve", "note": " 可以  "}) == f"同意 {n} 可以"
    assert command({"number": n, "action": "reject", "note": "报价太高"}) == f"驳回 {n} 报价太高"
    for bad in ({"number": "x", "technician": "a"}, {"number": n, "action": "reject"},
                {"number": n, "action": "insert", "node": "QA"},
                {"number": n, "technician": "a b"}, {"number": n, "action": "drop"}):
        with pytest.raises(ValueError):
            command(bad)
    # … and the chat's own readers take them back as the same commands.
    from nlp.workflow_commands import parse_flow_command

    assert parse_flow_command(f"加质检 {n}") == parse_flow_command(
        command({"number": n, "action": "insert", "node": "质检"}))
    got = parse_flow_command(command({"number": n, "action": "reject", "note": "报价太高"}))
    assert (got.kind, got.ticket, got.rest) == ("reject", n, "报价太高")
    got = parse_flow_command(command({"number": n, "action": "approve"}))
    assert (got.kind, got.ticket) == ("approve", n)
