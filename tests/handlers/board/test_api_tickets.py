"""Tickets through the API: made by intake's use case (audited, ticket_created → offered like a
chat ticket), read, listed with filters and cursors, noted, cancelled; idempotency; problem
details; keys, scopes and the rate limit."""

from __future__ import annotations

from sqlalchemy import select

from handlers.staff.seed import seed_sandbox
from models.dispatch import Offer
from models.tickets import Ticket, TicketEvent, TicketMessage
from tests.handlers.board.conftest import make_key

BODY = {"category": "repair", "description": "咖啡机不出水", "phone": "13800138000",
        "store": "人民广场店", "address": "上海市黄浦区南京东路1号", "device": "咖啡机"}
PROBLEM = "application/problem+json"


async def seed(api) -> None:
    async with api.stack.bot.sm() as s, s.begin():
        await seed_sandbox(s, api.stack.clock.now())


async def test_a_ticket_from_the_api_is_made_by_intake_and_offered_like_a_chat_ticket(api):
    await seed(api)
    status, t, headers = await api.call("POST", "/tickets", json=BODY, idem="k1")
    assert status == 201, t
    assert t["number"].startswith("GD") and t["status"] == "new"
    assert (t["integration"], t["source"], t["district"]) == ("shop", "api", "黄浦区")
    assert headers["Location"] == f"/api/tickets/{t['number']}"
    async with api.stack.bot.sm() as s:
        [audit] = list((await s.execute(select(TicketEvent))).scalars())
    assert (audit.action, audit.actor) == ("create", "api:shop")
    await api.stack.settle()  # ticket_created → dispatch, as for a confirmed chat draft
    [offer] = await api.stack.rows(Offer)
    assert offer.status == "offered"
    assert any(t["number"] in ln.content for ln in api.stack.sandbox.delivered(
        f"app:{offer.technician}") if ln.kind == "text")
    status, got, _ = await api.call("GET", f"/tickets/{t['number']}")
    assert status == 200 and got["status"] == "dispatched"


async def test_a_replayed_idempotency_key_creates_nothing_new(api):
    s1, first, _ = await api.call("POST", "/tickets", json=BODY, idem="same")
    s2, again, h2 = await api.call("POST", "/tickets", json=BODY, idem="same")
    assert (s1, s2) == (201, 201) and again == first and h2["Idempotent-Replayed"] == "true"
    assert len(await api.stack.rows(Ticket)) == 1
    assert [e.type for e in await api.stack.inbox()] == ["ticket_created"]
    s3, p3, h3 = await api.call("POST", "/tickets", json={**BODY, "device": "冰箱"}, idem="same")
    assert s3 == 409 and h3["Content-Type"].startswith(PROBLEM)
    assert p3["type"] == "/api/problems/idempotency-key-reused"
    s4, p4, _ = await api.call("POST", "/tickets", json=BODY)
    assert s4 == 400 and p4["type"] == "/api/problems/idempotency-key-required"
    assert len(await api.stack.rows(Ticket)) == 1


async def test_bad_input_gets_problem_details_naming_the_field(api):
    status, p, headers = await api.call("POST", "/tickets", json={**BODY, "phone": "12"},
                                        idem="x")
    assert status == 422 and headers["Content-Type"].startswith(PROBLEM)
    assert p["status"] == 422 and [e["field"] for e in p["errors"]] == ["phone"]
    status, p, _ = await api.call("POST", "/tickets", json={**BODY, "colour": "red"}, idem="y")
    assert status == 422 and p["errors"][0]["field"] == "colour"
    async with api.http.post(api.base + "/tickets", data=b"{not json",
                             headers={"Authorization": f"Bearer {api.key}",
                                      "Idempotency-Key": "z",
                                      "Content-Type": "application/json"}) as r:
        assert r.status == 400 and (await r.json(content_type=None))["type"].endswith(
            "invalid-json")
    for path in ("/tickets/GD20261125-0001", "/nothing-here"):
        status, p, headers = await api.call("GET", path)
        assert status == 404 and headers["Content-Type"].startswith(PROBLEM), path
    status, p, headers = await api.call("DELETE", "/tickets")
    assert status == 405 and "GET" in headers["Allow"] and p["status"] == 405
    assert await api.stack.rows(Ticket) == []


