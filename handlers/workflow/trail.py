"""A ticket's history, read from its audit trail (``ticket_event``) and its nodes: ``记录 GD…``
in chat (staff) and ``python main.py ticket show GD…`` (operators)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select

from handlers.voice import CATEGORY_NAMES, STATUS_NAMES
from handlers.workflow import texts
from handlers.workflow.config import WorkflowConfig
from models.ticketing import staff_names
from models.tickets import Ticket, TicketEvent
from models.types import LOCAL_TZ
from models.workflow import nodes_of

CHAT_LIMIT = 15

ACTIONS = {"create": "创建", "linked_report": "客户补充", "append": "客户补充",
           "workflow:start": "流程开始", "workflow:node_start": "环节开始",
           "workflow:node_done": "环节完成", "workflow:node_insert": "插入环节",
           "workflow:node_transfer": "环节转交", "approval:request": "提交审批",
           "approval:approved": "审批同意", "approval:rejected": "审批驳回",
           "approval:transfer": "审批转交", "approval:wecom_submitted": "已提交企业微信审批",
           "approval:wecom_failed": "企业微信审批提交失败", "approval:wecom_change": "企业微信审批更新",
           "quote:new": "新报价", "quote:sent": "报价发给客户", "quote:accepted": "客户接受报价",
           "quote:declined": "客户拒绝报价", "priority": "优先级变更", "urge": "客户催单",
           "rate": "客户评分", "note": "备注", "assign": "指派", "attach:photo": "照片",
           "dispatch:offer": "派单", "dispatch:assign": "指派师傅", "dispatch:transfer": "转派",
           "dispatch:declined": "师傅拒单", "dispatch:transferred": "师傅转派",
           "dispatch:escalate": "转调度", "dispatch:timed_out": "派单超时",
           "dispatch:grab_expired": "抢单超时", "dispatch:closed": "派单结束",
           "report:depart": "师傅出发", "report:arrive": "师傅到达", "report:done": "师傅完工",
           "settlement:unpriced": "待人工核价", "settlement:ask_prices": "询问配件单价",
           "settlement:part_prices": "补报配件单价", "settlement:prices_to_finance": "转财务核价",
           "sla:pause": "时效暂停", "sla:resume": "时效恢复", "sla:priority": "时效升级优先级",
           "sla:reassign": "超时转派", "sla:upgrade": "升级高级工单"}
#: ``change:<field>`` (a customer's change on their ticket) and ``attach:<kind>``
CHANGED = {"time": "修改时间", "phone": "修改电话", "place": "修改地点", "description": "修改描述",
           "order": "修改订单号"}
SYSTEM = "系统"
#: actors that are the bot itself (a timer's dispatch, the SLA clocks, a sandbox seed)
BOT_ACTORS = ("system", "dispatch", "sla", "sandbox")


class Entry(NamedTuple):
    """One line of a ticket's history, in words: when, what, who (a name, 客户 or 系统), and
    the detail (a reason, an amount, whom it went to)."""
    at: datetime
    what: str
    who: str
    detail: str


def _what(e: TicketEvent) -> str:
    kind, _, rest = e.action.partition(":")
    if kind == "status":
        return f"状态→{STATUS_NAMES.get(rest, rest)}"
    if kind == "change":
        return CHANGED.get(rest, "修改")
    if kind == "attach" and e.action not in ACTIONS:
        return "附件"
    return ACTIONS.get(e.action, "其他操作")


def _detail(e: TicketEvent, names: dict[str, str]) -> str:
    after: dict[str, Any] = e.after if isinstance(e.after, dict) else {}
    bits = [str(e.reason)] if e.reason and not str(e.reason).startswith("workflow") else []
    for k in ("total", "owners", "to"):
        if k in after and not e.action.startswith("status:"):
            v = after[k]
            people = v if isinstance(v, list) else [v]
            bits.append(f"¥{v}" if k == "total" else "、".join(names.get(str(p), str(p))
                                                               for p in people))
    return " ".join(bits)[:80]


async def _names(session: Any, events: list[TicketEvent]) -> dict[str, str]:
    """The names of the people these events mention (actors, owners, whom it went to)."""
    who = {e.actor.split(":", 1)[-1] for e in events}
    for e in events:
        after = e.after if isinstance(e.after, dict) else {}
        for k in ("owners", "to"):
            v = after.get(k)
            who.update(str(p) for p in (v if isinstance(v, list) else [v]) if p)
    return await staff_names(session, who)


async def trail_entries(session: Any, ticket: Ticket) -> list[Entry]:
    """The ticket's audit trail in words, oldest first: what ``记录 GD…``, ``python main.py
    ticket show`` and the board's 操作记录 show."""
    rows = list((await session.execute(select(TicketEvent).where(
        TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.at, TicketEvent.id))).scalars())
    names = await _names(session, rows)
    out = []
    for e in rows:
        who = e.actor.split(":", 1)[-1]
        who = SYSTEM if who in BOT_ACTORS else names.get(who, "客户" if e.actor.startswith(
            ("kf:", "aibot:")) or who == ticket.reporter else who)
        out.append(Entry(e.at, _what(e), who, _detail(e, names)))
    return out


async def trail_lines(session: Any, ticket: Ticket) -> list[str]:
    return [f"{e.at.astimezone(LOCAL_TZ):%m-%d %H:%M} {e.what}（{e.who}）"
            + (f"：{e.detail}" if e.detail else "") for e in await trail_entries(session, ticket)]


async def flow_line(session: Any, ticket: Ticket) -> str:
    nodes = await nodes_of(session, ticket.id)
    return " → ".join(f"{n.name}[{texts.NODE_STATUS.get(n.status, n.status)}]" for n in nodes)


async def trail_text(session: Any, ticket: Ticket, cfg: WorkflowConfig | None = None,
                     limit: int | None = CHAT_LIMIT) -> str:
    lines = await trail_lines(session, ticket)
    head = texts.TRAIL_HEAD.format(number=ticket.number,
                                   category=CATEGORY_NAMES.get(ticket.category, ticket.category),
                                   status=STATUS_NAMES.get(ticket.status, ticket.status))
    flow = await flow_line(session, ticket)
    # the first entry (how it began) and the latest ones
    shown = lines if limit is None or len(lines) <= limit else lines[:1] + lines[-(limit - 1):]
    out = [head] + ([texts.TRAIL_FLOW.format(flow=flow)] if flow else []) + shown
    if limit is not None and len(lines) > limit:
        out.insert(len(out) - (limit - 1), texts.TRAIL_MORE.format(older=len(lines) - limit))
    return "\n".join(out)
