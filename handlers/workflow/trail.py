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

#: actors that are the bot itself (a timer's dispatch, the SLA clocks, a sandbox seed)
BOT_ACTORS = ("system", "dispatch", "sla", "sandbox")


class Entry(NamedTuple):
    """One line of a ticket's history, in words: when, what, who (a name, the customer or the
    bot), and
    the detail (a reason, an amount, whom it went to)."""
    at: datetime
    what: str
    who: str
    detail: str


def _what(e: TicketEvent) -> str:
    kind, _, rest = e.action.partition(":")
    if kind == "status":
        return texts.TRAIL_STATUS.format(status=STATUS_NAMES.get(rest, rest))
    if kind == "change":
        return texts.TRAIL_CHANGED.get(rest, texts.TRAIL_CHANGED_OTHER)
    if kind == "attach" and e.action not in texts.TRAIL_ACTIONS:
        return texts.TRAIL_ATTACHMENT
    return texts.TRAIL_ACTIONS.get(e.action, texts.TRAIL_OTHER)


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
        who = texts.TRAIL_SYSTEM if who in BOT_ACTORS else names.get(
            who, texts.TRAIL_CUSTOMER if e.actor.startswith(
            ("kf:", "aibot:")) or who == ticket.reporter else who)
        out.append(Entry(e.at, _what(e), who, _detail(e, names)))
    return out


async def trail_lines(session: Any, ticket: Ticket) -> list[str]:
    return [texts.TRAIL_LINE.format(when=f"{e.at.astimezone(LOCAL_TZ):%m-%d %H:%M}",
                                    what=e.what, who=e.who)
            + (texts.TRAIL_DETAIL.format(detail=e.detail) if e.detail else "")
            for e in await trail_entries(session, ticket)]


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