async def test_keys_scopes_and_the_rate_limit(api):
    status, p, _ = await api.call("GET", "/tickets", key="wo_deadbeef_nope")
    assert status == 401 and p["type"] == "/api/problems/unauthorized"
    async with api.http.get(api.base + "/tickets") as r:
        assert r.status == 401
    reader = await make_key(api.stack, "reader", ["tickets:read"], rate=3)
    status, p, _ = await api.call("POST", "/tickets", json=BODY, key=reader, idem="r")
    assert status == 403 and "tickets:write" in p["detail"]
    codes = [(await api.call("GET", "/tickets", key=reader))[0] for _ in range(3)]
    assert codes == [200, 200, 200]  # 3 a minute
    status, p, headers = await api.call("GET", "/tickets", key=reader)
    assert status == 429 and int(headers["Retry-After"]) >= 1 and p["status"] == 429
    api.stack.clock.advance(seconds=20)  # 3 a minute: one more after 20 s
    assert (await api.call("GET", "/tickets", key=reader))[0] == 200
    assert (await api.call("GET", "/tickets", key=reader))[0] == 429


async def test_list_filters_and_cursor_pages(api):
    numbers = []
    for i in range(5):
        body = {**BODY, "phone": f"1380013800{i}",
                "category": "install" if i % 2 else "repair"}
        numbers.append((await api.call("POST", "/tickets", json=body, idem=f"t{i}"))[1]["number"])
    seen, cursor = [], None
    while True:
        status, page, _ = await api.call("GET", "/tickets?limit=2" + (
            f"&cursor={cursor}" if cursor else ""))
        assert status == 200 and len(page["items"]) <= 2
        seen += [t["number"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == numbers[::-1]  # newest first, each once
    _, page, _ = await api.call("GET", "/tickets?category=install")
    assert [t["number"] for t in page["items"]] == [numbers[3], numbers[1]]
    _, page, _ = await api.call("GET", "/tickets?phone=13800138002")
    assert [t["number"] for t in page["items"]] == [numbers[2]]
    assert (await api.call("GET", "/tickets?cursor=bogus!"))[0] == 400
    assert (await api.call("GET", "/tickets?limit=0"))[0] == 400
    assert (await api.call("GET", "/tickets?created_after=yesterday"))[0] == 400


async def test_a_note_and_a_cancel_are_audited_and_the_cancel_reaches_dispatch(api):
    await seed(api)
    _, t, _ = await api.call("POST", "/tickets", json=BODY, idem="n1")
    await api.stack.settle()
    status, note, _ = await api.call("POST", f"/tickets/{t['number']}/notes",
                                     json={"text": "客户改为下午在家"}, idem="note-1")
    assert status == 201 and note["text"] == "客户改为下午在家"
    status, bad, _ = await api.call("POST", f"/tickets/{t['number']}/status",
                                    json={"status": "closed"})
    assert status == 409 and bad["type"] == "/api/problems/illegal-transition"
    status, done, _ = await api.call("POST", f"/tickets/{t['number']}/status",
                                     json={"status": "cancelled", "reason": "客户取消订单"})
    assert status == 200 and done["status"] == "cancelled"
    await api.stack.settle()
    [offer] = await api.stack.rows(Offer)
    assert offer.status != "offered"  # dispatch withdrew it on ticket_cancelled
    events = await api.stack.rows(TicketEvent)
    assert [(e.action, e.actor) for e in events if e.action in ("note", "status:cancelled")] \
        == [("note", "api:shop"), ("status:cancelled", "api:shop")]
    assert "客户取消订单" in (next(e for e in events if e.action == "status:cancelled").reason
                         or "")
    assert [m.text for m in await api.stack.rows(TicketMessage, TicketMessage.ticket_id.is_not(
        None))][-1] == "客户改为下午在家"


async def test_technicians_without_phones_and_statements_and_vouchers(api):
    await seed(api)
    status, page, _ = await api.call("GET", "/technicians")
    assert status == 200 and page["items"]
    assert all("phone" not in t for t in page["items"])
    userid = page["items"][0]["userid"]
    assert (await api.call("GET", f"/technicians/{userid}"))[1]["userid"] == userid
    assert (await api.call("GET", "/technicians/nobody"))[0] == 404
    status, p, _ = await api.call("GET", "/vouchers/2026-11")  # the clock is in 2026-11
    assert status == 409 and p["type"] == "/api/problems/month-not-over"
    status, doc, _ = await api.call("GET", "/vouchers/2026-10")
    assert status == 200 and doc["month"] == "2026-10" and doc["vouchers"] == []
    status, csv_text, headers = await api.call("GET", "/vouchers/2026-10?format=csv")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert csv_text.splitlines()[0].lstrip("\ufeff").startswith("凭证日期,会计年度")
    assert (await api.call("GET", "/statements"))[1] == {"items": [], "next_cursor": None}


async def test_two_racing_requests_with_one_key_make_one_ticket(api):
    import asyncio

    (s1, a, _), (s2, b, _) = await asyncio.gather(
        api.call("POST", "/tickets", json=BODY, idem="race"),
        api.call("POST", "/tickets", json=BODY, idem="race"))
    assert (s1, s2) == (201, 201) and a == b
    assert len(await api.stack.rows(Ticket)) == 1
