"""Dispatch: placing a ticket with a technician, the offers made, the decision records, the
cards' one-time response codes and the technicians' completion reports.

* ``DispatchJob`` — one per dispatch episode of a ticket (a ticket handed back is dispatched
  again as a new episode). Its row is what a grab's clicks lock: the first click that finds it
  ``offering`` under ``SELECT … FOR UPDATE`` wins.
* ``DispatchDecisionRow`` — every ranking made, as ``DispatchDecision.to_dict()`` (each
  candidate's score parts, the filters that removed the others, the reason): what answers
  "为什么派给他".
* ``Offer`` — one card offered to one technician.
* ``CardCode`` — WeCom's ``response_code``s: each updates a card once, within 72 hours
  [doc 94888]. ``message/send`` of a card returns one and every click brings a fresh one.
* ``WorkReport`` — what the technician reported at 完工 (labour time, parts); settlement
  prices it.
"""

from __future__ import annotations

from datetime import datetime
from statistics import median
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from models.tickets import Staff, Ticket, _at, _fk, _pk
from models.types import new_list

# DispatchJob.status
OFFERING, ASSIGNED, ESCALATED, CLOSED = "offering", "assigned", "escalated", "closed"
# Offer.status
OFFERED, ACCEPTED, DECLINED, TIMED_OUT, TRANSFERRED, LOST, WITHDRAWN = (
    "offered", "accepted", "declined", "timed_out", "transferred", "lost", "withdrawn")


class DispatchJob(SQLModel, table=True):
    __tablename__ = "dispatch_job"
    __table_args__ = (Index("ix_dispatch_job_ticket", "ticket_id", "id"),)

    id: int | None = _pk()
    ticket_id: int = _fk("ticket.id", index=False, nullable=False)
    mode: str = Field(max_length=12)  # direct | grab
    status: str = Field(default=OFFERING, max_length=12)
    offers_made: int = 0  # direct: candidates tried in this episode
    assigned_to: str | None = Field(default=None, max_length=128)
    escalated_to: list[str] = Field(default_factory=new_list,
                                    sa_column=Column(JSON, nullable=False))
    created_at: datetime = _at()
    updated_at: datetime = _at()


class DispatchDecisionRow(SQLModel, table=True):
    __tablename__ = "dispatch_decision"

    id: int | None = _pk()
    job_id: int = _fk("dispatch_job.id", nullable=False)
    ticket_id: int = _fk("ticket.id", nullable=False)
    record: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    chosen: str | None = Field(default=None, max_length=128)
    decided_at: datetime = _at()


class Offer(SQLModel, table=True):
    __tablename__ = "dispatch_offer"
    __table_args__ = (Index("ix_offer_tech_status", "technician", "status"),
                      # accepts since a day / three days ago (the pool's response medians)
                      Index("ix_offer_status_answered", "status", "answered_at"))

    id: int | None = _pk()
    job_id: int = _fk("dispatch_job.id", nullable=False)
    ticket_id: int = _fk("ticket.id", nullable=False)
    decision_id: int | None = _fk("dispatch_decision.id", index=False)
    technician: str = Field(max_length=128)
    mode: str = Field(max_length=12)  # direct | grab | transfer | manual
    rank: int = 0
    score: float | None = None
    status: str = Field(default=OFFERED, max_length=12)
    offered_at: datetime = _at()
    expires_at: datetime | None = _at(nullable=True)
    answered_at: datetime | None = _at(nullable=True)
    note: str | None = Field(default=None, sa_column=Column(Text))


class CardCode(SQLModel, table=True):
    __tablename__ = "card_code"
    __table_args__ = (Index("ix_card_code_task_user", "task_id", "userid", "id"),)

    id: int | None = _pk()
    task_id: str = Field(max_length=128)
    userid: str = Field(max_length=128)
    code: str = Field(max_length=200, unique=True)
    source: str = Field(max_length=8)  # send | click
    issued_at: datetime = _at()
    used_at: datetime | None = _at(nullable=True)


class WorkReport(SQLModel, table=True):
    __tablename__ = "work_report"

    id: int | None = _pk()
    ticket_id: int = _fk("ticket.id", nullable=False)
    technician: str = Field(max_length=128)
    labour_minutes: int = 0
    # [{"name": "压缩机电容", "qty": "1", "unit_cost": "35.00"}] (Decimal strings)
    parts: list[dict[str, Any]] = Field(default_factory=new_list,
                                        sa_column=Column(JSON, nullable=False))
    travel_km: float | None = None
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    reported_at: datetime = _at()


# -- queries ---------------------------------------------------------------------------------

ASSIGNED_STATUSES = ("accepted", "in_progress", "pending_customer")


TECHNICIAN_COLUMNS = ("id", "userid", "name", "roles", "skills", "regions", "home_lat",
                      "home_lon", "last_lat", "last_lon", "last_seen_at", "shifts", "leave",
                      "capacity", "rating")


async def technician_rows(session: AsyncSession) -> list[Any]:
    """Active technicians as plain rows (attribute access like ``Staff``): read without ORM
    identity bookkeeping, which is most of the cost with thousands of them."""
    rows = await session.execute(
        select(*(getattr(Staff, c) for c in TECHNICIAN_COLUMNS))
        .where(Staff.active.is_(True)).order_by(Staff.id))
    return [r for r in rows.all() if "technician" in (r.roles or [])]


