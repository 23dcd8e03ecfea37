"""A completion left waiting for the customer's 确认 after the ticket stopped being ``resolved``.

At 完工 intake records that the customer's 确认 closes the ticket (``Awaiting`` kind
``completion``, handlers/intake/router.py ``on_resolved``). ``handlers/arbitration.py`` gives a
bare 确认 to a live ``completion`` before a ``statement``, so a completion left behind when a
ticket leaves ``resolved`` some other way would take the customer's 确认 meant for a statement:
intake would answer "目前没有等待您确认的工单。" and the statement would stay unconfirmed.
``handlers/lifecycle.py transition()`` settles it whenever a ticket leaves ``resolved``
(before, only intake's own 确认 / 取消 did, in handlers/intake/followups.py).

The journeys below go through the sandbox with its own people (config/sandbox/staff.yaml):
张三 (zhangsan, the store employee who reports in the app), 李师傅 (lishifu, technician),
王经理 (wangjingli, manager), 周质检 (zhouzhijian, 质检部).

Ways out of ``resolved`` in the code (handlers/lifecycle.py: resolved → closed | reopened):

* the customer's 确认 (intake ``confirm_done``) — settles the completion;
* the HTTP API's ``POST /tickets/{n}/status {"status": "closed"}`` — goes through the same
  ``confirm_done``: settles it;
* the workflow's close node (handlers/workflow/nodes.py ``close``) — only for tickets nobody
  dispatches, which never get a 完工 and so never a completion; a dispatched ticket's close node
  waits for the customer's 确认 (journey below);
* ``reopened`` — legal in the table, but nothing in the product moves a ticket there yet.

The last tests move the ticket with ``handlers.lifecycle.transition`` alone, as
``nodes.py close()`` (and any future reopen) does: nothing may be left waiting.
"""

from __future__ import annotations

from decimal import Decimal

import aiohttp
import pytest

from handlers.intake import texts as intake_texts
from handlers.lifecycle import transition
from handlers.settlement import texts as settle_texts
from handlers.settlement.cli import review_correct
from handlers.settlement.config import SettlementSetup
from models.conversation import Awaiting
from models.settlement import SettlementReview, SettlementStatement, StatementAck
from models.tickets import Ticket
from models.workflow import WorkflowNode
from tests.handlers.board.conftest import ALL, make_key

CUSTOMER, TECH, MANAGER, QC = "zhangsan", "lishifu", "wangjingli", "zhouzhijian"
REPORT = "人民广场店咖啡机坏了，请尽快来修 13812345678"


def said_to(st, user: str) -> list[str]:
    return st.said(f"app:{user}")


async def say(st, user: str, text: str) -> list[str]:
    """What the bot said to ``user`` (an app member, 1:1) in answer to ``text``."""
    before = len(said_to(st, user))
    await st.sandbox.member_says(user, text)
    await st.settle()
    return said_to(st, user)[before:]


async def completed_repair(st) -> Ticket:
    """张三 reports in the app, 李师傅 takes it and reports 完工: the ticket is resolved, 张三 is
    asked to 确认 and has the itemised statement."""
    for text in (REPORT, "尽快", "确认"):
        await say(st, CUSTOMER, text)
    t = (await st.rows(Ticket))[-1]
    assert t.status in ("new", "dispatched"), t.status
    assert any("已接单" in x for x in await say(st, TECH, f"接单 {t.number}"))
    await say(st, TECH, "完工，用时40分钟，没有更换配件")
    t = await ticket(st, t.id)
    assert t.status == "resolved"
    assert await completions(st, t.id), "at 完工 the customer's 确认 is awaited"
    [cust_ack] = await st.rows(StatementAck, StatementAck.party == "customer",
                               StatementAck.ticket_id == t.id)
    assert cust_ack.status == "pending"
    return t


async def ticket(st, ticket_id: int) -> Ticket:
    [t] = await st.rows(Ticket, Ticket.id == ticket_id)
    return t


async def completions(st, ticket_id: int) -> list[Awaiting]:
    return await st.rows(Awaiting, Awaiting.kind == "completion", Awaiting.ref == ticket_id)


async def customer_ack(st, ticket_id: int) -> StatementAck:
    return (await st.rows(StatementAck, StatementAck.party == "customer",
                          StatementAck.ticket_id == ticket_id))[-1]


async def corrected_statement(st, t: Ticket) -> SettlementStatement:
    """李师傅 disputes his statement; finance corrects the labour: both parties get the
    correction, the customer's new answer is awaited."""
    await say(st, TECH, f"异议 {t.number} 工时只有半小时")
    [review] = await st.rows(SettlementReview)
    new = await review_correct(st.bot.sm, st.bot.services[SettlementSetup], review.id, by="zhao",
                               note="按实际工时半小时计", now=st.clock.now(),
                               quantities={"hours": Decimal("0.5")})
    await st.settle()
    assert "已更正" in said_to(st, CUSTOMER)[-1]
    ack = await customer_ack(st, t.id)
    assert (ack.statement_id, ack.status) == (new.statement_id, "pending")
    return new


