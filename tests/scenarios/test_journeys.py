"""The customer's whole journey on each of the four customer channels, on SQLite and PostgreSQL,
through the bot's real entry points (encrypted callbacks from the sandbox, card clicks, the
``settle`` command line): what the customer reads at every step, in which of their chats, and
that nothing reaches them anywhere else. The journeys themselves (and a printable transcript)
are in ``tests/scenarios/journey_transcript.py``.

Hand-checked statement (config/pricebooks/cn-home-2026b.yaml, rule coffee-repair-cn, VAT 13% on
top; 李师傅's home is 0.4 km from 人民广场店; each part + 20% markup):
    检测费 80.00 + 维修工时 1.5 h × 120 = 180.00 + 路程费 0.4 km × 2.50 = 1.00
    + 密封圈 2 × 6.00 = 12.00 + 水泵 1 × 216.00 = 216.00 → subtotal 489.00;
    VAT 489.00 × 0.13 = 63.57; total 552.57.
Corrected to 1 h labour: 维修工时 120.00; subtotal 429.00; VAT 55.77; total 484.77.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from handlers.dispatch import texts as dispatch_texts
from handlers.intake import texts as intake_texts
from handlers.settlement import texts
from models.settlement import SettlementReview, SettlementStatement, StatementAck
from models.tickets import Ticket
from tests.scenarios.journey_transcript import (CHANNELS, FINANCE, PHONE, REPORT, TECH, Journey,
                                                close_stack, journey_a, journey_b, open_stack,
                                                up_to_the_statement)

N = "GD20261125-0001"
GROUP, ROBOT = "aibot:g:wrSTORE3group", "webhook:sandbox-store3-robot"
KF, LIU, ZHANG = "kf:wmCHENnvshi0001", "aibot:u:liuxiansheng", "app:zhangsan"

#: where each kind of message reaches the customer (handlers/notify.py ROUTES):
#: the answer to what they wrote; news that comes later (接单 …); private news (statements)
REPLY = {"kf": KF, "aibot_user": LIU, "aibot_group": GROUP, "app": ZHANG}
NEWS = {"kf": KF, "aibot_user": "app:liuxiansheng", "aibot_group": ROBOT, "app": ZHANG}
PRIVATE = {"kf": KF, "aibot_user": "app:liuxiansheng", "aibot_group": ZHANG, "app": ZHANG}

STATEMENT_LINES = [
    f"工单 {N} 结算单（咖啡机维修）",
    "1. 检测费：¥80.00",
    "2. 维修工时 1.5小时 × ¥120.00：¥180.00",
    "3. 路程费 0.4公里 × ¥2.50：¥1.00",
    "4. 配件（密封圈） 2件 × ¥6.00：¥12.00",
    "5. 配件（水泵） 1件 × ¥216.00：¥216.00",
    "小计：¥489.00",
    "税额（13%）：¥63.57",
    "合计：¥552.57",
]

# Words and shapes a customer must never read: the price book, its rule and the shares
# (finance's and the technician's), region codes, unfilled values, internal keys, the
# technician's own mobile (13900000001; customers get the hotline and his extension).
FORBIDDEN = ("价目表", "规则", "计价依据", "您的分成", "服务净额", "None", "null", "{", "}",
             "dispatch:", "settle:", "intake:", "13900000001", "区域")
FORBIDDEN_RE = (re.compile(r"占\d"), re.compile(r"(?<![\d\-])\d{6}(?!\d)"))  # 占39.80%, 310101


@pytest.fixture
async def stack(db_url):
    st = await open_stack(db_url)
    yield st
    await close_stack(st)


def money(text: str) -> Decimal:
    """¥1,234.50, -¥60.00, +¥7.80 → Decimal."""
    return Decimal(text.replace(",", "").replace("¥", ""))


def check_statement_adds_up(lines: list[str]) -> None:
    """Every line's quantity × rate is its amount; the lines add up to the subtotal; subtotal
    plus VAT is the total."""
    amounts = []
    for ln in lines:
        m = re.fullmatch(r"\d+\. .*?(?: ([\d.]+)\D+ × (¥[\d,.]+))?：(-?)(¥[\d,.]+)", ln)
        if m:
            amount = money(m[4]) * (-1 if m[3] else 1)
            if m[1]:
                assert Decimal(m[1]) * money(m[2]) == amount, ln
            amounts.append(amount)
    totals = {k: money(v) for k, v in re.findall(r"^(小计|税额|合计)(?:（\d+%）)?：(¥[\d,.]+)$",
                                                  "\n".join(lines), re.M)}
    assert sum(amounts) == totals["小计"]
    assert totals["小计"] + totals["税额"] == totals["合计"]


def check_card_adds_up(card: dict) -> None:
    rows = card["horizontal_content_list"]
    assert rows[-1]["keyname"] == "合计" and any(r["keyname"] == "增值税" for r in rows)
    amounts = [money(r["value"].split("（")[0]) for r in rows if r["keyname"] != "小计"]
    assert sum(amounts[:-1]) == amounts[-1]


def check_clean(j: Journey) -> None:
    """Nothing internal in anything the customer read; in a group, the phone is masked; and
    nothing reached them (or anyone) outside their own chats and the staff's app chats."""
    for step in j.steps:
        for seen in step.seen:
            for word in FORBIDDEN:
                assert word not in seen.text, (step.name, word, seen.text)
            for pattern in FORBIDDEN_RE:
                assert not pattern.search(seen.text), (step.name, pattern.pattern, seen.text)
            if seen.chat.id in (GROUP, ROBOT):
                assert PHONE not in seen.text, (step.name, seen.text)
    assert j.elsewhere() == {}