async def open_loads(session: AsyncSession) -> dict[str, int]:
    """Open tickets each technician holds."""
    rows = await session.execute(
        select(Ticket.assignee, func.count()).where(Ticket.assignee.is_not(None),
                                                    Ticket.status.in_(ASSIGNED_STATUSES))
        .group_by(Ticket.assignee))
    return {who: n for who, n in rows.all()}


# Offers awaiting one technician's answer (direct, and a colleague's 转派), which count with the
# jobs they hold against their capacity (handlers/dispatch/engine/model.py ``offered``); an
# 抢单 broadcast commits nobody. Built once: a ``select()`` built per call derives its cache key
# again each time (models/pool_feed.py).
ONE_AT_A_TIME = ("direct", "transfer")
_PENDING = (select(Offer.technician, func.count())
            .where(Offer.status == OFFERED, Offer.mode.in_(ONE_AT_A_TIME))
            .group_by(Offer.technician))


async def pending_offers(session: AsyncSession) -> dict[str, int]:
    """Per technician: offers awaiting their answer, as ``session`` sees them (its own
    transaction's offers included: a batch of placements spreads within itself too)."""
    return {who: int(n) for who, n in (await session.execute(_PENDING)).all()}


async def accept_stats(session: AsyncSession, since: datetime,
                       day_start: datetime) -> tuple[dict[str, float], dict[str, int]]:
    """Per technician: the median seconds from offer to accept since ``since``, and how many
    jobs they accepted since ``day_start``."""
    rows = (await session.execute(
        select(Offer.technician, Offer.offered_at, Offer.answered_at).where(
            Offer.status == ACCEPTED, Offer.answered_at >= min(since, day_start),
            Offer.mode.in_(("direct", "grab", "transfer"))))).all()
    waits: dict[str, list[float]] = {}
    today: dict[str, int] = {}
    for who, offered, answered in rows:
        if answered >= since:
            waits.setdefault(who, []).append((answered - offered).total_seconds())
        if answered >= day_start:
            today[who] = today.get(who, 0) + 1
    manual = (await session.execute(
        select(Offer.technician, func.count()).where(
            Offer.status == ACCEPTED, Offer.mode == "manual", Offer.answered_at >= day_start)
        .group_by(Offer.technician))).all()
    for who, n in manual:
        today[who] = today.get(who, 0) + n
    return {who: float(median(w)) for who, w in waits.items()}, today


async def satisfaction_by_technician(session: AsyncSession) -> dict[str, tuple[float, int]]:
    """(sum, count) of customer scores on each technician's tickets."""
    rows = await session.execute(
        select(Ticket.assignee, func.sum(Ticket.satisfaction), func.count())
        .where(Ticket.assignee.is_not(None), Ticket.satisfaction.is_not(None))
        .group_by(Ticket.assignee))
    return {who: (float(total), int(n)) for who, total, n in rows.all()}


async def lock_job(session: AsyncSession, job_id: int) -> DispatchJob | None:
    """The dispatch job, locked for this transaction (``SELECT … FOR UPDATE`` on PostgreSQL;
    the write gate makes the process the only writer on SQLite), freshly read."""
    return (await session.execute(
        select(DispatchJob).where(DispatchJob.id == job_id).with_for_update()
        .execution_options(populate_existing=True))).scalar_one_or_none()


_CURRENT_JOB = (select(DispatchJob).where(DispatchJob.ticket_id == bindparam("ticket_id"))
                .order_by(DispatchJob.id.desc()).limit(1))  # built once (models.db.built_once)


async def current_job(session: AsyncSession, ticket_id: int) -> DispatchJob | None:
    return (await session.execute(_CURRENT_JOB, {"ticket_id": ticket_id})).scalar_one_or_none()


async def offers_of(session: AsyncSession, *, job_id: int | None = None,
                    ticket_id: int | None = None) -> list[Offer]:
    stmt = select(Offer).execution_options(populate_existing=True).order_by(Offer.id)
    if job_id is not None:
        stmt = stmt.where(Offer.job_id == job_id)
    if ticket_id is not None:
        stmt = stmt.where(Offer.ticket_id == ticket_id)
    return list((await session.execute(stmt)).scalars())


async def open_offers_of(session: AsyncSession, technician: str) -> list[Offer]:
    return list((await session.execute(
        select(Offer).where(Offer.technician == technician, Offer.status == OFFERED)
        .order_by(Offer.id.desc()))).scalars())


async def active_tickets_of(session: AsyncSession, technician: str) -> list[Ticket]:
    """The technician's accepted and started tickets, newest first."""
    return list((await session.execute(
        select(Ticket).where(Ticket.assignee == technician,
                             Ticket.status.in_(("accepted", "in_progress")))
        .order_by(Ticket.id.desc()))).scalars())


async def accepted_offer(session: AsyncSession, ticket_id: int,
                         technician: str) -> Offer | None:
    return (await session.execute(
        select(Offer).where(Offer.ticket_id == ticket_id, Offer.technician == technician,
                            Offer.status == ACCEPTED)
        .order_by(Offer.id.desc()).limit(1))).scalar_one_or_none()


async def latest_decision(session: AsyncSession, ticket_id: int) -> DispatchDecisionRow | None:
    return (await session.execute(
        select(DispatchDecisionRow).where(DispatchDecisionRow.ticket_id == ticket_id)
        .order_by(DispatchDecisionRow.id.desc()).limit(1))).scalar_one_or_none()


async def latest_decided_ticket(session: AsyncSession) -> int | None:
    return (await session.execute(
        select(DispatchDecisionRow.ticket_id).order_by(DispatchDecisionRow.id.desc())
        .limit(1))).scalar_one_or_none()
