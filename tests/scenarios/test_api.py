"""An e-commerce order through the API, end to end: the installation ticket is made and offered
(grab), the customer's appointment SMS goes out, a technician takes and finishes it, and a
webhook receiver on loopback gets every status change once, in order, signed, with the order
number — and the statement. A replayed idempotency key creates nothing new."""

from __future__ import annotations

import hashlib
import hmac
import json

import aiohttp
import pytest
from aiohttp import web

from handlers.board.sms import RecordingSms
from handlers.staff.seed import seed_sandbox
from models.api import ApiDelivery, ApiDeliveryAttempt
from models.dispatch import Offer
from models.tickets import Ticket
from tests.conftest import start_stack
from tests.handlers.board.conftest import ALL, make_key

SECRET = "whsec-test-0123456789abcdef"
ORDER = {"order_number": "JD20261125001", "phone": "13800138000", "name": "王女士",
         "address": "上海市黄浦区南京东路100号", "items": [
             {"sku": "KFR-35GW", "name": "空调", "quantity": 1}]}


class Receiver:
    """A webhook receiver on loopback that checks each signature as an integrator would."""

    def __init__(self) -> None:
        self.got: list[dict] = []
        self.fail_next = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        ts = request.headers["X-WO-Timestamp"]
        want = "sha256=" + hmac.new(SECRET.encode(), f"{ts}.{body}".encode(),
                                    hashlib.sha256).hexdigest()
        valid = hmac.compare_digest(want, request.headers["X-WO-Signature"])
        if self.fail_next:
            self.fail_next -= 1
            return web.Response(status=503)
        self.got.append({"valid": valid, "id": request.headers["X-WO-Event-Id"],
                         **json.loads(body)})
        return web.Response(status=204)


@pytest.fixture
async def world(db_url, tmp_path):
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/hook", rec.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    cfg = tmp_path / "api.yaml"
    cfg.write_text(f"""webhooks:
  - name: shop
    url: http://127.0.0.1:{port}/hook
    secret: {SECRET}
    integration: shop
finance: {{enabled: true, folder: "{tmp_path / 'finance'}"}}
""", encoding="utf-8")
    stack = await start_stack(db_url, API_CONFIG=str(cfg))
    sms = RecordingSms()
    stack.bot.board.use_sms(sms)
    async with stack.bot.sm() as s, s.begin():
        await seed_sandbox(s, stack.clock.now())
    key = await make_key(stack, "shop", ALL)
    async with aiohttp.ClientSession() as http:
        yield stack, rec, sms, http, key, tmp_path / "finance"
    await stack.bot.stop()
    await stack.sandbox.stop()
    await runner.cleanup()


async def post(http, stack, key, path, body, idem):
    async with http.post(f"{stack.bot.url}/api{path}", json=body, headers={
            "Authorization": f"Bearer {key}", "Idempotency-Key": idem}) as r:
        return r.status, await r.json(content_type=None)


async def click(stack, user, card, action):
    key = next(b["key"] for b in card.content["button_list"] if b["key"].split(":")[1] == action)
    await stack.sandbox.click(user, card.task_id, key)
    await stack.settle()


async def work_it(stack) -> None:
    """Offered like any installation (grab, several technicians at once); one takes it and
    reports 出发, 到达, 完工 and the labour: resolved, priced, a statement."""
    await stack.settle()
    offers = await stack.rows(Offer)
    assert offers and {o.mode for o in offers} == {"grab"}
    winner = offers[0].technician
    await click(stack, winner, stack.cards(winner)[-1], "grab")
    work = stack.cards(winner)[-1]
    for action in ("depart", "arrive", "done"):
        await click(stack, winner, work, action)
    await stack.sandbox.member_says(winner, "工时1小时 配件 无")
    await stack.settle()
    [t] = await stack.rows(Ticket)
    assert t.status == "resolved"


