"""Queries about one customer across channels: their identities (phone, WeCom userid, 微信客服
external userid), their tickets (by customer, phone or address), what they wrote, their
statements and ratings, and the subscription plans they bought. Read-only; no table of its own
(the history is what the other tables already hold)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from models.dispatch import WorkReport
from models.settlement import SettlementStatement
from models.tables import InboxEvent
from models.tickets import Customer, CustomerIdentity, Ticket

#: how many earlier tickets a history reads at most (newest first)
HISTORY_LIMIT = 200


async def identities(session: AsyncSession, customer_id: int) -> list[CustomerIdentity]:
    return list((await session.execute(_IDENTITIES, {"customer_id": customer_id})).scalars())


# built once, with parameters (models.db.built_once says why)
_IDENTITIES = select(CustomerIdentity).where(
    CustomerIdentity.customer_id == bindparam("customer_id")).order_by(CustomerIdentity.id)


async def linked_customer_ids(session: AsyncSession, ticket: Ticket) -> set[int]:
    """The ticket's customer and every customer linked to it by a phone (theirs or one given on
    a ticket) or by an identity merged into them — the same person on another channel."""
    ids = {ticket.customer_id}
    me = await session.get(Customer, ticket.customer_id)
    phones = {p for p in (ticket.phone, me.phone if me else None) if p}
    if me is not None and me.merged_into_id:
        ids.add(me.merged_into_id)
    # one statement (each arm still its index's lookup), not one per way of being linked
    found = await session.execute(_LINKED if phones else _MERGED_INTO,
                                  {"ids": list(ids), "phones": list(phones)})
    ids.update(i for i in found.scalars() if i is not None)
    return ids


# built once, with parameters (models.db.built_once says why)
_MERGED_INTO = select(Customer.id).where(
    Customer.merged_into_id.in_(bindparam("ids", expanding=True)))
_LINKED = union_all(
    _MERGED_INTO,
    select(Customer.id).where(Customer.phone.in_(bindparam("phones", expanding=True))),
    select(CustomerIdentity.customer_id).where(
        CustomerIdentity.kind == "phone",
        CustomerIdentity.value.in_(bindparam("phones", expanding=True))),
    select(Ticket.customer_id).where(Ticket.phone.in_(bindparam("phones", expanding=True))))


async def earlier_tickets(session: AsyncSession, ticket: Ticket, customer_ids: Iterable[int],
                          address: str = "") -> list[Ticket]:
    """The other tickets of these customers or at this address, newest first."""
    return list((await session.execute(_EARLIER_HERE if address else _EARLIER, {
        "ids": list(customer_ids), "address": address, "ticket_id": ticket.id,
        "created_at": ticket.created_at})).scalars())


def _earlier(*where: Any) -> Any:
    return (select(Ticket).where(or_(Ticket.customer_id.in_(bindparam("ids", expanding=True)),
                                     *where),
                                 Ticket.id != bindparam("ticket_id"),
                                 Ticket.created_at <= bindparam("created_at"))
            .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(HISTORY_LIMIT))


_EARLIER, _EARLIER_HERE = _earlier(), _earlier(Ticket.address == bindparam("address"))


async def latest_reports(session: AsyncSession, ticket_ids: Sequence[int]) -> dict[int, WorkReport]:
    """The newest work report of each ticket."""
    if not ticket_ids:
        return {}
    out: dict[int, WorkReport] = {}
    for r in (await session.execute(select(WorkReport).where(
            WorkReport.ticket_id.in_(list(ticket_ids))).order_by(WorkReport.id))).scalars():
        out[r.ticket_id] = r
    return out


async def statements_of(session: AsyncSession, ticket_ids: Sequence[int]
                        ) -> list[SettlementStatement]:
    """The statements of these tickets (every revision), oldest first."""
    if not ticket_ids:
        return []
    return list((await session.execute(select(SettlementStatement).where(
        SettlementStatement.ticket_id.in_(list(ticket_ids)))
        .order_by(SettlementStatement.id))).scalars())


async def messages_from(session: AsyncSession, senders: Iterable[str]) -> int:
    """How many messages these people (their userids / external userids) wrote, on every
    channel (the durable inbox keeps each one)."""
    who = [w for w in senders if w]
    if not who:
        return 0
    return (await session.execute(_MESSAGES_FROM, {"who": who})).scalar_one()


_MESSAGES_FROM = select(func.count()).select_from(InboxEvent).where(
    InboxEvent.sender.in_(bindparam("who", expanding=True)), InboxEvent.kind == "message")


async def plan_sales(session: AsyncSession, customer_ids: Iterable[int], services: Sequence[str],
                     before: datetime) -> list[tuple[str, datetime]]:
    """(service, completed_at) of the customers' statements for these services (the plans'
    sales) completed before ``before``, oldest first; a sale corrected later counts once."""
    if not services:
        return []
    rows = (await session.execute(select(SettlementStatement.ticket_id, SettlementStatement.service,
                                         SettlementStatement.completed_at)
                                  .join(Ticket, Ticket.id == SettlementStatement.ticket_id)
                                  .where(Ticket.customer_id.in_(list(customer_ids)),
                                         SettlementStatement.service.in_(list(services)),
                                         SettlementStatement.completed_at <= before)
                                  .order_by(SettlementStatement.completed_at))).all()
    seen: dict[int, tuple[str, datetime]] = {}
    for tid, service, at in rows:
        seen.setdefault(tid, (service, at))
    return sorted(seen.values(), key=lambda x: x[1])


def template_values(ticket: Ticket) -> dict[str, Any]:
    """The ticket's own fields by key: top-level ones, and an intake template's custom fields
    (``fields["custom"]``: [{"key": "floor", "label": "楼层", "value": "12"}])."""
    fields = dict(ticket.fields or {})
    for c in fields.get("custom") or []:
        if isinstance(c, dict) and c.get("key") and c.get("value") not in (None, "", "无"):
            fields.setdefault(str(c["key"]), c["value"])
    return fields
