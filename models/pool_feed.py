"""The technician pool's change feed: what tells every bot process that a technician it holds
in memory (handlers/dispatch/pool_cache.py) has changed.

Database triggers (migration 0012) write it, so no writer can forget to: every change to a
``staff`` row, to a ticket's ``assignee`` / ``status`` / ``satisfaction`` while it has an
assignee, and to an offer that is or was ``accepted`` bumps the single ``pool_version`` row and
records the technician under the new version in ``technician_change``. Because every such
transaction updates that one row, PostgreSQL orders them (the row lock is held to the commit):
a reader that sees version ``v`` also sees every change recorded under a version ``<= v``.
The feed keeps the last ``KEEP`` versions (the trigger prunes); a process further behind than
that reads the whole pool again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import (BigInteger, Column, Index, Integer, bindparam, case, func, literal, select,
                        union_all)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from models.dispatch import ACCEPTED, ASSIGNED_STATUSES, TECHNICIAN_COLUMNS, Offer
from models.tickets import Staff, Ticket

KEEP = 20_000  # versions kept in the feed (the same number is in migration 0012's triggers)


class PoolVersion(SQLModel, table=True):
    """One row (id 1): the number of technician changes ever recorded."""

    __tablename__ = "pool_version"

    id: int = Field(default=1, primary_key=True)
    version: int = Field(default=0, sa_column=Column(BigInteger(), nullable=False))


class TechnicianChange(SQLModel, table=True):
    __tablename__ = "technician_change"
    __table_args__ = (Index("ix_technician_change_version", "version"),)

    id: int | None = Field(default=None, sa_column=Column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True))
    version: int = Field(sa_column=Column(BigInteger(), nullable=False))
    userid: str = Field(max_length=128)


# A technician's tickets, for reading just the changed ones' counters (the ticket model's own
# module is not this feature's; the index is declared here and created by migration 0012).
Index("ix_ticket_assignee_status", Ticket.assignee, Ticket.status)


# Each read is a statement built once: SQLAlchemy derives a new ``select()``'s cache key on every
# execution (≈ 1 ms of CPU here), a statement kept at module level keeps it (≈ 0.3 ms) — most of
# a placement's cost after one technician changed (bench/dispatch_live.py). The technicians to
# read go in as one expanding parameter; ``None`` reads all of them with the unfiltered form.
_WHO = bindparam("who", expanding=True)
_VERSION = select(PoolVersion.version).where(PoolVersion.id == 1)
_FEED = union_all(
    select(PoolVersion.version.label("version"), literal(None).label("userid"))
    .where(PoolVersion.id == 1),
    select(TechnicianChange.version, TechnicianChange.userid)
    .where(TechnicianChange.version > bindparam("after")))
_STAFF = select(*(getattr(Staff, c) for c in TECHNICIAN_COLUMNS)).where(Staff.active.is_(True))
_STAFF_ALL = _STAFF.order_by(Staff.id)
_STAFF_OF = _STAFF.where(Staff.userid.in_(_WHO)).order_by(Staff.id)
_COUNTERS = select(Ticket.assignee,
                   func.sum(case((Ticket.status.in_(ASSIGNED_STATUSES), 1), else_=0)),
                   func.sum(Ticket.satisfaction), func.count(Ticket.satisfaction)).where(
    Ticket.assignee.is_not(None))
_COUNTERS_ALL = _COUNTERS.group_by(Ticket.assignee)
_COUNTERS_OF = _COUNTERS.where(Ticket.assignee.in_(_WHO)).group_by(Ticket.assignee)
_ACCEPTS = select(Offer.technician, Offer.offered_at, Offer.answered_at, Offer.mode).where(
    Offer.status == ACCEPTED, Offer.answered_at >= bindparam("since"))
_ACCEPTS_OF = _ACCEPTS.where(Offer.technician.in_(_WHO))


def _of(every: Any, some: Any, userids: Iterable[str] | None,
        **params: Any) -> tuple[Any, dict[str, Any]]:
    return (every, params) if userids is None else (some, {**params, "who": sorted(userids)})


async def pool_version(session: AsyncSession) -> int:
    return int((await session.execute(_VERSION)).scalar_one_or_none() or 0)


async def changed_since(session: Any, version: int) -> tuple[int, set[str]] | None:
    """(the current version, the technicians changed after ``version``) in one round trip;
    None when the feed no longer reaches back that far or the version went back (a restore):
    read everything again."""
    rows = (await session.execute(_FEED, {"after": version})).all()
    now = max((int(v) for v, who in rows if who is None), default=0)
    if now == version:
        return now, set()
    if now < version or now - version >= KEEP:
        return None
    changed = [(int(v), who) for v, who in rows if who is not None and v <= now]
    if min((v for v, _ in changed), default=version + 1) != version + 1:
        return None  # pruned in between
    return now, {who for _, who in changed}


async def staff_rows(session: AsyncSession, userids: Iterable[str] | None = None) -> list[Any]:
    """Active technicians' rows (all, or those of ``userids``), light (no ORM bookkeeping)."""
    rows = (await session.execute(*_of(_STAFF_ALL, _STAFF_OF, userids))).all()
    return [r for r in rows if "technician" in (r.roles or [])]


async def loads_of(session: Any, userids: Iterable[str] | None = None) -> dict[str, int]:
    return {who: load for who, (load, _) in (await counters_of(session, userids)).items()}


async def counters_of(session: Any, userids: Iterable[str] | None = None
                      ) -> dict[str, tuple[int, tuple[float, int] | None]]:
    """Per technician holding tickets: (open tickets, (sum, count) of customer scores or None)
    — one query for what ``open_loads`` and ``satisfaction_by_technician`` read."""
    rows = (await session.execute(*_of(_COUNTERS_ALL, _COUNTERS_OF, userids))).all()
    return {who: (int(load or 0), (float(total), int(n)) if n else None)
            for who, load, total, n in rows}


async def accepts_of(session: AsyncSession, since: datetime,
                     userids: Iterable[str] | None = None
                     ) -> list[tuple[str, datetime, datetime, str]]:
    """Accepted offers answered since ``since``: (technician, offered_at, answered_at, mode)."""
    rows = (await session.execute(*_of(_ACCEPTS, _ACCEPTS_OF, userids, since=since))).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


async def warm(session: Any, since: datetime) -> None:
    """Compile the per-placement forms once (on the full read), not on the first placement
    after it: a few milliseconds of SQLAlchemy's compiler the first time."""
    await pool_version(session)
    await changed_since(session, 2**62)
    await staff_rows(session, ())
    await counters_of(session, ())
    await accepts_of(session, since, ())