async def test_an_order_becomes_a_ticket_whose_news_goes_back_signed_and_in_order(world):
    stack, rec, sms, http, key, _ = world
    status, out = await post(http, stack, key, "/orders", ORDER, "order-1")
    assert status == 201, out
    number = out["ticket"]["number"]
    assert out["sms"] == "queued" and out["ticket"]["order_number"] == ORDER["order_number"]
    assert out["ticket"]["category"] == "install" and out["ticket"]["district"] == "黄浦区"
    # The same order again with the same key: the same answer, nothing new.
    assert await post(http, stack, key, "/orders", ORDER, "order-1") == (201, out)
    status, again = await post(http, stack, key, "/orders", ORDER, "order-2")
    assert status == 409 and again["type"] == "/api/problems/order-exists"
    assert len(await stack.rows(Ticket)) == 1
    await work_it(stack)
    # The appointment SMS went out once (the next morning, as no slot was chosen).
    [(phone, text, _)] = sms.sent
    assert phone == "13800138000" and number in text and "JD20261125001" in text
    assert "11月26日 09:00" in text
    status, closed = await post(http, stack, key, f"/tickets/{number}/status",
                                {"status": "closed", "reason": "客户在商城确认收货"}, "c1")
    assert status == 200 and closed["status"] == "closed"
    for _ in range(2):  # the pump looks for news every poll_seconds (5 s by default)
        stack.clock.advance(seconds=5)
        await stack.settle()
    news = [g for g in rec.got if g["type"] == "ticket.status_changed"]
    assert all(g["valid"] for g in rec.got)
    assert [(g["data"]["from"], g["data"]["to"]) for g in news] == [
        ("new", "dispatched"), ("dispatched", "accepted"), ("accepted", "in_progress"),
        ("in_progress", "resolved"), ("resolved", "closed")]
    assert {g["data"]["order_number"] for g in rec.got} == {"JD20261125001"}
    assert len({g["id"] for g in rec.got}) == len(rec.got)  # each once
    [statement] = [g for g in rec.got if g["type"] == "statement.issued"]
    assert statement["data"]["ticket"] == number and statement["data"]["gross"]
    deliveries = await stack.rows(ApiDelivery, ApiDelivery.target == "webhook:shop")
    assert {d.status for d in deliveries} == {"delivered"}


async def test_a_failing_receiver_gets_the_news_later_still_in_order(world):
    stack, rec, sms, http, key, _ = world
    rec.fail_next = 2
    status, out = await post(http, stack, key, "/tickets", {
        "description": "空调不制冷", "phone": "13800138001", "category": "repair",
        "address": "上海市黄浦区南京东路100号", "device": "空调", "order_number": "A-1"}, "t-1")
    assert status == 201
    await stack.settle()  # new → dispatched: the first post fails (503)
    status, _ = await post(http, stack, key, f"/tickets/{out['number']}/status",
                           {"status": "cancelled"}, "x")
    await stack.settle()
    assert rec.got == []  # held back: order first, the head is waiting for its retry
    for _ in range(3):
        stack.clock.advance(seconds=10)
        await stack.settle()
    assert [(g["data"]["from"], g["data"]["to"]) for g in rec.got] == [
        ("new", "dispatched"), ("dispatched", "cancelled")]
    attempts = await stack.rows(ApiDeliveryAttempt)
    assert [a.status_code for a in attempts] == [503, 503, 204, 204]


async def test_the_days_statements_reach_the_finance_folder_once_and_the_api(world):
    stack, rec, sms, http, key, folder = world
    status, out = await post(http, stack, key, "/orders", ORDER, "order-1")
    await work_it(stack)
    day = "2026-11-25"  # the clock: 10:00 in Shanghai; the export runs at 02:00 the next day
    stack.clock.advance(hours=16, minutes=1)
    await stack.settle()
    csv_text = (folder / day / f"vouchers-{day}.csv").read_bytes().decode("utf-8-sig")
    rows = csv_text.splitlines()
    assert rows[0].startswith("凭证日期,会计年度,会计期间,凭证字,凭证号")
    assert len(rows) > 1 and all(r.startswith(day) for r in rows[1:])
    statements = json.loads((folder / day / f"statements-{day}.json").read_text("utf-8"))
    assert [s["ticket"] for s in statements["statements"]] == [out["ticket"]["number"]]
    async with http.get(f"{stack.bot.url}/api/finance/exports",
                        headers={"Authorization": f"Bearer {key}"}) as r:
        listed = (await r.json())["items"]
    assert sorted(e["name"] for e in listed) == [f"statements-{day}.json", f"vouchers-{day}.csv"]
    async with http.get(f"{stack.bot.url}/api/finance/exports/{day}/vouchers-{day}.csv",
                        headers={"Authorization": f"Bearer {key}"}) as r:
        assert r.status == 200 and (await r.text()) == csv_text
    # The next day's run exports the next day; the day already done is not written twice.
    stack.clock.advance(days=1)
    await stack.settle()
    names = sorted(p.name for p in folder.rglob("*.csv"))
    assert names == [f"vouchers-{day}.csv", "vouchers-2026-11-26.csv"]
    from models.timer import Timer

    [timer] = await stack.rows(Timer, Timer.key == "api:finance")
    # Fired once a night (two nights), armed for the next: 02:00 on the 28th in Shanghai.
    assert (timer.fire_count, timer.status) == (2, "armed")
    assert timer.due_at.isoformat() == "2026-11-27T18:00:00+00:00"
