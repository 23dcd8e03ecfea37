"""The seeds' pricing examples end to end: a 12-floor installation with 6 m of pipe billed from the
technician's 完工 message in chat, and every example of config/sandbox/pricing_seeds.yaml as a
statement in the sandbox with the seed's number (hand-checked in tests/handlers/settlement/
test_seed_books.py and docs/pricing.md). Clock: 2026-11-25 10:00 Shanghai."""

from __future__ import annotations

from decimal import Decimal

import pytest

from handlers.settlement.seeds import load_seeds, seed_pricing_examples
from models.dispatch import Offer
from models.settlement import SettlementStatement
from models.tickets import Ticket

GROUP = "wrSTORE3group"


def texts_to(st, user):
    return [ln.content for ln in st.sandbox.delivered(f"app:{user}") if ln.kind == "text"]


async def click(st, user, card_line, action):
    key = next(b["key"] for b in card_line.content["button_list"] if b["key"].split(":")[1] == action)
    await st.sandbox.click(user, card_line.task_id, key)
    await st.settle()


@pytest.mark.parametrize("completion", [
    ("完工 {n} 工时2小时 12楼 铜管6米 高空作业 无配件",),
    # the details first; the labour time after the bot asks for it: nothing said is lost
    ("完工 {n} 12楼 铜管6米 高空作业 无配件", "工时2小时"),
], ids=["one message", "two messages"])
async def test_a_12_floor_installation_with_6_m_of_pipe_is_billed_from_the_completion_message(
        st, completion):
    for said in ("人民广场店要装一台空调，12楼，铜管可能要6米 13812345678", "尽快", "确认"):
        await st.sandbox.aibot_says("zhangsan", said, chat_id=GROUP)
        await st.settle()
    [t] = await st.rows(Ticket)
    assert (t.category, t.device, t.store) == ("install", "空调", "人民广场店")
    offers = await st.rows(Offer)
    assert "lishifu" in {o.technician for o in offers}  # 空调: offered to those who install
    card = st.cards("lishifu")[-1]
    await click(st, "lishifu", card, "grab" if offers[0].mode == "grab" else "accept")
    assert (await st.rows(Ticket))[0].assignee == "lishifu"

    for said in completion:
        await st.sandbox.member_says("lishifu", said.format(n=t.number))
        await st.settle()
    [row] = await st.rows(SettlementStatement)
    # ac-install-sh: 240 + 工时 2h × 90 = 180 + 铜管 3 m included, 3 m × 60 = 180
    # + 高空作业 15% × (240 + 180) = 63 → 663.00 (6% VAT included: net 625.47, tax 37.53)
    assert (row.service_rule, row.gross, row.net, row.tax) == (
        "ac-install-sh", "663.00", "625.47", "37.53")
    assert row.ticket_input["floor"] == 12 and row.ticket_input["flags"] == ["高空作业"]
    assert row.ticket_input["quantities"]["pipe_m"] == "6"
    mine = next(x for x in texts_to(st, "zhangsan") if "结算单" in x)  # the reporter, 1:1
    assert "铜管加长" in mine
    assert "高空作业" in mine and "合计：¥663.00" in mine
    tech = next(x for x in texts_to(st, "lishifu") if "计价依据" in x)
    assert "高空作业" in tech and "¥63.00" in tech and "¥180.00" in tech


async def test_every_seed_example_is_a_statement_in_the_sandbox(st):
    seeds = load_seeds()
    async with st.bot.sm() as s, s.begin():
        added = await seed_pricing_examples(s, st.clock.now())
    assert len(added) == len(seeds.cases)
    await st.settle()
    rows = {r.ticket_id: r for r in await st.rows(SettlementStatement)}
    for case, ticket in zip(seeds.cases, added):
        assert ticket.id in rows, case.key
        assert Decimal(rows[ticket.id].gross) == case.gross, (case.key, rows[ticket.id].statement)
        said = [x for x in texts_to(st, case.customer) if ticket.number in x and "结算单" in x]
        assert said and f"合计：¥{case.gross}" in said[-1], case.key
    # The 油烟机清洗 statement reads 60% / 15% / 25% for the technician.
    hood = next(t for c, t in zip(seeds.cases, added) if c.key == "hood-60-15-25")
    tech = next(x for x in texts_to(st, "wangshifu") if hood.number in x and "计价依据" in x)
    for line in ("基础服务费", "占60.00%", "高空作业补贴", "占15.00%", "夜间加急费", "占25.00%"):
        assert line in tech, line
    # Added once: a restart adds nothing.
    async with st.bot.sm() as s, s.begin():
        assert await seed_pricing_examples(s, st.clock.now()) == []