def chats(step) -> list[str]:
    """The chats each new message of the step came to (a card changed in place aside)."""
    return [s.chat.id for s in step.seen if s.kind != "card_update"]


def shown(step) -> list[tuple[str, str, str]]:
    """What the step showed, for a failing assertion's message: (chat, kind, text)."""
    return [(s.chat.id, s.kind, s.text) for s in step.seen]


def updates(step) -> list[tuple[str, str]]:
    """The customer's cards that changed in place at this step: (chat, what replaced them)."""
    return [(s.chat.id, s.text.rsplit("〔", 1)[1].rstrip("〕")) for s in step.seen
            if s.kind == "card_update"]


def check_up_to_the_statement(j: Journey) -> None:
    ch = j.channel
    reply, news, private = REPLY[ch], NEWS[ch], PRIVATE[ch]
    phone = "138****5678" if ch == "aibot_group" else PHONE

    # Slot filling: the bot asks for what is missing, one thing at a time, and shows the draft.
    s = j.step("报修")
    assert chats(s) == [reply], shown(s)
    assert s.text() == "收到您的报修：人民广场店咖啡机坏了\n请留一个联系电话，方便师傅联系您。"
    s = j.step("留电话")
    assert chats(s) == [reply], shown(s)
    assert s.text() == f"已补充：{phone}\n希望什么时间上门？（如：明天下午、周六上午，或回复“尽快”）"
    s = j.step("上门时间")
    summary = ["类型：报修", "设备：咖啡机", "地点：人民广场店", f"电话：{phone}", "时间：尽快",
               "描述：人民广场店咖啡机坏了"]
    assert s.texts[0].split("\n")[:8] == ["已补充：尽快", "请核对工单信息：", *summary]
    if ch == "app":  # app members also get a confirmation card
        assert chats(s) == [reply, reply], shown(s)
        assert [b["text"] for b in s.cards[0]["button_list"]] == ["确认", "修改", "取消"]
    else:
        assert chats(s) == [reply], shown(s)
        assert s.texts[0].endswith("信息无误请回复“确认”，需要修改请回复“修改”，不需要了请回复“取消”。")
    s = j.step("确认工单")
    assert chats(s) == [reply], shown(s)
    assert s.text().split("\n") == [f"已为您创建工单 {N}", *summary,
                                    "我们会尽快安排，回复“进度”可随时查询。"]

    # 接单: who is coming, roughly when, and the hotline with his extension.
    s = j.step("接单")
    assert chats(s) == [news], shown(s)
    assert s.text() == dispatch_texts.CUSTOMER_ACCEPTED.format(
        number=N, name="李师傅", eta="预计约12分钟到达（按距离估算）",
        contact="400-800-1234 转 8001")
    s = j.step("出发")
    assert chats(s) == [news], shown(s)
    assert s.text() == f"工单 {N}：李师傅已出发，预计约12分钟到达（按距离估算）。"
    s = j.step("到达")
    if ch == "kf":
        # WeCom lets us send a 微信客服 customer 5 messages per message of theirs; after 确认:
        # created, 接单, 出发, 完工, the statement. 到达 gives way (README, "Channels").
        assert s.seen == []
    else:
        assert chats(s) == [news], shown(s)
        assert s.text() == f"工单 {N}：李师傅已到达现场。"

    # 完工 with two parts, one without a price: the customer hears of both parts (no prices)
    # and, where the allowance leaves room, that the statement waits for the pump's price.
    s = j.step("完工")
    done = (f"工单 {N}：李师傅已完工（工时1.5小时，配件：密封圈×2、水泵×1）。\n"
            "请您核对，确认完成请回复“确认”；如问题仍在，请直接描述，我们会继续处理。")
    pending = f"工单 {N}：结算单还差配件“水泵”的单价，师傅补报后会发给您核对。"
    if ch == "kf":  # the last of the 5 sends is kept for the statement itself
        assert (chats(s), s.texts) == ([news], [done])
    else:
        # two chats, two senders' queues: which arrives first is not promised
        assert sorted(zip(chats(s), s.texts)) == sorted([(news, done), (private, pending)])

    # The price arrives: the statement, to the customer only (never into the group).
    s = j.step("补报单价")
    statement = s.texts[0].split("\n")
    assert statement == STATEMENT_LINES + [
        texts.SETTLE_HOW_TEXT if ch == "kf" else texts.SETTLE_HOW_CARD]
    check_statement_adds_up(statement)
    if ch == "kf":  # WeChat shows no cards
        assert chats(s) == [private], shown(s)
    else:
        assert chats(s) == [private, private], shown(s)
        [card] = s.cards
        assert card["main_title"] == {"title": f"工单 {N} 结算单",
                                      "desc": "咖啡机维修，合计 ¥552.57，请确认"}
        check_card_adds_up(card)
        assert [b["text"] for b in card["button_list"]] == ["确认", "异议"]
    # The customer's chats saw no card at all on 微信客服.
    if ch == "kf":
        assert not any(seen.card for step in j.steps for seen in step.seen)


