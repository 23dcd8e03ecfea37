"""Settlement in chat, through the sandbox: a completed ticket's statement reaches the customer
and the technician; their 确认 / 异议 (card and text); finance's review and correction; the
promotion guard; the month from the database. The clock starts at 2026-11-25 10:00 Shanghai,
so the price books' version 2 (in force from 2026-11-15) prices everything here.

Hand-checked numbers (config/pricebooks/cn-home-2026b.yaml):

Coffee-machine repair (rule coffee-repair-cn, VAT 13% on top, split: technician 50% capped at
400, provider fixed 30, platform the rest), 90 min labour, one part at cost 35.00, 6.2 km:
    检测费   fixed                                 80.00   share  80/317.5 = 0.2520
    维修工时 1.5 h (min 0.5, steps of 0.5) × 120   180.00          180/317.5 = 0.5669
    路程费   6.2 km × 2.50 (cap 150)               15.50           15.5/317.5 = 0.0488
    配件     35.00 × 1 × 1.20 (markup 20%)         42.00           42/317.5  = 0.1323
    subtotal = net 317.50; VAT 317.50 × 0.13 = 41.275 → 41.28 (half up); gross 358.78
    split of net: provider 30.00; technician 317.50 × 50% = 158.75; platform 128.75
Corrected to 1 h labour: 维修工时 120.00; net 257.50; VAT 33.475 → 33.48; gross 290.98;
    technician 128.75, provider 30.00, platform 98.75.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.sandbox.server import OPEN_KFID
from handlers.settlement import texts
from handlers.intake import texts as intake_texts
from handlers.settlement.cli import period_from_db, review_correct
from handlers.settlement.config import Guard, SettlementSetup
from models.dispatch import WorkReport
from models.messages import Event, inbox_row
from models.queues import inbox_insert
from models.settlement import (PromotionFreeze, SettlementPeriod, SettlementPeriodLine,
                               SettlementReview, SettlementStatement, StatementAck,
                               awaiting_about)
from models.ticketing import create_ticket, customer_for
from models.tickets import Staff, Ticket, TicketCreate, TicketEvent
from models.timer import Timer

KF_USER = "wmCHENnvshi0001"
TECH, FINANCE, MANAGER = "lishifu", "caiwu", "wangjingli"
COFFEE_PART = [{"name": "压缩机电容", "qty": "1", "unit_cost": "35.00"}]

# What the customer reads: each line with quantity × rate, subtotal, VAT, total — not the price
# book, its rule or the shares (finance's and the technician's: see the technician's text).
CUSTOMER_STATEMENT = """工单 GD20261125-0001 结算单（咖啡机维修）
1. 检测费：¥80.00
2. 维修工时 1.5小时 × ¥120.00：¥180.00
3. 路程费 6.2公里 × ¥2.50：¥15.50
4. 配件（压缩机电容） 1件 × ¥42.00：¥42.00
小计：¥317.50
税额（13%）：¥41.28
合计：¥358.78
""" + texts.SETTLE_HOW_TEXT


async def count(stack, model) -> int:
    async with stack.bot.sm() as s:
        return (await s.execute(select(func.count()).select_from(model))).scalar_one()


async def staff(stack) -> None:
    async with stack.bot.sm() as s, s.begin():
        s.add(Staff(userid=TECH, name="李师傅", roles=["technician"], provider="P001"))
        s.add(Staff(userid=FINANCE, name="赵会计", roles=["finance"]))
        s.add(Staff(userid=MANAGER, name="王经理", roles=["manager"]))


async def new_ticket(stack, *, customer: str = KF_USER, channel: str = "kf",
                     category: str = "repair", device: str | None = "咖啡机",
                     address: str = "上海市浦东新区世纪大道100号",
                     codes: tuple[str, str, str] = ("31", "3101", "310115"),
                     status: str = "new") -> Ticket:
    now = stack.clock.now()
    kind = "external_userid" if channel == "kf" else "wecom_userid"
    conv = f"kf:{OPEN_KFID}:{customer}" if channel == "kf" else f"app:{customer}"
    async with stack.bot.sm() as s, s.begin():
        c = await customer_for(s, kind, customer, now)
        t = await create_ticket(s, TicketCreate(
            customer_id=c.id, category=category, device=device, title=f"{device}故障",
            address=address, province_code=codes[0], city_code=codes[1], district_code=codes[2],
            channel=channel, conversation_key=conv, reporter=customer), actor="test", now=now)
        t.status = status
        if status in ("resolved", "closed"):  # earlier work
            t.assignee, t.resolved_at = TECH, now - timedelta(days=1)
        if channel == "kf":  # the customer wrote (WeCom lets us answer 5 times within 48 h)
            await inbox_insert(s, [{**inbox_row(Event(
                "kf", "message", "text", customer, conv, f"kf:msg:{t.id}:{customer}",
                {"text": "报修"}), now), "status": "done"}])
            stack.sandbox.kf_customer_wrote(customer)
    return t


async def complete(stack, ticket: Ticket, *, minutes: int = 90, parts=COFFEE_PART,
                   km: float | None = 6.2, dedupe: str | None = None) -> None:
    """What dispatch does at 完工, in one transaction, then the worker runs."""
    now = stack.clock.now()
    async with stack.bot.sm() as s, s.begin():
        t = await s.get(Ticket, ticket.id)
        t.status, t.assignee, t.resolved_at = "resolved", TECH, now
        s.add(WorkReport(ticket_id=t.id, technician=TECH, labour_minutes=minutes,
                         parts=list(parts), travel_km=km, reported_at=now))
        await resolved_event(s, t.id, now, dedupe)
    await stack.settle()


async def resolved_event(session, ticket_id: int, now, dedupe: str | None = None) -> set[str]:
    return await inbox_insert(session, [inbox_row(Event(
        "internal", "event", "ticket_resolved", "", f"ticket:{ticket_id}",
        dedupe or f"test:resolved:{ticket_id}", {"ticket_id": ticket_id}), now)])


# -- the statement reaches both parties -------------------------------------------------------


async def test_a_completed_repair_is_itemised_for_the_customer_and_the_technician(stack):
    await staff(stack)
    t = await new_ticket(stack)
    await complete(stack, t)

    # The customer on 微信客服 (no cards there) gets the itemised statement as text.
    assert stack.said(f"kf:{KF_USER}") == [CUSTOMER_STATEMENT]
    # The technician: the same lines with their shares, the book, the net and their share,
    # and a card to answer.
    tech_text = stack.said(f"app:{TECH}")[-1]
    assert "计价依据：价目表 cn-home 第2版，规则 coffee-repair-cn" in tech_text
    assert "2. 维修工时 1.5小时 × ¥120.00：¥180.00（占56.69%）" in tech_text
    # the part at the book's markup over the price they reported (the customer is not told)
    assert "4. 配件（压缩机电容） 1件 × ¥42.00（成本价¥35.00，加价20%）：¥42.00（占13.23%）" \
        in tech_text
    assert "服务净额（不含税）：¥317.50" in tech_text
    assert "您的分成：¥158.75（占50.00%）" in tech_text
    assert "确认账单 GD20261125-0001" in tech_text  # how to answer without the card
    [card] = stack.cards(TECH)
    [row] = await stack.rows(SettlementStatement)
    acks = await stack.rows(StatementAck)
    assert [(a.party, a.who, a.status) for a in acks] == [
        ("customer", KF_USER, "pending"), ("technician", TECH, "pending")]
    tech_ack = acks[1]
    assert [b["key"] for b in card.content["button_list"]] == [
        f"settle:confirm:{tech_ack.id}", f"settle:dispute:{tech_ack.id}"]
    assert card.content["main_title"]["title"] == "工单 GD20261125-0001 结算单"
    assert {"keyname": "您的分成", "value": "¥158.75"} in card.content["horizontal_content_list"]
    assert tech_ack.task_id == card.task_id

    # The stored record: the engine's statement, the ticket input it priced, the totals.
    assert (row.ticket_number, row.kind, row.revision, row.corrects) == (
        "GD20261125-0001", "original", 0, None)
    assert (row.book_id, row.book_version, row.service_rule) == ("cn-home", 2, "coffee-repair-cn")
    assert (row.net, row.tax, row.gross, row.technician_share) == (
        "317.50", "41.28", "358.78", "158.75")
    assert row.statement["split"]["parts"] == {"technician": "158.75", "provider": "30.00",
                                               "platform": "128.75"}
    assert row.statement_id == row.statement["id"] and row.statement_id.startswith("st-")
    assert row.ticket_input["quantities"] == {"hours": "1.5", "km": "6.2"}
    assert row.ticket_input["parts"] == [{"sku": "压缩机电容", "name": "压缩机电容",
                                          "cost": "35.00", "qty": "1"}]
    assert (row.ticket_input["region"], row.ticket_input["provider"]) == ("310115", "P001")
    assert row.completed_at == stack.clock.now()

    # The same completion handled again (another delivery of the event): one statement, and
    # nobody hears it twice. The same dedupe key is not even stored twice.
    before = len(stack.sandbox.state.lines)
    async with stack.bot.sm() as s, s.begin():
        assert await resolved_event(s, t.id, stack.clock.now()) == set()
        assert await resolved_event(s, t.id, stack.clock.now(), dedupe="again") == {"again"}
    await stack.settle()
    assert await count(stack, SettlementStatement) == 1
    assert await count(stack, StatementAck) == 2
    assert len(stack.sandbox.state.lines) == before


async def test_an_app_member_gets_a_card_and_the_text_says_how_to_answer_without_it(stack):
    await staff(stack)
    t = await new_ticket(stack, customer="zhangsan", channel="app")
    await complete(stack, t)
    text = stack.said("app:zhangsan")[-1]
    assert text.startswith("工单 GD20261125-0001 结算单（咖啡机维修）")
    assert "合计：¥358.78" in text and text.endswith(texts.SETTLE_HOW_CARD)
    assert "计价依据" not in text and "占" not in text  # finance's and the technician's
    [card] = stack.cards("zhangsan")
    assert card.content["main_title"]["desc"] == "咖啡机维修，合计 ¥358.78，请确认"
    # Its rows add up to its total: the four lines, VAT on top, the total (six rows at most).
    assert card.content["horizontal_content_list"] == [
        {"keyname": "检测费", "value": "¥80.00"}, {"keyname": "维修工时", "value": "¥180.00"},
        {"keyname": "路程费", "value": "¥15.50"}, {"keyname": "压缩机电容", "value": "¥42.00"},
        {"keyname": "增值税", "value": "¥41.28（13%）"}, {"keyname": "合计", "value": "¥358.78"}]
    amounts = [Decimal(r["value"].split("（")[0].lstrip("¥").replace(",", ""))
               for r in card.content["horizontal_content_list"]]
    assert sum(amounts[:-1]) == amounts[-1]


async def test_an_unmapped_ticket_goes_to_finance_not_priced_at_zero(stack):
    await staff(stack)
    t = await new_ticket(stack, device="磨豆机")
    await complete(stack, t, parts=[])
    assert await count(stack, SettlementStatement) == 0
    [review] = await stack.rows(SettlementReview)
    assert (review.kind, review.status, review.ticket_id) == ("unpriced", "open", t.id)
    [to_finance] = stack.said(f"app:{FINANCE}")
    assert "无法计价 #1：工单 GD20261125-0001（报修，磨豆机）" in to_finance
    assert "价目表里没有这类工单对应的服务项目" in to_finance and "config/" not in to_finance
    assert stack.said(f"kf:{KF_USER}") == [
        texts.SETTLE_UNPRICED_CUSTOMER.format(number="GD20261125-0001")]
    env = {"DATABASE_URL": stack.bot.settings.DATABASE_URL}
    listed = await settle_command(env, ["settle", "review", "list"])
    assert listed.startswith(f"#{review.id}\tunpriced\topen\tGD20261125-0001\t-\t-\t-\t")
    # Finance prices it by hand: a first statement, sent to both parties like any.
    printed = await settle_command(env, ["settle", "review", "correct", str(review.id),
                                         "--service", "咖啡机维修", "--by", "zhao"])
    [row] = await stack.rows(SettlementStatement)
    assert json.loads(printed) == row.statement
    await stack.settle()
    # 检测费 80 + 维修工时 1.5 h × 120 = 180 + 路程费 15.50, no parts: net 275.50;
    # VAT 13% = 35.815 → 35.82; gross 311.32
    assert (row.kind, row.revision, row.net, row.gross) == ("original", 0, "275.50", "311.32")
    assert stack.said(f"kf:{KF_USER}")[-1].startswith("工单 GD20261125-0001 结算单（咖啡机维修）")
    assert "合计：¥311.32" in stack.said(f"kf:{KF_USER}")[-1]
    [review] = await stack.rows(SettlementReview)
    assert (review.status, review.result_statement_id) == ("priced", row.statement_id)


# -- answers ---------------------------------------------------------------------------------


async def test_confirm_and_dispute_by_card_then_finance_corrects(stack):
    await staff(stack)
    t = await new_ticket(stack, customer="zhangsan", channel="app")
    await complete(stack, t)
    cust_ack, tech_ack = await stack.rows(StatementAck)
    [cust_card] = stack.cards("zhangsan")
    [tech_card] = stack.cards(TECH)

    # A click on someone else's card changes nothing.
    await stack.sandbox.click("zhangsan", tech_card.task_id, f"settle:confirm:{tech_ack.id}")
    await stack.settle()
    assert stack.said("app:zhangsan")[-1] == texts.SETTLE_NOT_YOURS
    # The customer confirms: the card shows it, the answer is stored.
    await stack.sandbox.click("zhangsan", cust_card.task_id, f"settle:confirm:{cust_ack.id}")
    await stack.settle()
    assert stack.said("app:zhangsan")[-1] == "已确认工单 GD20261125-0001 的结算单（合计 ¥358.78），谢谢！"
    assert stack.sandbox.state.cards[cust_card.task_id]["replaced"] == "已确认"
    # A second click on the same card: a polite answer, nothing changes.
    await stack.sandbox.click("zhangsan", cust_card.task_id, f"settle:dispute:{cust_ack.id}")
    await stack.settle()
    assert stack.said("app:zhangsan")[-1] == texts.SETTLE_ALREADY["confirmed"].format(
        number="GD20261125-0001")
    # The technician disputes with the card, then says why in text.
    await stack.sandbox.click(TECH, tech_card.task_id, f"settle:dispute:{tech_ack.id}")
    await stack.settle()
    assert stack.said(f"app:{TECH}")[-1] == texts.SETTLE_DISPUTE_ASK_WHY.format(
        number="GD20261125-0001")
    assert stack.sandbox.state.cards[tech_card.task_id]["replaced"] == "已提出异议"
    [review] = await stack.rows(SettlementReview)
    assert (review.kind, review.party, review.who, review.status) == (
        "dispute", "technician", TECH, "open")
    [to_finance] = stack.said(f"app:{FINANCE}")
    assert to_finance.startswith(f"结算异议 #{review.id}：工单 GD20261125-0001，技师（李师傅）"
                                 "对结算单（合计 ¥358.78）有异议")
    await stack.sandbox.member_says(TECH, "异议 GD20261125-0001 工时只有1小时")
    await stack.settle()
    assert stack.said(f"app:{TECH}")[-1] == texts.SETTLE_DISPUTE_MORE
    assert stack.said(f"app:{FINANCE}")[-1] == (
        f"结算异议 #{review.id} 补充（工单 GD20261125-0001，技师）：“异议 GD20261125-0001 工时只有1小时”")
    acks = {a.party: a.status for a in await stack.rows(StatementAck)}
    assert acks == {"customer": "confirmed", "technician": "disputed"}

    # Finance corrects the labour: a new statement that references the old one.
    old = (await stack.rows(SettlementStatement))[0]
    new = await review_correct(stack.bot.sm, stack.bot.services[SettlementSetup], review.id,
                               by="zhao", note="按实际工时1小时计", now=stack.clock.now(),
                               quantities={"hours": Decimal("1")})
    await stack.settle()
    assert (new.kind, new.revision, new.corrects, new.review_id) == (
        "correction", 1, old.statement_id, review.id)
    assert (new.net, new.tax, new.gross, new.technician_share) == (
        "257.50", "33.48", "290.98", "128.75")
    assert new.statement["corrects"] == old.statement_id
    [old_again, _] = await stack.rows(SettlementStatement)
    assert old_again.statement == old.statement and old_again.gross == "358.78"  # untouched
    # Both parties are told the difference.
    diff = ["工单 GD20261125-0001 的结算单已更正（第1次更正），变化如下：",
            "维修工时：¥180.00 → ¥120.00（-¥60.00）",
            "税额（13%）：¥41.28 → ¥33.48（-¥7.80）",  # VAT on top: the changes make the total's
            "合计：¥358.78 → ¥290.98"]
    cust = stack.said("app:zhangsan")[-1].split("\n")
    assert cust[:4] == diff and "财务说明：按实际工时1小时计" in cust
    tech = stack.said(f"app:{TECH}")[-1].split("\n")
    assert tech[:4] == diff and "您的分成：¥158.75 → ¥128.75" in tech
    # The old cards say they were corrected; new cards ask again.
    assert stack.sandbox.state.cards[tech_card.task_id]["replaced"] == "已更正，见新结算单"
    assert len(stack.cards("zhangsan")) == len(stack.cards(TECH)) == 2
    statuses = [(a.statement_id == new.statement_id, a.party, a.status)
                for a in await stack.rows(StatementAck)]
    assert statuses == [(False, "customer", "superseded"), (False, "technician", "superseded"),
                        (True, "customer", "pending"), (True, "technician", "pending")]
    [review] = await stack.rows(SettlementReview)
    assert (review.status, review.result_statement_id, review.resolved_by) == (
        "corrected", new.statement_id, "zhao")
    # A click on the old card now: it was corrected.
    await stack.sandbox.click(TECH, tech_card.task_id, f"settle:confirm:{tech_ack.id}")
    await stack.settle()
    assert stack.said(f"app:{TECH}")[-1] == texts.SETTLE_SUPERSEDED.format(
        number="GD20261125-0001")
    # The technician confirms the new one by text (the WeChat plug-in has no cards).
    await stack.sandbox.member_says(TECH, "确认账单 GD20261125-0001")
    await stack.settle()
    assert stack.said(f"app:{TECH}")[-1] == texts.SETTLE_TECH_CONFIRMED.format(
        number="GD20261125-0001", amount="¥128.75")
    new_tech_card = stack.cards(TECH)[-1]
    assert stack.sandbox.state.cards[new_tech_card.task_id]["replaced"] == "已确认"


async def test_the_customer_disputes_by_text_and_finance_lets_it_stand(stack):
    await staff(stack)
    t = await new_ticket(stack)
    await complete(stack, t)
    await stack.sandbox.customer_kf(KF_USER, "账单不对，路程没有6公里")
    await stack.settle()
    assert stack.said(f"kf:{KF_USER}")[-1] == texts.SETTLE_DISPUTED.format(
        number="GD20261125-0001")
    [review] = await stack.rows(SettlementReview)
    assert (review.party, review.who, review.words) == ("customer", KF_USER, "账单不对，路程没有6公里")
    assert "有异议：“账单不对，路程没有6公里”" in stack.said(f"app:{FINANCE}")[-1]
    env = {"DATABASE_URL": stack.bot.settings.DATABASE_URL}
    await settle_command(env, ["settle", "review", "accept", str(review.id),
                               "--note", "导航记录为6.2公里", "--by", "zhao"])
    assert await settle_command(env, ["settle", "review", "list"]) == "no open reviews\n"
    await stack.settle()
    assert stack.said(f"kf:{KF_USER}")[-1] == (
        "经财务核对，工单 GD20261125-0001 的结算单（合计 ¥358.78）无误，维持不变。\n"
        "财务说明：导航记录为6.2公里")
    [review] = await stack.rows(SettlementReview)
    assert (review.status, review.resolved_by) == ("accepted", "zhao")
    assert await count(stack, SettlementStatement) == 1
    with pytest.raises(SystemExit):  # decided already: refused, exit 2
        await settle_command(env, ["settle", "review", "accept", str(review.id)])
    # The statement stands, so the customer can now confirm it.
    [ack, _] = await stack.rows(StatementAck)
    assert ack.status == "pending"
    await stack.sandbox.customer_kf(KF_USER, "确认账单")
    await stack.settle()
    [ack, _] = await stack.rows(StatementAck)
    assert (ack.status, ack.via) == ("confirmed", "text")


async def test_a_bare_confirm_answers_a_correction_after_the_ticket_closed(stack):
    await staff(stack)
    t = await new_ticket(stack)
    await complete(stack, t)
    await stack.sandbox.customer_kf(KF_USER, "确认")  # closes the ticket, confirms the bill
    await stack.settle()
    await stack.sandbox.member_says(TECH, "异议 工时只有1小时")
    await stack.settle()
    [review] = await stack.rows(SettlementReview)
    await review_correct(stack.bot.sm, stack.bot.services[SettlementSetup], review.id,
                         by="zhao", note="", now=stack.clock.now(),
                         quantities={"hours": Decimal("1")})
    await stack.settle()
    assert "已更正" in stack.said(f"kf:{KF_USER}")[-1]
    await stack.sandbox.customer_kf(KF_USER, "确认")  # the ticket is closed: the bill's 确认
    await stack.settle()
    acks = [(a.party, a.status) for a in await stack.rows(StatementAck)][2:]
    assert acks == [("customer", "confirmed"), ("technician", "pending")]
    assert stack.said(f"kf:{KF_USER}")[-1] == texts.SETTLE_CONFIRMED.format(
        number="GD20261125-0001", amount="¥290.98")  # the corrected total


async def test_closing_the_ticket_with_confirm_confirms_the_statement(stack):
    await staff(stack)
    t = await new_ticket(stack)
    await complete(stack, t)
    await stack.sandbox.customer_kf(KF_USER, "确认")  # intake: closes the resolved ticket
    await stack.settle()
    assert stack.said(f"kf:{KF_USER}")[-1] == intake_texts.CONFIRMED_CLOSED.format(
        number="GD20261125-0001")
    [ticket] = await stack.rows(Ticket)
    assert ticket.status == "closed"
    cust, tech = await stack.rows(StatementAck)
    assert (cust.status, cust.via, tech.status) == ("confirmed", "closed", "pending")


async def test_bill_words_without_a_statement_are_left_to_intake(stack):
    await stack.sandbox.customer_kf(KF_USER, "有异议")
    await stack.settle()
    assert await count(stack, SettlementReview) == 0
    assert stack.said(f"kf:{KF_USER}")  # intake/basic answered it


# -- the guard ------------------------------------------------------------------------------

# Air-conditioner install in 杭州市西湖区 (330106: no Shanghai or zone rule, so ac-install-cn),
# 1 h labour, no parts, for a 老客户 (2 earlier completed tickets; promotional -10%):
#   基础安装费 220.00, 工时费 1 h × 80 = 80.00, 老客户9折 -10% × (220 + 80) = -30.00
#   gross 270.00 (VAT 6% included): net 270 / 1.06 = 254.716… → 254.72, tax 15.28
# Frozen: the discount line stays at 0.00 with its note: gross 300.00, net 283.02, tax 16.98.
HZ = ("33", "3301", "330106")
HZ_ADDRESS = "杭州市西湖区文三路100号"


async def ac_install(stack, address=HZ_ADDRESS) -> SettlementStatement:
    t = await new_ticket(stack, category="install", device="空调", address=address, codes=HZ)
    await complete(stack, t, minutes=60, parts=[], km=None)
    async with stack.bot.sm() as s:
        return (await s.execute(select(SettlementStatement).where(
            SettlementStatement.ticket_id == t.id))).scalar_one()


async def test_cancellations_freeze_an_address_and_its_next_quote_has_no_discount(stack):
    await staff(stack)
    for _ in range(2):  # history: a 老客户
        await new_ticket(stack, category="install", device="空调", address=HZ_ADDRESS, codes=HZ,
                         status="closed")
    before = await ac_install(stack)
    assert [(ln["name"], ln["amount"]) for ln in before.statement["lines"]] == [
        ("基础安装费", "220.00"), ("工时费", "80.00"), ("老客户9折", "-30.00")]
    assert (before.gross, before.net, before.tax) == ("270.00", "254.72", "15.28")
    assert "3. 老客户9折 -10% × ¥300.00：-¥30.00\n" in stack.said(f"kf:{KF_USER}")[-1]

    # Four cancellations from that address in chat (more than max_events: 3 in 30 days).
    numbers = [(await new_ticket(stack, category="install", device="空调", address=HZ_ADDRESS,
                                 codes=HZ)).number for _ in range(4)]
    for i, number in enumerate(numbers):
        await stack.sandbox.customer_kf(KF_USER, f"取消 {number}")
        await stack.settle()
        assert stack.said(f"kf:{KF_USER}")[-1] == intake_texts.CANCELLED.format(number=number)
        frozen = await stack.rows(PromotionFreeze)
        assert len(frozen) == (1 if i == 3 else 0)
        stack.clock.advance(hours=1)
    [freeze] = frozen
    assert (freeze.scope, freeze.value, freeze.region, freeze.events) == (
        "address", HZ_ADDRESS, "330106", 4)
    assert stack.said(f"app:{MANAGER}") == [texts.SETTLE_GUARD_ADDRESS.format(
        address=HZ_ADDRESS, days=30, count=4, limit=3)]

    after = await ac_install(stack)
    disc = after.statement["lines"][2]
    assert (disc["name"], disc["amount"], disc["promotional"]) == ("老客户9折", "0.00", True)
    assert "promotion frozen" in disc["note"]
    assert (after.gross, after.net, after.tax) == ("300.00", "283.02", "16.98")
    assert after.frozen["addresses"] == [HZ_ADDRESS]
    assert "3. 老客户9折：优惠已暂停，本单未使用" in stack.said(f"kf:{KF_USER}")[-1]
    # Another address of the district keeps its discount (one frozen address < threshold 5).
    other = await ac_install(stack, address="杭州市西湖区天目山路1号")
    assert other.gross == "270.00"
    # A manager lifts the freeze: the discount is back.
    env = {"DATABASE_URL": stack.bot.settings.DATABASE_URL}
    listed = await settle_command(env, ["settle", "freezes"])
    assert listed.startswith(f"#{freeze.id}\taddress\t{HZ_ADDRESS}\tactive\t")
    await settle_command(env, ["settle", "freezes", "--lift", str(freeze.id)])
    assert (await ac_install(stack)).gross == "270.00"


async def test_enough_frozen_addresses_freeze_the_district(stack):
    await staff(stack)
    setup = stack.bot.services[SettlementSetup]
    stack.bot.services.add(replace(setup, config=setup.config.model_copy(
        update={"guard": Guard(max_events=1, window_days=30, region_threshold=2)})))
    now = stack.clock.now()
    for address in ("杭州市西湖区文三路1号", "杭州市西湖区文三路2号"):
        for _ in range(2):
            t = await new_ticket(stack, category="install", device="空调", address=address,
                                 codes=HZ)
            async with stack.bot.sm() as s, s.begin():
                from handlers.lifecycle import transition

                tt = await s.get(Ticket, t.id)
                await transition(s, tt, "cancelled", actor="test", now=now)
                await inbox_insert(s, [inbox_row(Event(
                    "internal", "event", "ticket_cancelled", "", f"ticket:{t.id}",
                    f"test:cancel:{t.id}", {"ticket_id": t.id}), now)])
            await stack.settle()
    frozen = [(f.scope, f.value) for f in await stack.rows(PromotionFreeze)]
    assert frozen == [("address", "杭州市西湖区文三路1号"), ("address", "杭州市西湖区文三路2号"),
                      ("region", "330106")]
    told = stack.said(f"app:{MANAGER}")
    assert told[-1] == texts.SETTLE_GUARD_REGION.format(region="西湖区", count=2, threshold=2)
    assert len(told) == 3
    # A third address of the district: no discount either.
    for _ in range(2):
        await new_ticket(stack, category="install", device="空调", address="杭州市西湖区x路3号",
                         codes=HZ, status="closed")
    st = await ac_install(stack, address="杭州市西湖区x路3号")
    assert st.gross == "300.00" and st.frozen["regions"] == ["330106"]


# -- the month ------------------------------------------------------------------------------

# November 2026 from the database, provider P001, technician lishifu:
#   GD…-0001 coffee repair as above, rated 3:      net 317.50 tax 41.28 gross 358.78
#            technician 158.75, provider 30.00, platform 128.75
#   GD…-0002 hood cleaning (油烟机清洗, VAT 6% included), 1 unit, 6 filters reported as parts:
#            清洗 1 台 × 150.00 (volume tier up to 1) = 150.00
#            滤网 6 − 2 free = 4 → ceil(4/5) = 1 pack × 30.00 = 30.00
#            gross 180.00; net 180 / 1.06 = 169.811… → 169.81; tax 10.19
#            default split of net: technician 60% = 101.886, provider 25% = 42.4525,
#            platform 15% = 25.4715 → to the fen, largest remainder: 101.89 / 42.45 / 25.47
#   totals: net 487.31, tax 51.47, gross 538.78; shares technician 260.64, provider 72.45,
#           platform 154.22; rebate ladder below 200,000: 0; no SLA breach: penalty 0
#   payable to P001 = 72.45; technician: the coffee share weighted by rating 3 (0.95):
#           withheld 158.75 × 0.05 = 7.9375 → 7.94; payout 260.64 − 7.94 = 252.70
#   platform = 154.22 + 7.94 = 162.16
#   vouchers (dated 2026-11-30): 1 Dr 1122 538.78 / Cr 6001 487.31 / Cr 22210106 51.47;
#   2 Dr 6401 333.09 / Cr 2202 72.45 / Cr 2241 260.64; 3 Dr 2241 7.94 / Cr 6401 7.94
async def test_the_month_from_the_database_with_vouchers_twice(stack, tmp_path):
    await staff(stack)
    coffee = await new_ticket(stack)
    await complete(stack, coffee)
    hood = await new_ticket(stack, device="油烟机", category="repair")
    await complete(stack, hood, minutes=45, km=None,
                   parts=[{"name": "油烟机滤网", "qty": "6", "unit_cost": "3.00"}])
    async with stack.bot.sm() as s, s.begin():
        (await s.get(Ticket, coffee.id)).satisfaction = 3  # rated after the statement
    # December work does not count in November.
    stack.clock.advance(days=10)
    await complete(stack, await new_ticket(stack))
    setup = stack.bot.services[SettlementSetup]

    result, stored, under_review = await period_from_db(stack.bot.sm, setup, "2026-11",
                                                        now=stack.clock.now())
    assert stored and under_review == 0
    doc = result.to_dict()
    assert (doc["tickets"], doc["totals"]) == (2, {"net": "487.31", "tax": "51.47",
                                                   "gross": "538.78", "platform": "162.16"})
    [p] = doc["providers"]
    assert (p["provider"], p["tickets"], p["shares"], p["rebate"], p["sla_penalty"],
            p["payable"]) == ("P001", 2, {"platform": "154.22", "provider": "72.45",
                                          "technician": "260.64"}, "0.00", "0.00", "72.45")
    [tech] = doc["technicians"]
    assert (tech["technician"], tech["share"], tech["satisfaction_adjustment"],
            tech["payout"]) == (TECH, "260.64", "-7.94", "252.70")
    period = (await stack.rows(SettlementPeriod))[0]
    assert (period.month, period.period_id, period.tickets, period.result) == (
        "2026-11", result.id, 2, doc)
    lines = [(ln.scope, ln.subject, ln.amount) for ln in await stack.rows(SettlementPeriodLine)]
    assert lines == [("provider", "P001", "72.45"), ("technician", TECH, "252.70")]

    # Through the command line, with the voucher file; twice: identical, nothing new stored.
    env = {"DATABASE_URL": stack.bot.settings.DATABASE_URL}
    out1 = await settle_command(env, ["settle", "period", "--month", "2026-11", "--export", "csv",
                                      "--out", str(tmp_path)])
    out2 = await settle_command(env, ["settle", "period", "--month", "2026-11", "--export", "csv",
                                      "--out", str(tmp_path)])
    assert json.loads(out1) == json.loads(out2) == doc
    assert await count(stack, SettlementPeriod) == 1 and await count(stack, SettlementPeriodLine) == 2
    vouchers = list(csv.DictReader(io.StringIO(
        (tmp_path / "settlement-2026-11.csv").read_text(encoding="utf-8-sig"))))
    got = [(v["凭证号"], v["科目代码"], v["借方金额"], v["贷方金额"], v["供应商"], v["职员"])
           for v in vouchers]
    assert got == [("1", "1122", "538.78", "", "", ""), ("1", "6001", "", "487.31", "", ""),
                   ("1", "22210106", "", "51.47", "", ""),
                   ("2", "6401", "333.09", "", "", ""), ("2", "2202", "", "72.45", "P001", ""),
                   ("2", "2241", "", "260.64", "", TECH),
                   ("3", "2241", "7.94", "", "", TECH), ("3", "6401", "", "7.94", "", "")]
    assert {v["凭证日期"] for v in vouchers} == {"2026-11-30"}

    # A correction changes the month: a re-run stores a new version, the old one stays.
    async with stack.bot.sm() as s, s.begin():
        s.add(SettlementReview(dedupe_key="t", kind="dispute", ticket_id=hood.id,
                               statement_id=(await stack.rows(SettlementStatement))[1].statement_id,
                               party="customer", who=KF_USER, words="x",
                               opened_at=stack.clock.now()))
    review = (await stack.rows(SettlementReview))[-1]
    await review_correct(stack.bot.sm, setup, review.id, by="zhao", note="",
                         now=stack.clock.now(), quantities={"units": Decimal("2")})
    result2, stored2, _ = await period_from_db(stack.bot.sm, setup, "2026-11",
                                               now=stack.clock.now())
    assert stored2 and result2.id != result.id and result2.tickets == 2
    # hood corrected to 2 台: 2 × 130.00 (volume tier up to 3) + filters 30.00 = 290.00 gross,
    # net 290 / 1.06 = 273.58; the month: gross 358.78 + 290.00 = 648.78
    assert result2.to_dict()["totals"]["gross"] == "648.78"
    assert await count(stack, SettlementPeriod) == 2


async def settle_command(env: dict[str, str], argv: list[str]) -> str:
    """``python main.py settle …`` in a thread (it runs its own event loop), stdout back."""
    import contextlib
    import os

    import main

    def run() -> str:
        buf = io.StringIO()
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            with contextlib.redirect_stdout(buf):
                code = main.main(argv)
            if code != 0:
                raise SystemExit(code)
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        return buf.getvalue()

    return await asyncio.to_thread(run)


# -- a part without a price: asked for in chat, never silent ------------------------------------

# Coffee repair as above with 密封圈 2 × 5.00 and 水泵 1 × 180.00 (each + 20% markup):
#   检测费 80.00 + 维修工时 180.00 + 路程费 15.50 + 密封圈 2 × 6.00 = 12.00 + 水泵 216.00
#   net 503.50; VAT 13% 65.455 → 65.46; gross 568.96; technician 50% of net 251.75
N1 = "GD20261125-0001"
SEAL_AND_PUMP = [{"name": "密封圈", "qty": "2", "unit_cost": "5"},
                 {"name": "水泵", "qty": "1", "unit_cost": None}]


async def events_of(stack, ticket_id: int) -> list[TicketEvent]:
    return await stack.rows(TicketEvent, TicketEvent.ticket_id == ticket_id,
                            TicketEvent.action.like("settlement:%"))


async def test_a_part_without_a_price_is_asked_for_and_the_answer_sends_the_statement(stack):
    await staff(stack)
    t = await new_ticket(stack)
    await complete(stack, t, parts=SEAL_AND_PUMP)
    # Not priced, not silent: the technician is asked at once for exactly what is missing.
    assert await count(stack, SettlementStatement) == 0
    assert stack.said(f"app:{TECH}") == [
        f"工单 {N1} 还不能出结算单：配件“水泵”还没有单价。请回复例如：水泵 180元\n"
        "30分钟内没有收到，将转财务核价。"]
    # The customer is told what the statement waits for and that it comes when it is priced.
    assert stack.said(f"kf:{KF_USER}") == [
        f"工单 {N1}：结算单还差配件“水泵”的单价，师傅补报后会发给您核对。"]
    assert stack.said(f"app:{FINANCE}") == [] and await count(stack, SettlementReview) == 0
    [timer] = await stack.rows(Timer, Timer.key == f"part_prices:{t.id}")
    assert (timer.status, timer.kind, timer.due_at) == (
        "armed", "part_prices_timeout", stack.clock.now() + timedelta(minutes=30))
    [asked] = await events_of(stack, t.id)
    assert (asked.action, asked.after) == ("settlement:ask_prices", {"to": TECH, "parts": ["水泵"]})

    # The technician answers without any keyword; the price goes into the work report and the
    # statement goes out as usual.
    stack.clock.advance(minutes=5)
    await stack.sandbox.member_says(TECH, "水泵 180元")
    await stack.settle()
    tech = stack.said(f"app:{TECH}")
    assert tech[1] == f"已记下：水泵 单价180元。工单 {N1} 的结算单已发给客户，您的结算明细见下一条。"
    assert tech[2].startswith(f"工单 {N1} 结算明细（咖啡机维修）")
    assert "您的分成：¥251.75（占50.00%）" in tech[2]
    customer = stack.said(f"kf:{KF_USER}")[-1]
    assert customer.startswith(f"工单 {N1} 结算单（咖啡机维修）\n")
    assert "配件（密封圈） 2件 × ¥6.00：¥12.00\n" in customer
    assert "配件（水泵） 1件 × ¥216.00：¥216.00\n" in customer
    assert "小计：¥503.50\n税额（13%）：¥65.46\n合计：¥568.96\n" in customer
    [row] = await stack.rows(SettlementStatement)
    assert (row.net, row.gross, row.technician_share) == ("503.50", "568.96", "251.75")
    first, second = await stack.rows(WorkReport)
    assert first.parts == SEAL_AND_PUMP  # what was said at 完工 stays as it was
    assert second.parts == [{"name": "密封圈", "qty": "2", "unit_cost": "5"},
                            {"name": "水泵", "qty": "1", "unit_cost": "180"}]
    assert (second.labour_minutes, second.travel_km) == (90, 6.2)
    [timer] = await stack.rows(Timer, Timer.key == f"part_prices:{t.id}")
    assert timer.status == "cancelled"
    # Nothing goes to finance later: the wait is over.
    stack.clock.advance(minutes=40)
    await stack.settle()
    assert stack.said(f"app:{FINANCE}") == [] and await count(stack, SettlementReview) == 0


async def test_without_an_answer_finance_is_pushed_and_the_customer_told_then_finance_prices_it(
        stack):
    await staff(stack)
    t = await new_ticket(stack)
    await complete(stack, t, parts=[{"name": "密封圈", "qty": "2", "unit_cost": None},
                                    {"name": "水泵", "qty": "1", "unit_cost": None}])
    assert stack.said(f"app:{TECH}")[-1].startswith(
        f"工单 {N1} 还不能出结算单：配件“密封圈”、“水泵”还没有单价。请回复例如：密封圈 180元，水泵 35元\n")
    # Half an answer is kept, and the rest asked for.
    await stack.sandbox.member_says(TECH, "密封圈2个共10元")
    await stack.settle()
    assert stack.said(f"app:{TECH}")[-1] == (
        f"已记下：密封圈 单价5元。工单 {N1} 还差配件“水泵”的单价，请回复例如：水泵 180元")
    # No more within price_wait_minutes: the durable timer pushes it to finance.
    stack.clock.advance(minutes=30)
    await stack.settle()
    [review] = await stack.rows(SettlementReview)
    assert (review.kind, review.status, review.ticket_id) == ("unpriced", "open", t.id)
    assert stack.said(f"app:{FINANCE}") == [
        f"待核价 #{review.id}：工单 {N1}（报修，咖啡机）已完工，李师傅30分钟内没有补报配件“水泵”的单价。\n"
        "已报配件：密封圈×2（单价5元）、水泵×1（未报单价）\n"
        f"请直接回复单价，例如：水泵 180元（同时有几张待核价时请带上工单号，例如：{N1} 水泵 180元）；\n"
        f"或在服务器上：python main.py settle review correct {review.id} --price 水泵=单价"]
    assert stack.said(f"app:{MANAGER}") == []  # finance is there: managers are not bothered
    assert stack.said(f"kf:{KF_USER}")[-1] == (
        f"工单 {N1}：配件“水泵”的单价已转财务核定，核定后结算单会发给您核对。")
    assert stack.said(f"app:{TECH}")[-1] == (
        f"工单 {N1} 的配件单价30分钟内没有收到，已转财务核价。您现在回复（例如：水泵 180元）仍然有效。")
    pushed = (await events_of(stack, t.id))[-1]
    assert (pushed.action, pushed.after) == ("settlement:prices_to_finance",
                                             {"review": review.id, "told": [FINANCE],
                                              "parts": ["水泵"]})
    # Finance answers in chat, as the technician would: the statement goes to both parties.
    await stack.sandbox.member_says(FINANCE, "水泵 180元")
    await stack.settle()
    assert stack.said(f"app:{FINANCE}")[-1] == (
        f"已记下：水泵 单价180元。工单 {N1} 的结算单（合计 ¥568.96）已发给客户和师傅。")
    assert "合计：¥568.96" in stack.said(f"kf:{KF_USER}")[-1]
    assert "您的分成：¥251.75" in stack.said(f"app:{TECH}")[-1]
    [review] = await stack.rows(SettlementReview)
    [row] = await stack.rows(SettlementStatement)
    assert (review.status, review.resolved_by, review.result_statement_id) == (
        "priced", FINANCE, row.statement_id)
    # A late answer from the technician finds nothing waiting for it.
    before = len(stack.said(f"app:{TECH}"))
    await stack.sandbox.member_says(TECH, "水泵 200元")
    await stack.settle()
    assert await count(stack, SettlementStatement) == 1
    assert not any("已记下" in x for x in stack.said(f"app:{TECH}")[before:])


async def test_a_late_answer_from_the_technician_still_prices_it_and_finance_is_told(stack):
    await staff(stack)
    t = await new_ticket(stack)
    await complete(stack, t, parts=SEAL_AND_PUMP)
    stack.clock.advance(minutes=31)
    await stack.settle()
    [review] = await stack.rows(SettlementReview)
    await stack.sandbox.member_says(TECH, "180")  # one part missing: a bare price is its price
    await stack.settle()
    [row] = await stack.rows(SettlementStatement)
    assert row.gross == "568.96"
    assert stack.said(f"app:{FINANCE}")[-1] == (
        f"待核价 #{review.id}（工单 {N1}）：李师傅已补报单价，结算单已发出，无需再处理。")
    [review] = await stack.rows(SettlementReview)
    assert (review.status, review.resolved_by) == ("priced", TECH)
    # Finance's own answer now finds nothing to price.
    before = len(stack.said(f"app:{FINANCE}"))
    await stack.sandbox.member_says(FINANCE, "水泵 180元")
    await stack.settle()
    assert not any("已记下" in x for x in stack.said(f"app:{FINANCE}")[before:])
    assert await count(stack, SettlementStatement) == 1 and len(await stack.rows(WorkReport)) == 2


async def test_finance_prices_a_missing_part_from_the_command_line(stack):
    await staff(stack)
    t = await new_ticket(stack, customer="zhangsan", channel="app")
    await complete(stack, t, parts=SEAL_AND_PUMP)
    stack.clock.advance(minutes=30)
    await stack.settle()
    [review] = await stack.rows(SettlementReview)
    assert stack.said("app:zhangsan")[-1] == (
        f"工单 {N1}：配件“水泵”的单价已转财务核定，核定后结算单会发给您核对。")
    env = {"DATABASE_URL": stack.bot.settings.DATABASE_URL}
    with pytest.raises(SystemExit):  # a price for a part that was not reported: nothing priced
        await settle_command(env, ["settle", "review", "correct", str(review.id),
                                   "--price", "电机=50", "--by", "zhao"])
    await settle_command(env, ["settle", "review", "correct", str(review.id),
                               "--price", "水泵=180", "--by", "zhao"])
    await stack.settle()
    [row] = await stack.rows(SettlementStatement)
    assert row.gross == "568.96"
    assert "合计：¥568.96" in stack.said("app:zhangsan")[-1]
    [card] = stack.cards("zhangsan")
    # The card's rows add up to its total: 3 lines shown, the other 2 combined, VAT, total.
    assert card.content["horizontal_content_list"] == [
        {"keyname": "检测费", "value": "¥80.00"}, {"keyname": "维修工时", "value": "¥180.00"},
        {"keyname": "路程费", "value": "¥15.50"}, {"keyname": "其他2项", "value": "¥228.00"},
        {"keyname": "增值税", "value": "¥65.46（13%）"}, {"keyname": "合计", "value": "¥568.96"}]
    # Nobody is asked any more; a technician's answer now is not taken as prices.
    async with stack.bot.sm() as s:
        assert await awaiting_about(s, "settlement", "part_prices", t.id) == []


async def test_finance_with_several_to_price_names_the_ticket(stack):
    await staff(stack)
    first = await new_ticket(stack)
    second = await new_ticket(stack, customer="zhangsan", channel="app")
    for t in (first, second):
        await complete(stack, t, parts=SEAL_AND_PUMP)
    stack.clock.advance(minutes=30)
    await stack.settle()
    assert len(await stack.rows(SettlementReview)) == 2
    # A bare answer would go to the newest; the named ticket wins.
    await stack.sandbox.member_says(FINANCE, f"{first.number} 水泵 180元")
    await stack.settle()
    [row] = await stack.rows(SettlementStatement)
    assert row.ticket_id == first.id
    assert stack.said(f"app:{FINANCE}")[-1].startswith(f"已记下：水泵 单价180元。工单 {first.number}")
    await stack.sandbox.member_says(FINANCE, f"{first.number} 水泵 180元")  # done already
    await stack.settle()
    assert stack.said(f"app:{FINANCE}")[-1] == texts.SETTLE_PRICES_NOT_ASKED.format(
        number=first.number)
    await stack.sandbox.member_says(FINANCE, "水泵 190元")  # the one left
    await stack.settle()
    assert [r.ticket_id for r in await stack.rows(SettlementStatement)] == [first.id, second.id]
    assert "合计：¥568.96" in stack.said(f"kf:{KF_USER}")[-1]
