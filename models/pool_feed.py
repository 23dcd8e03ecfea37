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

from sqlalchemy import BigInteger, Column, Index, Integer, case, func, literal, select, union_all
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


async def pool_version(session: AsyncSession) -> int:
    return int((await session.execute(
        select(PoolVersion.version).where(PoolVersion.id == 1))).scalar_one_or_none() or 0)


async def changed_since(session: Any, version: int) -> tuple[int, set[str]] | None:
    """(the current version, the technicians changed after ``version``) in one round trip;
    None when the feed no longer reaches back that far or the version went back (a restore):
    read everything again."""
    current = select(PoolVersion.version.label("version"), literal(None).label("userid")).where(
        PoolVersion.id == 1)
    later = select(TechnicianChange.version, TechnicianChange.userid).where(
        TechnicianChange.version > version)
    rows = (await session.execute(union_all(current, later))).all()
    now = max((int(v) for v, who in rows if who is None), default=0)
    if now == version:
        return now, set()
    if now < version or now - version >= KEEP:
        return None
    changed = [(int(v), who) for v, who in rows if who is not None and v <= now]
    if min((v for v, _ in changed), default=version + 1) != version + 1:
        return None  # pruned in between
    return now, {who for _, who in changed}


def _only(stmt: Any, column: Any, userids: Iterable[str] | None) -> Any:
    return stmt if userids is None else stmt.where(column.in_(sorted(userids)))


async def staff_rows(session: AsyncSession, userids: Iterable[str] | None = None) -> list[Any]:
    """Active technicians' rows (all, or those of ``userids``), light (no ORM bookkeeping)."""
    stmt = _only(select(*(getattr(Staff, c) for c in TECHNICIAN_COLUMNS))
                 .where(Staff.active.is_(True)).order_by(Staff.id), Staff.userid, userids)
    return [r for r in (await session.execute(stmt)).all() if "technician" in (r.roles or [])]


async def loads_of(session: Any, userids: Iterable[str] | None = None) -> dict[str, int]:
    return {who: load for who, (load, _) in (await counters_of(session, userids)).items()}


async def counters_of(session: Any, userids: Iterable[str] | None = None
                      ) -> dict[str, tuple[int, tuple[float, int] | None]]:
    """Per technician holding tickets: (open tickets, (sum, count) of customer scores or None)
    — one query for what ``open_loads`` and ``satisfaction_by_technician`` read."""
    stmt = _only(select(Ticket.assignee,
                        func.sum(case((Ticket.status.in_(ASSIGNED_STATUSES), 1), else_=0)),
                        func.sum(Ticket.satisfaction), func.count(Ticket.satisfaction))
                 .where(Ticket.assignee.is_not(None)).group_by(Ticket.assignee),
                 Ticket.assignee, userids)
    return {who: (int(load or 0), (float(total), int(n)) if n else None)
            for who, load, total, n in (await session.execute(stmt)).all()}


async def accepts_of(session: AsyncSession, since: datetime,
                     userids: Iterable[str] | None = None
                     ) -> list[tuple[str, datetime, datetime, str]]:
    """Accepted offers answered since ``since``: (technician, offered_at, answered_at, mode)."""
    stmt = _only(select(Offer.technician, Offer.offered_at, Offer.answered_at, Offer.mode)
                 .where(Offer.status == ACCEPTED, Offer.answered_at >= since),
                 Offer.technician, userids)
    return [tuple(r) for r in (await session.execute(stmt)).all()]  # type: ignore[misc]