async def acks(stack) -> list[tuple[str, str, str]]:
    return [(a.party, a.status, a.via or "") for a in await stack.rows(StatementAck)]


@pytest.mark.parametrize("channel", list(CHANNELS))
async def test_journey_a_report_to_confirmed_statement(stack, channel):
    j = await journey_a(stack, channel)
    check_up_to_the_statement(j)
    s = j.step("确认账单")
    assert s.did == ("客户：@工单助手 确认" if channel == "aibot_group" else "客户：确认")
    assert chats(s)[0] == REPLY[channel]
    assert s.texts == [intake_texts.CONFIRMED_CLOSED.format(number=N)]
    if channel != "kf":  # the statement card the customer did not click says it is settled
        assert [x.text for x in s.seen if x.kind == "card_update"] == [
            f"［卡片］工单 {N} 结算单 咖啡机维修，合计 ¥552.57，请确认｜检测费 ¥80.00｜"
            "维修工时 ¥180.00｜路程费 ¥1.00｜其他2项 ¥228.00｜增值税 ¥63.57（13%）｜"
            "合计 ¥552.57｜〔已确认〕"]
    [ticket] = await stack.rows(Ticket)
    assert (ticket.status, ticket.number, ticket.channel) == (
        "closed", N, "kf" if channel == "kf" else "app" if channel == "app" else "aibot")
    assert (await acks(stack))[0][:2] == ("customer", "confirmed")
    [statement] = await stack.rows(SettlementStatement)
    assert (statement.net, statement.tax, statement.gross) == ("489.00", "63.57", "552.57")
    check_clean(j)