# -- the customer's own 确认 (the reference) ---------------------------------------------------


async def test_the_customers_confirm_closes_the_ticket_and_settles_the_completion(st):
    t = await completed_repair(st)
    answer = await say(st, CUSTOMER, "确认")
    assert answer[-1] == intake_texts.CONFIRMED_CLOSED.format(number=t.number)
    assert (await ticket(st, t.id)).status == "closed"
    assert await completions(st, t.id) == []
    ack = await customer_ack(st, t.id)
    assert (ack.status, ack.via) == ("confirmed", "closed")


# -- a step done by staff after 完工 (the workflow) --------------------------------------------


async def test_a_step_staff_finish_after_completion_leaves_the_customers_confirm_to_close(st):
    """质检 inserted after 完工 and done by 周质检: the flow reaches its close node, but a
    dispatched ticket's close node waits for the customer — nothing is closed behind their back,
    and their 确认 still closes the ticket and confirms the statement."""
    t = await completed_repair(st)
    answer = "\n".join(await say(st, MANAGER, f"加质检 {t.number}"))
    assert "质检" in answer and "周质检" in answer, answer
    await say(st, QC, f"完成 {t.number} 现场复检合格")
    nodes = {n.key: n.status for n in await st.rows(WorkflowNode, WorkflowNode.ticket_id == t.id)}
    assert nodes["qc"] == "done", nodes
    assert nodes["close"] != "done", nodes
    assert (await ticket(st, t.id)).status == "resolved"
    [waiting] = await completions(st, t.id)  # still live, and still true
    assert waiting.person == CUSTOMER

    answer = await say(st, CUSTOMER, "确认")
    assert intake_texts.CONFIRMED_CLOSED.format(number=t.number) in answer, answer
    assert (await ticket(st, t.id)).status == "closed"
    assert await completions(st, t.id) == []
    ack = await customer_ack(st, t.id)
    assert (ack.status, ack.via) == ("confirmed", "closed")


# -- closed through the HTTP API (the shop's "确认收货") ----------------------------------------


async def test_closed_through_the_api_then_a_corrected_statement_takes_the_bare_confirm(st):
    t = await completed_repair(st)
    key = await make_key(st, "shop", ALL)
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{st.bot.url}/api/tickets/{t.number}/status",
                             json={"status": "closed", "reason": "客户在商城确认收货"},
                             headers={"Authorization": f"Bearer {key}",
                                      "Idempotency-Key": "close-1"}) as r:
            assert r.status == 200, await r.text()
    await st.settle()
    assert (await ticket(st, t.id)).status == "closed"
    assert await completions(st, t.id) == [], "the API close left the completion waiting"

    new = await corrected_statement(st, t)
    answer = await say(st, CUSTOMER, "确认")
    assert intake_texts.NOTHING_TO_CONFIRM not in answer, answer
    assert answer[-1] == settle_texts.SETTLE_CONFIRMED.format(
        number=t.number, amount=f"¥{new.gross}"), answer
    ack = await customer_ack(st, t.id)
    assert (ack.statement_id, ack.status) == (new.statement_id, "confirmed")


# -- the lifecycle alone: nodes.py close() and a reopen move a ticket so (neither reaches a
# dispatched, resolved ticket today; lifecycle.transition settles the completion for them)


async def leave_resolved(st, t: Ticket, to: str) -> None:
    """Move the ticket out of ``resolved`` the way nodes.py ``close()`` does: the lifecycle
    transition by "system", nothing else."""
    async with st.bot.sm() as s, s.begin():
        row = await s.get(Ticket, t.id)
        await transition(s, row, to, actor="system", reason="workflow complete",
                         now=st.clock.now())
    await st.settle()


@pytest.mark.parametrize("to", ["closed", "reopened"])
async def test_leaving_resolved_without_the_customer_settles_the_completion(st, to):
    t = await completed_repair(st)
    await leave_resolved(st, t, to)
    assert (await ticket(st, t.id)).status == to
    left = [(w.person, w.kind, w.ref) for w in await completions(st, t.id)]
    assert left == [], f"ticket {to} by the lifecycle, yet its completion still awaits: {left}"


async def test_a_system_closed_ticket_s_corrected_statement_takes_the_bare_confirm(st):
    """The brief's journey: the ticket closed by the system (as the workflow's close node does),
    finance corrects its statement, the customer answers the correction with 确认."""
    t = await completed_repair(st)
    await leave_resolved(st, t, "closed")
    new = await corrected_statement(st, t)
    answer = await say(st, CUSTOMER, "确认")
    ack = await customer_ack(st, t.id)
    assert intake_texts.NOTHING_TO_CONFIRM not in answer, (
        f"the customer was told {answer!r}; statement ack {ack.status}")
    assert answer[-1] == settle_texts.SETTLE_CONFIRMED.format(
        number=t.number, amount=f"¥{new.gross}"), answer
    assert (ack.statement_id, ack.status) == (new.statement_id, "confirmed")
