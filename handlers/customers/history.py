"""A customer's history beside a ticket, gathered across channels: the person behind the ticket
is every customer linked to it by a phone (theirs, or one given on a ticket), by identities
merged into one customer (微信客服 external userid, WeCom userid), and the tickets at the same
address. Read-only; the wording is in views.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from handlers.customers.config import CustomersSetup, Solution
from models.customers import (earlier_tickets, identities, latest_reports, linked_customer_ids,
                              messages_from, statements_of)
from models.tickets import Ticket
from models.types import LOCAL_TZ


@dataclass(frozen=True)
class PastTicket:
    number: str
    created_at: datetime
    title: str
    category: str
    device: str | None
    status: str
    satisfaction: int | None
    fix: str = ""  # the technician's 完工 message
    parts: tuple[str, ...] = ()  # 压缩机电容×1
    gross: Decimal | None = None  # the latest statement's total


@dataclass(frozen=True)
class Repeat:
    """The same device at the same place again within ``repeat_days``."""

    earlier: PastTicket
    days: int  # calendar days between the two reports, in Shanghai (0: the same day)
    solution: Solution | None = None


@dataclass(frozen=True)
class History:
    channels: tuple[str, ...]  # kf | app | aibot (where they reached us)
    phone: str | None
    tickets: tuple[PastTicket, ...]  # newest first
    messages: int
    statements: int
    billed: Decimal
    rating: float | None  # average of their ratings
    returns: int
    repeat: Repeat | None = None
    since_years: int = 3
    extra: dict[str, Any] = field(default_factory=dict)


def _parts(report: Any) -> tuple[str, ...]:
    out = []
    for p in (report.parts if report is not None else []) or []:
        qty = Decimal(str(p.get("qty") or 1)).normalize()
        out.append(f"{p.get('name')}×{qty:f}")
    return tuple(out)


def same_place(a: Ticket, b: Ticket) -> bool:
    if a.site_id and b.site_id:
        return a.site_id == b.site_id
    return bool(a.address and b.address and " ".join(a.address.split()) == " ".join(b.address.split()))


async def customer_history(session: Any, setup: CustomersSetup, ticket: Ticket) -> History:
    """Everything known about the ticket's customer before it (``history_years`` back)."""
    cfg = setup.config
    ids = await linked_customer_ids(session, ticket)
    since = ticket.created_at - timedelta(days=365 * cfg.history_years)
    rows = [t for t in await earlier_tickets(session, ticket, ids, ticket.address or "")
            if t.created_at >= since and t.category != "followup"]
    reports = await latest_reports(session, [t.id for t in rows])
    sts = await statements_of(session, [t.id for t in rows])
    latest: dict[int, Any] = {}
    for s in sts:
        latest[s.ticket_id] = s  # oldest first: the last one wins (corrections)
    past = tuple(PastTicket(
        t.number, t.created_at, t.title, t.category, t.device, t.status, t.satisfaction,
        (reports[t.id].note if t.id in reports else ""), _parts(reports.get(t.id)),
        Decimal(latest[t.id].gross) if t.id in latest else None) for t in rows)
    who: list[str] = []
    channels: set[str] = {ticket.channel} if ticket.channel else set()
    phone = ticket.phone
    for cid in ids:
        for ident in await identities(session, cid):
            if ident.kind == "phone":
                phone = phone or ident.value
            else:
                who.append(ident.value)
                channels.add("kf" if ident.kind == "external_userid" else "app")
    channels.update(t.channel for t in rows if t.channel)
    ratings = [t.satisfaction for t in rows if t.satisfaction is not None]
    repeat = None
    for t, p in zip(rows, past):
        if (ticket.device and t.device == ticket.device and same_place(t, ticket)
                and ticket.created_at - t.created_at <= timedelta(days=cfg.repeat_days)):
            text = f"{ticket.title} {ticket.description}"
            # calendar days in Shanghai: an hour ago is today, last night is yesterday
            repeat = Repeat(p, (ticket.created_at.astimezone(LOCAL_TZ).date()
                                - t.created_at.astimezone(LOCAL_TZ).date()).days,
                            setup.solutions.for_ticket(ticket.device, text))
            break
    return History(
        channels=tuple(sorted(channels)), phone=phone, tickets=past,
        messages=await messages_from(session, who), statements=len(latest),
        billed=sum((Decimal(s.gross) for s in latest.values()), Decimal(0)),
        rating=round(sum(ratings) / len(ratings), 1) if ratings else None,
        returns=sum(1 for t in rows if t.category == "return"), repeat=repeat,
        since_years=cfg.history_years)