@pytest.mark.parametrize("channel", list(CHANNELS))
async def test_journey_b_dispute_review_correction(stack, channel):
    j = await journey_b(stack, channel)
    check_up_to_the_statement(j)
    s = j.step("异议")
    assert (chats(s), s.texts) == ([REPLY[channel]], [texts.SETTLE_DISPUTED.format(number=N)])
    # The statement card (not on WeChat) no longer asks: it says the dispute was taken.
    assert updates(s) == ([] if channel == "kf" else [(PRIVATE[channel], "已提出异议")])
    [review] = await stack.rows(SettlementReview)
    assert (review.kind, review.party, review.status) == ("dispute", "customer", "corrected")
    # Finance was told, with the customer's words (in the app, where finance works).
    told = [ln.content for ln in stack.sandbox.delivered(f"app:{FINANCE}")]
    assert told[0].startswith(f"结算异议 #{review.id}：工单 {N}，客户对结算单")  # no WeCom id
    assert "有异议：“有异议，工时只有1小时”" in told[0]

    # The correction reaches the customer privately: what changed, and it adds up — the
    # changed line and the changed VAT make the change of the total.
    s = j.step("财务更正")
    assert chats(s)[0] == PRIVATE[channel]
    correction = s.texts[0].split("\n")
    assert correction == [
        f"工单 {N} 的结算单已更正（第1次更正），变化如下：",
        "维修工时：¥180.00 → ¥120.00（-¥60.00）",
        "税额（13%）：¥63.57 → ¥55.77（-¥7.80）",
        "合计：¥552.57 → ¥484.77",
        "财务说明：按实际工时1小时计",
        texts.SETTLE_HOW_TEXT if channel == "kf" else texts.SETTLE_HOW_CARD]
    deltas = [money(d) for d in re.findall(r"（([-+]¥[\d,.]+)）", s.texts[0])]
    assert sum(deltas) == Decimal("484.77") - Decimal("552.57")
    if channel == "kf":
        assert chats(s) == [PRIVATE[channel]], shown(s)
    else:  # a new card asks again; the old one says it was corrected
        [card] = s.cards
        assert card["main_title"]["desc"] == "咖啡机维修，合计 ¥484.77，请确认"
        check_card_adds_up(card)
        assert updates(s) == []  # the old card said 已提出异议 already
    old, new = await stack.rows(SettlementStatement)
    assert (new.kind, new.corrects, new.net, new.tax, new.gross) == (
        "correction", old.statement_id, "429.00", "55.77", "484.77")

    # The customer confirms the corrected statement.
    s = j.step("确认更正后的账单")
    assert chats(s)[0] == REPLY[channel]
    assert s.texts == [intake_texts.CONFIRMED_CLOSED.format(number=N)]
    assert (await acks(stack))[2][:2] == ("customer", "confirmed")  # the new statement's
    check_clean(j)


@pytest.mark.parametrize("channel", ["aibot_user", "aibot_group"])
async def test_an_ai_bot_customer_may_answer_in_the_app_chat_the_statement_came_to(
        stack, channel):
    """The statement reaches an AI-bot customer 1:1 in the app and says 回复“确认”: answering
    right there works as well as answering the AI bot."""
    j = Journey(stack, channel)
    await up_to_the_statement(j)
    await stack.sandbox.member_says(j.user, "确认")
    await stack.settle()
    said = stack.said(f"app:{j.user}")
    assert said[-1] == intake_texts.CONFIRMED_CLOSED.format(number=N)
    assert (await acks(stack))[0][:2] == ("customer", "confirmed")
    check_clean(j)


async def test_a_kf_arrival_kept_back_is_not_claimed_as_told_to_the_technician(stack):
    j = await journey_a(stack, "kf")
    assert j.step("到达").seen == []  # the customer was not told …
    arrived = [ln.content for ln in stack.sandbox.delivered(f"app:{TECH}")
               if ln.kind == "text" and "已记录到达" in ln.content]
    assert arrived and "已通知客户" not in arrived[0]  # … so the technician must not hear so
    assert "客户这次不会收到通知" in arrived[0]


@pytest.mark.parametrize("channel", list(CHANNELS))
async def test_a_visit_day_without_an_hour_is_promised_as_that_day(stack, channel):
    """"明天" keeps a default hour for shifts and ranking, but nobody chose it: the technician's
    card and the customer hear the day alone; once he sets off he is on his way now (not "at
    the appointment"); an hour the customer names later is shown with it. On every channel."""
    j = Journey(stack, channel)
    for name, said in (("报修", REPORT), ("留电话", PHONE), ("上门时间", "明天"), ("确认工单", "确认")):
        await j.customer(name, said)
    [t] = await stack.rows(Ticket)
    assert t.fields["precision"] == "date"
    offer = stack.cards(TECH)[-1]
    assert {r["keyname"]: r["value"] for r in offer.content["horizontal_content_list"]}[
        "时间"] == "11月26日"
    s = await j.technician_clicks("接单", "accept", offer)
    assert "李师傅已接单，将按您预约的时间 11月26日 上门" in s.text(), s.text()
    assert not re.search(r"11月26日 \d\d:\d\d", s.text())
    s = await j.technician_clicks("出发", "depart", stack.cards(TECH)[-1])
    assert "李师傅已出发" in s.text() and "预约" not in s.text(), s.text()
    s = await j.customer("改时间", f"{t.number} 时间改成明天下午3点")
    assert "11月26日 15:00" in s.text(), s.text()
    [t] = await stack.rows(Ticket)
    assert t.fields["precision"] == "minute"
