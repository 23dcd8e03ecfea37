"""What goes out by webhook: status changes (the audit trail) and statements, found after a
cursor and made ``api_event`` rows with one delivery per webhook that wants them (see
``webhooks.py`` for the whole path)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, exists, func, literal, select

from handlers.board.config import ApiConfig, Webhook
from models.api import ApiDelivery, ApiEvent, ApiTicketLink
from models.queues import kv_get, kv_set
from models.settlement import SettlementStatement
from models.tickets import Ticket, TicketEvent

LOOKBACK = 1000  # rows re-checked behind the cursor: a transaction that committed late
SCAN = 2000  # rows per pump
CURSORS = {"status": "api:cursor:ticket_event", "statement": "api:cursor:statement"}


def body_of(event: ApiEvent) -> str:
    """The exact bytes every attempt sends (keys sorted, UTF-8)."""
    return json.dumps({"id": f"evt_{event.id}", "type": event.type,
                       "created_at": event.created_at.isoformat(), "data": event.data},
                      ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def wanted(hooks: tuple[Webhook, ...], kind: str, link: ApiTicketLink | None) -> list[Webhook]:
    return [w for w in hooks if kind in w.events and (
        w.integration == "*" or (link is not None and link.integration == w.integration))]


async def _start(session: Any, name: str, model: Any) -> int:
    """The cursor; on first use the current end (a new webhook gets news from now on)."""
    text = await kv_get(session, CURSORS[name])
    if text is not None:
        return int(text)
    end = (await session.execute(select(func.max(model.id)))).scalar_one() or 0
    await kv_set(session, CURSORS[name], str(end))
    return int(end)


async def _add(session: Any, hooks: list[Webhook], *, source: str, type_: str,
               ticket_id: int | None, data: dict[str, Any], now: datetime) -> int:
    ev = ApiEvent(source=source, type=type_, ticket_id=ticket_id, data=data, created_at=now)
    session.add(ev)
    await session.flush()
    body = body_of(ev)
    for w in hooks:
        session.add(ApiDelivery(event_id=ev.id, target=f"webhook:{w.name}", body=body,  # type: ignore[arg-type]
                                next_attempt_at=now, created_at=now))
    return len(hooks)


async def collect(session: Any, cfg: ApiConfig, now: datetime) -> int:
    """New events since the cursors; returns the deliveries created."""
    hooks = cfg.webhooks
    if not hooks:
        return 0
    n = 0
    everything = any(w.integration == "*" for w in hooks)
    if any("ticket.status_changed" in w.events for w in hooks):
        n += await _status_changes(session, hooks, everything, now)
    if any("statement.issued" in w.events for w in hooks):
        n += await _statements(session, hooks, everything, now)
    return n


async def _status_changes(session: Any, hooks: tuple[Webhook, ...], everything: bool,
                          now: datetime) -> int:
    cur = await _start(session, "status", TicketEvent)
    source = literal("te:") + cast(TicketEvent.id, String)
    stmt = (select(TicketEvent, Ticket, ApiTicketLink)
            .join(Ticket, Ticket.id == TicketEvent.ticket_id)
            .outerjoin(ApiTicketLink, ApiTicketLink.ticket_id == TicketEvent.ticket_id)
            .where(TicketEvent.id > cur - LOOKBACK, TicketEvent.action.like("status:%"),
                   ~exists().where(ApiEvent.source == source))
            .order_by(TicketEvent.id).limit(SCAN))
    if not everything:
        stmt = stmt.where(ApiTicketLink.ticket_id.is_not(None))
    n, top = 0, cur
    for te, t, link in (await session.execute(stmt)).all():
        top = max(top, te.id)
        data = {"ticket": t.number, "order_number": link.order_number if link else None,
                "integration": link.integration if link else None,
                "from": (te.before or {}).get("status"), "to": (te.after or {}).get("status"),
                "at": te.at.isoformat(), "assignee": (te.after or {}).get("assignee"),
                "reason": te.reason}
        n += await _add(session, wanted(hooks, "ticket.status_changed", link),
                        source=f"te:{te.id}", type_="ticket.status_changed", ticket_id=t.id,
                        data=data, now=now)
    if top != cur:
        await kv_set(session, CURSORS["status"], str(top))
    return n


async def _statements(session: Any, hooks: tuple[Webhook, ...], everything: bool,
                      now: datetime) -> int:
    cur = await _start(session, "statement", SettlementStatement)
    source = literal("st:") + cast(SettlementStatement.id, String)
    stmt = (select(SettlementStatement, ApiTicketLink)
            .outerjoin(ApiTicketLink, ApiTicketLink.ticket_id == SettlementStatement.ticket_id)
            .where(SettlementStatement.id > cur - LOOKBACK,
                   ~exists().where(ApiEvent.source == source))
            .order_by(SettlementStatement.id).limit(SCAN))
    if not everything:
        stmt = stmt.where(ApiTicketLink.ticket_id.is_not(None))
    n, top = 0, cur
    for st, link in (await session.execute(stmt)).all():
        top = max(top, st.id)
        totals = (st.statement or {}).get("totals", {})
        data = {"ticket": st.ticket_number, "order_number": link.order_number if link else None,
                "integration": link.integration if link else None,
                "statement_id": st.statement_id, "revision": st.revision, "kind": st.kind,
                "corrects": st.corrects, "currency": st.currency, "net": st.net, "tax": st.tax,
                "gross": st.gross, "subtotal": totals.get("subtotal"),
                "lines": [{"name": ln.get("name"), "quantity": ln.get("quantity"),
                           "unit": ln.get("unit"), "amount": ln.get("amount")}
                          for ln in (st.statement or {}).get("lines", [])],
                "completed_at": st.completed_at.isoformat()}
        n += await _add(session, wanted(hooks, "statement.issued", link),
                        source=f"st:{st.id}", type_="statement.issued", ticket_id=st.ticket_id,
                        data=data, now=now)
    if top != cur:
        await kv_set(session, CURSORS["statement"], str(top))
    return n


async def pending_deliveries(session: Any) -> bool:
    return (await session.execute(select(ApiDelivery.id).where(
        ApiDelivery.status == "pending").limit(1))).first() is not None
