"""Who an escalation reaches and how: recipients by role, region and store; the ticket's
assignee (or the technician holding its offer, or whoever took it over); each person's quiet
hours; their phone and email."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from handlers.sla.config import Quiet, Recipient, SlaConfig
from models.dispatch import OFFERED, Offer
from models.sla import SlaClock
from models.ticketing import may_hold, region_code_of
from models.tickets import Site, Staff, Ticket


def region_prefix(code: str) -> str:
    """``310000`` → ``31``, ``310100`` → ``3101``: what a staff region covers."""
    code = code.strip()
    while code.endswith("00") and len(code) > 2:
        code = code[:-2]
    return code


async def ticket_region(session: Any, ticket: Ticket) -> tuple[str, str]:
    """(6-digit region code or "", store name or "") of a ticket."""
    site = await session.get(Site, ticket.site_id) if ticket.site_id else None
    return region_code_of(ticket, site) or "", ticket.store or (site.name if site else "")


async def holder(session: Any, ticket: Ticket) -> str | None:
    """Who has the ticket in hand: a person an escalation handed it to, else the assignee,
    else the technician whose offer is open."""
    owner = (await session.execute(select(SlaClock.owner).where(
        SlaClock.ticket_id == ticket.id, SlaClock.owner.is_not(None))
        .order_by(SlaClock.updated_at.desc()).limit(1))).scalar_one_or_none()
    if owner:
        return owner
    if ticket.assignee:
        return ticket.assignee
    return (await session.execute(select(Offer.technician).where(
        Offer.ticket_id == ticket.id, Offer.status == OFFERED)
        .order_by(Offer.id.desc()).limit(1))).scalar_one_or_none()


def covers(person: Staff, spec: Recipient, region: str, store: str) -> bool:
    if spec.scope == "region":
        return bool(region) and any(region.startswith(region_prefix(r))
                                    for r in (person.regions or []))
    if spec.scope == "store":
        return bool(store) and store in (person.stores or [])
    return True


async def recipients(session: Any, ticket: Ticket, specs: list[Recipient]) -> list[Staff]:
    """Everyone ``specs`` name for ``ticket``, in order, each once (active staff only)."""
    region, store = await ticket_region(session, ticket)
    out: list[Staff] = []
    for spec in specs:
        if spec.who == "assignee":
            who = await holder(session, ticket)
            person = (await session.execute(select(Staff).where(Staff.userid == who))
                      ).scalar_one_or_none() if who else None
            found = [person] if person is not None and person.active else []
        else:
            found = [p for p in (await session.execute(select(Staff).where(
                Staff.active.is_(True), may_hold(Staff.roles, spec.role)).order_by(Staff.id))
            ).scalars() if spec.role in (p.roles or []) and covers(p, spec, region, store)]
        out.extend(p for p in found if p.userid not in {o.userid for o in out})
    return out


def quiet_for(cfg: SlaConfig, person: Staff) -> Quiet | None:
    """The person's own quiet hours, else their first role's, else the default."""
    q = cfg.quiet_hours
    if person.userid in q.people:
        return q.people[person.userid]
    for role in person.roles or []:
        if role in q.roles:
            return q.roles[role]
    return q.default


def address(cfg: SlaConfig, person: Staff, channel: str) -> str:
    """The phone (contacts, else the staff record) or email for ``channel``; "" if none."""
    c = cfg.contacts.get(person.userid)
    if channel == "sms":
        return (c.phone if c and c.phone else None) or person.phone or ""
    if channel == "email":
        return (c.email if c and c.email else None) or ""
    return person.userid
