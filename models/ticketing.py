"""Small query functions over tickets, customers and drafts (no WeCom, no chat text)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Text, and_, bindparam, cast, false, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.db import dialect_insert
from models.keys import kf_parts
from models.types import LOCAL_TZ
from models.tickets import (IDENTITY_KINDS, Attachment, Customer, CustomerIdentity, Draft, Site,
                            Staff, Ticket, TicketCounter, TicketCreate, TicketEvent, TicketMessage)

OPEN_STATUSES = ("new", "dispatched", "accepted", "in_progress", "pending_customer", "reopened")
DONE_STATUSES = ("resolved", "closed")


# -- numbering -------------------------------------------------------------------------------


async def allocate_number(session: AsyncSession, now: datetime) -> str:
    """The next ticket number of ``now``'s day in Asia/Shanghai, e.g. ``GD20261125-0007``.

    The day's counter row is created at 1 or incremented by one ``INSERT … ON CONFLICT DO
    UPDATE … RETURNING`` in the caller's transaction: the row lock (PostgreSQL) or the single
    writer (SQLite) serialises concurrent allocations, and a rolled-back transaction gives its
    number back.
    """
    day = now.astimezone(LOCAL_TZ).strftime("%Y%m%d")
    counter = TicketCounter.__table__
    n = (await session.execute(
        dialect_insert(session, counter).values(day=day, last=1)
        .on_conflict_do_update(index_elements=["day"], set_={"last": counter.c.last + 1})
        .returning(counter.c.last))).scalar_one()
    return f"GD{day}-{n:04d}"


# -- customers -------------------------------------------------------------------------------


async def _survivor(session: AsyncSession, customer: Customer) -> Customer:
    while customer.merged_into_id is not None:
        customer = await session.get(Customer, customer.merged_into_id)  # type: ignore[assignment]
    return customer


# Read for every message: built once, with parameters (models.db.built_once says why); the
# customer comes with its identity in one read.
_CUSTOMER_OF = select(Customer).join(
    CustomerIdentity, CustomerIdentity.customer_id == Customer.id).where(
    CustomerIdentity.kind == bindparam("kind"), CustomerIdentity.value == bindparam("value"))


async def customer_for(session: AsyncSession, kind: str, value: str, now: datetime,
                       name: str = "") -> Customer:
    """The customer behind an identity, created on first contact."""
    if kind not in IDENTITY_KINDS:
        raise ValueError(f"unknown identity kind {kind!r}")
    known = (await session.execute(_CUSTOMER_OF, {"kind": kind, "value": value})
             ).scalar_one_or_none()
    if known is not None:
        return await _survivor(session, known)
    customer = Customer(name=name, created_at=now)
    session.add(customer)
    await session.flush()
    session.add(CustomerIdentity(customer_id=customer.id, kind=kind, value=value, created_at=now))
    await session.flush()
    return customer


async def add_phone(session: AsyncSession, customer: Customer, phone: str,
                    now: datetime) -> Customer:
    """Record ``phone`` for ``customer`` (their ``phone`` identity and contact phone) when
    nobody holds it yet. A number another customer holds stays on the draft or ticket it was
    given for: typed in a chat, it proves nothing about who typed it (a store's number, a
    relative's, a typo). Merging the writer into its holder let one customer see and cancel
    another's tickets; keeping it as their phone tied a stranger's history to theirs for staff
    (models.customers.linked_customer_ids links customers by phone, and by the phone on a
    ticket: a ticket filed with the number still does). Returns ``customer``."""
    ident = (await session.execute(select(CustomerIdentity).where(
        CustomerIdentity.kind == "phone", CustomerIdentity.value == phone))).scalar_one_or_none()
    if ident is None:
        session.add(CustomerIdentity(customer_id=customer.id, kind="phone", value=phone,
                                     created_at=now))
        customer.phone = customer.phone or phone
        await session.flush()
    return customer


async def customer_phone(session: AsyncSession, customer_id: int) -> str | None:
    """The phone a new draft of theirs starts with: their newest phone identity."""
    return (await session.execute(_PHONE, {"customer_id": customer_id})).scalar_one_or_none()


_PHONE = (select(CustomerIdentity.value)
          .where(CustomerIdentity.customer_id == bindparam("customer_id"),
                 CustomerIdentity.kind == "phone")
          .order_by(CustomerIdentity.id.desc()).limit(1))


async def site_named(session: AsyncSession, name: str, now: datetime) -> Site:
    site = (await session.execute(select(Site).where(Site.name == name))).scalar_one_or_none()
    if site is None:
        site = Site(name=name, created_at=now)
        session.add(site)
        await session.flush()
    return site


def may_hold(column: Any, *values: str) -> Any:
    """SQL pre-filter: rows whose JSON list ``column`` (a person's roles, departments, tags,
    stores) may hold any of ``values`` — its JSON text holds the quoted value, escaped as our
    serializer writes it or as typed. The database tests thousands of rows in C (2.7 ms among
    10,000 technicians, bench/people.py), where loading every person as an object took 334 ms;
    callers still check membership exactly."""
    forms = {json.dumps(v, ensure_ascii=a) for v in values for a in (True, False)}
    if not forms:
        return false()

    def like(form: str) -> Any:
        escaped = form.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return cast(column, Text).like(f"%{escaped}%", escape="\\")

    return or_(*(like(f) for f in sorted(forms)))


async def staff_names(session: AsyncSession,
                      userids: Iterable[str] | None = None) -> dict[str, str]:
    """userid → name (the userid where no name is stored) of these people — only those a
    view shows, not the whole staff — or of everyone for None (the board's assign list)."""
    stmt = select(Staff.userid, Staff.name)
    if userids is not None:
        stmt = stmt.where(Staff.userid.in_(sorted(set(userids))))
    return {u: n or u for u, n in (await session.execute(stmt)).all()}


async def staff_called(session: AsyncSession, name: str) -> list[Staff]:
    """Active staff whose name or userid is ``name`` (转派 / 指派 to a person by name)."""
    if not name:
        return []
    return list((await session.execute(select(Staff).where(
        Staff.active.is_(True), or_(Staff.name == name, Staff.userid == name))
        .order_by(Staff.id))).scalars())


async def staff_with_role(session: AsyncSession, *roles: str) -> list[Staff]:
    """Active staff with any of ``roles``."""
    wanted = set(roles)
    rows = (await session.execute(select(Staff).where(
        Staff.active.is_(True), may_hold(Staff.roles, *wanted)).order_by(Staff.id))).scalars()
    return [s for s in rows if wanted & set(s.roles or [])]


async def first_staff_with(session: AsyncSession, roles: Sequence[str]) -> list[Staff]:
    """Everyone with the first of ``roles`` that anyone has (dispatcher, else supervisor …)."""
    for role in roles:
        if people := await staff_with_role(session, role):
            return people
    return []


# -- drafts ----------------------------------------------------------------------------------


async def open_drafts(session: AsyncSession, conversation_key: str, sender: str) -> list[Draft]:
    """The person's drafts in this conversation still being filled in or confirmed."""
    return list((await session.execute(_OPEN_DRAFTS, {
        "conversation_key": conversation_key, "sender": sender})).scalars())


_OPEN_DRAFTS = select(Draft).where(
    Draft.conversation_key == bindparam("conversation_key"), Draft.sender == bindparam("sender"),
    Draft.status.in_(("collecting", "confirming"))).order_by(Draft.id.desc())


def customer_of(ticket: Ticket) -> str:
    """Who answers for the ticket's customer: the 微信客服 external_userid, else the reporter."""
    kf = kf_parts(ticket.conversation_key) if ticket.channel == "kf" else None
    return kf[1] if kf else (ticket.reporter or "")


async def draft_messages_to_ticket(session: AsyncSession, draft_id: int, ticket_id: int) -> None:
    for table in (TicketMessage, Attachment):
        await session.execute(update(table).where(table.draft_id == draft_id)
                              .values(ticket_id=ticket_id))  # loaded rows see it too


# -- tickets ---------------------------------------------------------------------------------


async def create_ticket(session: AsyncSession, data: TicketCreate, *, actor: str,
                        now: datetime) -> Ticket:
    """A new ticket (status ``new``) with its number and its first audit event."""
    ticket = Ticket.model_validate(data, update={
        "number": await allocate_number(session, now), "status": "new", "created_at": now,
        "updated_at": now})
    session.add(ticket)
    await session.flush()
    session.add(TicketEvent(ticket_id=ticket.id, actor=actor, action="create", before=None,
                            after=snapshot(ticket), at=now))
    await session.flush()
    return ticket


def snapshot(ticket: Ticket) -> dict[str, object]:
    """The audited fields of a ticket, JSON-ready."""
    return {"status": ticket.status, "priority": ticket.priority, "category": ticket.category,
            "assignee": ticket.assignee, "satisfaction": ticket.satisfaction,
            "linked_ticket_id": ticket.linked_ticket_id, "version": ticket.version}


async def ticket_by_number(session: AsyncSession, number: str) -> Ticket | None:
    return (await session.execute(
        select(Ticket).where(Ticket.number == number.upper()))).scalar_one_or_none()


async def tickets_of(session: AsyncSession, customer_id: int, statuses: Sequence[str],
                     *, since: datetime | None = None, store: str | None = None,
                     limit: int = 20) -> list[Ticket]:
    """The customer's tickets (or the store's, when ``store`` is given) in ``statuses``,
    newest first."""
    return list((await session.execute(_TICKETS_OF[bool(store), since is not None], {
        "customer_id": customer_id, "statuses": list(statuses), "store": store,
        "since": since, "limit": limit})).scalars())


def _tickets_of(store: bool, since: bool) -> Any:
    # the status test inside each arm, so each is one index's lookup (not every closed ticket)
    status = Ticket.status.in_(bindparam("statuses", expanding=True))
    who = and_(Ticket.customer_id == bindparam("customer_id"), status)
    if store:
        who = or_(who, and_(Ticket.store == bindparam("store"), status))
    stmt = select(Ticket).where(who)
    if since:
        stmt = stmt.where(Ticket.updated_at >= bindparam("since"))
    return stmt.order_by(Ticket.id.desc()).limit(bindparam("limit"))


# built once, with parameters (models.db.built_once says why): with or without a store, a since
_TICKETS_OF = {(store, since): _tickets_of(store, since)
               for store in (False, True) for since in (False, True)}


# -- where a ticket is -----------------------------------------------------------------------


def region_code_of(ticket: Ticket, site: Site | None = None) -> str | None:
    """The most specific 6-digit administrative code known for the ticket (district, else
    city, else province — tickets store GB/T 2260 codes at their own length: 33 / 3301 /
    330106), else the site's; None when nothing places it."""
    if ticket.district_code:
        return ticket.district_code.ljust(6, "0")[:6]
    if ticket.city_code:
        return ticket.city_code.ljust(6, "0")[:6]
    if site is not None and site.region_code:
        return site.region_code
    if ticket.province_code:
        return ticket.province_code.ljust(6, "0")[:6]
    return None


def point_of(ticket: Ticket, site: Site | None = None) -> tuple[float, float] | None:
    """(lat, lon) of the job: a location sent with the report, else the site's."""
    if ticket.lat is not None and ticket.lon is not None:
        return ticket.lat, ticket.lon
    if site is not None and site.lat is not None and site.lon is not None:
        return site.lat, site.lon
    return None


async def staff_by_userid(session: AsyncSession, userid: str) -> Staff | None:
    return (await session.execute(select(Staff).where(Staff.userid == userid))
            ).scalar_one_or_none()
