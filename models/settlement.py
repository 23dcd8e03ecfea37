"""Settlement records: statements per ticket, the parties' answers, reviews for finance, month
statements per provider and technician, and promotion freezes.

* ``SettlementStatement`` — one priced statement of one ticket: the engine's statement id
  (``st-…``, a hash of its inputs), the full statement JSON and the ticket input it was priced
  from. **Insert only**: nothing ever updates or deletes a row. A correction is a new row
  (``kind="correction"``, ``revision`` + 1) whose ``corrects`` names the statement it replaces.
  ``(ticket_id, revision)`` is unique, so handling one completion twice stores one statement.
* ``StatementAck`` — what each party (customer, technician) answered to one statement:
  pending → confirmed | disputed, or superseded by a correction. Kept apart so the statement
  rows stay immutable; one row per statement and party.
* ``SettlementReview`` — a question for finance: a party's dispute, or a completed ticket that
  could not be priced. Finance resolves it with ``python main.py settle review``.
* ``SettlementPeriod`` / ``SettlementPeriodLine`` — a month's settlement and its statements per
  provider and per technician. Immutable; keyed by a hash of the whole result (the engine's
  deterministic period id plus every figure), so a re-run over the same records adds nothing
  and a re-run after a correction adds a new version of the month.
* ``PromotionFreeze`` — an address or a district whose promotional discounts the guard froze.

Money is stored as exact decimal text (``"317.50"``): SQLite has no decimal type and the
statement JSON, not SQL arithmetic, is what the amounts come from.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Text, UniqueConstraint, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from models.db import built_once, dialect_insert
from models.tickets import Site, Ticket, TicketEvent, _at, _fk, _pk
from models.types import new_list

if TYPE_CHECKING:
    from models.conversation import Awaiting

# StatementAck.party / .status / .via
CUSTOMER, TECHNICIAN = "customer", "technician"
PENDING, CONFIRMED, DISPUTED, SUPERSEDED = "pending", "confirmed", "disputed", "superseded"
# SettlementReview.kind / .status
DISPUTE, UNPRICED = "dispute", "unpriced"
OPEN, ACCEPTED, CORRECTED, PRICED = "open", "accepted", "corrected", "priced"


def _statement_fk(nullable: bool = False) -> Any:
    return Field(default=None, sa_column=Column(
        String(40), ForeignKey("settlement_statement.statement_id"), index=True,
        nullable=nullable))


class SettlementStatement(SQLModel, table=True):
    __tablename__ = "settlement_statement"
    __table_args__ = (
        UniqueConstraint("ticket_id", "revision", name="uq_statement_ticket_revision"),
        Index("ix_statement_completed", "completed_at"),
    )

    id: int | None = _pk()
    statement_id: str = Field(max_length=40, unique=True)  # the engine's id, "st-…"
    ticket_id: int = _fk("ticket.id", nullable=False)
    ticket_number: str = Field(max_length=20)
    revision: int = 0  # 0: the original; n: the n-th correction
    kind: str = Field(max_length=12)  # original | correction
    corrects: str | None = Field(default=None, max_length=40)  # statement_id it replaces
    review_id: int | None = Field(default=None)  # the review that led to a correction
    book_id: str = Field(max_length=64)
    book_version: int
    service: str = Field(max_length=64)
    service_rule: str = Field(max_length=64)
    provider: str = Field(default="", max_length=100)
    technician: str = Field(default="", max_length=128)
    currency: str = Field(max_length=3)
    net: str = Field(max_length=32)
    tax: str = Field(max_length=32)
    gross: str = Field(max_length=32)
    technician_share: str = Field(max_length=32)
    completed_at: datetime = _at()
    # the freezes that applied: {"addresses": [...], "regions": [...], "reasons": [[key, why]]}
    frozen: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    ticket_input: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    statement: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = _at()


class StatementAck(SQLModel, table=True):
    __tablename__ = "settlement_ack"
    __table_args__ = (UniqueConstraint("statement_id", "party", name="uq_ack_statement_party"),
                      Index("ix_ack_who_status", "who", "status"))

    id: int | None = _pk()
    statement_id: str = _statement_fk()
    ticket_id: int = _fk("ticket.id", index=False, nullable=False)
    party: str = Field(max_length=12)  # customer | technician
    who: str = Field(max_length=128)  # the userid / external_userid that may answer
    status: str = Field(default=PENDING, max_length=12)
    via: str | None = Field(default=None, max_length=12)  # card | text | closed
    task_id: str | None = Field(default=None, max_length=128)  # the card sent to them
    answered_at: datetime | None = _at(nullable=True)


class SettlementReview(SQLModel, table=True):
    __tablename__ = "settlement_review"

    id: int | None = _pk()
    dedupe_key: str = Field(max_length=120, unique=True)
    kind: str = Field(max_length=12)  # dispute | unpriced
    ticket_id: int = _fk("ticket.id", nullable=False)
    statement_id: str | None = _statement_fk(nullable=True)
    party: str | None = Field(default=None, max_length=12)
    who: str | None = Field(default=None, max_length=128)
    words: str = Field(default="", sa_column=Column(Text, nullable=False))
    status: str = Field(default=OPEN, max_length=12)  # open | accepted | corrected | priced
    opened_at: datetime = _at()
    resolved_at: datetime | None = _at(nullable=True)
    resolved_by: str | None = Field(default=None, max_length=128)
    note: str | None = Field(default=None, sa_column=Column(Text))
    result_statement_id: str | None = Field(default=None, max_length=40)


class SettlementPeriod(SQLModel, table=True):
    __tablename__ = "settlement_period"

    id: int | None = _pk()
    # a hash of the whole result (the engine's id covers the statements and the period rules;
    # the result adds what only the month uses, such as ratings given after completion)
    key: str = Field(max_length=40, unique=True)
    period_id: str = Field(max_length=40, index=True)  # the engine's id, "ps-…"
    month: str = Field(max_length=7, index=True)
    currency: str = Field(max_length=3)
    rules_book: str | None = Field(default=None, max_length=80)
    tickets: int = 0
    statement_ids: list[str] = Field(default_factory=new_list,
                                     sa_column=Column(JSON, nullable=False))
    result: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = _at()


class SettlementPeriodLine(SQLModel, table=True):
    __tablename__ = "settlement_period_line"
    __table_args__ = (UniqueConstraint("period_key", "scope", "subject",
                                       name="uq_period_line_subject"),)

    id: int | None = _pk()
    period_key: str = Field(sa_column=Column(String(40), ForeignKey("settlement_period.key"),
                                             nullable=False))
    month: str = Field(max_length=7)
    scope: str = Field(max_length=12)  # provider | technician
    subject: str = Field(max_length=128)  # the provider's name / the technician's userid
    provider: str = Field(default="", max_length=100)
    tickets: int = 0
    amount: str = Field(max_length=32)  # provider: payable; technician: payout
    figures: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = _at()


class PromotionFreeze(SQLModel, table=True):
    __tablename__ = "promotion_freeze"
    __table_args__ = (UniqueConstraint("scope", "value", name="uq_freeze_scope_value"),)

    id: int | None = _pk()
    scope: str = Field(max_length=8)  # address | region
    value: str = Field(max_length=300)
    region: str = Field(default="", max_length=12)
    events: int = 0  # cancellations counted when it froze
    reason: str = Field(sa_column=Column(Text, nullable=False))
    frozen_at: datetime = _at()
    lifted_at: datetime | None = _at(nullable=True)
    lifted_by: str | None = Field(default=None, max_length=128)


# -- queries -------------------------------------------------------------------------------


def _insert_ignore_any(session: AsyncSession, table):
    """``INSERT … ON CONFLICT DO NOTHING`` (any unique constraint) for the session's dialect."""
    return built_once(session, ("insert-ignore-any", table),
                      lambda: dialect_insert(session, table).on_conflict_do_nothing())


async def statement_add(session: AsyncSession,
                        values: dict[str, Any]) -> SettlementStatement | None:
    """Store a statement unless this ticket already has this revision (or this statement id):
    the new row, or None when it was there already (a completion handled twice)."""
    res = await session.execute(
        _insert_ignore_any(session, SettlementStatement.__table__).returning(
            SettlementStatement.__table__.c.id), [values])
    new_id = res.scalar_one_or_none()
    return await session.get(SettlementStatement, new_id) if new_id is not None else None


async def latest_statement(session: AsyncSession, ticket_id: int) -> SettlementStatement | None:
    return (await session.execute(
        select(SettlementStatement).where(SettlementStatement.ticket_id == ticket_id)
        .order_by(SettlementStatement.revision.desc()).limit(1))).scalar_one_or_none()


async def statement_by_id(session: AsyncSession, statement_id: str) -> SettlementStatement | None:
    return (await session.execute(select(SettlementStatement).where(
        SettlementStatement.statement_id == statement_id))).scalar_one_or_none()


async def acks_of(session: AsyncSession, statement_id: str) -> list[StatementAck]:
    return list((await session.execute(
        select(StatementAck).where(StatementAck.statement_id == statement_id)
        .order_by(StatementAck.id))).scalars())


async def ack_to_answer(session: AsyncSession, who: str, statuses: Sequence[str],
                        since: datetime, ticket_number: str | None = None
                        ) -> StatementAck | None:
    """``who``'s newest answer in ``statuses`` to a statement made since ``since`` (about
    ``ticket_number`` when given): one query, however many statements they never answered."""
    stmt = (select(StatementAck)
            .join(SettlementStatement,
                  SettlementStatement.statement_id == StatementAck.statement_id)
            .where(StatementAck.who == who, StatementAck.status.in_(statuses),
                   SettlementStatement.created_at >= since))
    if ticket_number:
        stmt = stmt.where(SettlementStatement.ticket_number == ticket_number)
    return (await session.execute(stmt.order_by(StatementAck.id.desc()).limit(1))).scalars().first()


async def review_by_key(session: AsyncSession, key: str) -> SettlementReview | None:
    return (await session.execute(select(SettlementReview).where(
        SettlementReview.dedupe_key == key))).scalar_one_or_none()


async def reviews(session: AsyncSession, *, open_only: bool = True) -> list[SettlementReview]:
    stmt = select(SettlementReview).order_by(SettlementReview.id)
    if open_only:
        stmt = stmt.where(SettlementReview.status == OPEN)
    return list((await session.execute(stmt)).scalars())


async def statements_completed_between(session: AsyncSession, start: datetime,
                                       end: datetime) -> list[SettlementStatement]:
    """The current statement (highest revision) of every ticket completed in [start, end)."""
    rows = (await session.execute(
        select(SettlementStatement).where(SettlementStatement.completed_at >= start,
                                          SettlementStatement.completed_at < end)
        .order_by(SettlementStatement.ticket_id, SettlementStatement.revision))).scalars()
    latest: dict[int, SettlementStatement] = {}
    for r in rows:
        latest[r.ticket_id] = r
    return [latest[k] for k in sorted(latest)]


async def satisfaction_completed_between(session: AsyncSession, start: datetime,
                                         end: datetime) -> dict[int, int]:
    """{ticket id: satisfaction} of the tickets rated (after completion) among those of
    ``statements_completed_between``: one query, not one per statement."""
    completed = select(SettlementStatement.ticket_id).where(
        SettlementStatement.completed_at >= start, SettlementStatement.completed_at < end)
    rows = await session.execute(select(Ticket.id, Ticket.satisfaction).where(
        Ticket.satisfaction.is_not(None), Ticket.id.in_(completed)))
    return {tid: sat for tid, sat in rows}


async def period_add(session: AsyncSession, period: dict[str, Any],
                     lines: Sequence[dict[str, Any]]) -> bool:
    """Store a month's settlement and its lines once: False if this key was stored already."""
    res = await session.execute(
        _insert_ignore_any(session, SettlementPeriod.__table__).returning(
            SettlementPeriod.__table__.c.id), [period])
    if res.scalar_one_or_none() is None:
        return False
    if lines:
        await session.execute(_insert_ignore_any(session, SettlementPeriodLine.__table__),
                              list(lines))
    return True


async def active_freezes(session: AsyncSession) -> list[PromotionFreeze]:
    return list((await session.execute(
        select(PromotionFreeze).where(PromotionFreeze.lifted_at.is_(None))
        .order_by(PromotionFreeze.id))).scalars())


async def freeze_add(session: AsyncSession, *, scope: str, value: str, region: str,
                     events: int, reason: str, now: datetime) -> PromotionFreeze | None:
    """Freeze ``value`` unless it is frozen already: the new (or re-activated) freeze, or None."""
    row = (await session.execute(select(PromotionFreeze).where(
        PromotionFreeze.scope == scope, PromotionFreeze.value == value))).scalar_one_or_none()
    if row is not None and row.lifted_at is None:
        return None
    if row is None:
        res = await session.execute(
            _insert_ignore_any(session, PromotionFreeze.__table__).returning(
                PromotionFreeze.__table__.c.id),
            [{"scope": scope, "value": value, "region": region, "events": events,
              "reason": reason, "frozen_at": now, "lifted_at": None, "lifted_by": None}])
        new_id = res.scalar_one_or_none()
        return await session.get(PromotionFreeze, new_id) if new_id is not None else None
    row.region, row.events, row.reason, row.frozen_at = region, events, reason, now
    row.lifted_at = row.lifted_by = None
    await session.flush()
    return row


async def cancellations_since(session: AsyncSession,
                              since: datetime) -> list[tuple[Ticket, Site | None, datetime]]:
    """Tickets cancelled at or after ``since``, with their site and when they were cancelled."""
    rows = (await session.execute(
        select(Ticket, Site, TicketEvent.at).join(TicketEvent, TicketEvent.ticket_id == Ticket.id)
        .outerjoin(Site, Site.id == Ticket.site_id)
        .where(Ticket.status == "cancelled", TicketEvent.action == "status:cancelled",
               TicketEvent.at >= since).order_by(TicketEvent.at, Ticket.id))).all()
    return [(t, s, at) for t, s, at in rows]


async def completed_ticket_count(session: AsyncSession, customer_id: int, before: datetime,
                                 exclude_ticket_id: int) -> int:
    """How many of the customer's other tickets were completed (resolved/closed) before."""
    rows = (await session.execute(select(Ticket.id).where(
        Ticket.customer_id == customer_id, Ticket.id != exclude_ticket_id,
        Ticket.category != "followup", Ticket.status.in_(("resolved", "closed")),
        Ticket.resolved_at.is_not(None),
        Ticket.resolved_at < before))).all()
    return len(rows)


async def lock_ticket(session: AsyncSession, ticket_id: int) -> Ticket | None:
    """The ticket, its row locked until the transaction ends (``SELECT … FOR UPDATE``; SQLite's
    one writer needs none): a part-price answer and its timer's firing, handled in two
    conversations, take turns on it."""
    return (await session.execute(
        select(Ticket).where(Ticket.id == ticket_id).with_for_update()
        .execution_options(populate_existing=True))).scalar_one_or_none()


async def awaiting_about(session: AsyncSession, owner: str, kind: str,
                         ref: int) -> list[Awaiting]:
    """Everyone whose answer about ``kind``/``ref`` is still awaited (expired or not), oldest
    first."""
    from models.conversation import Awaiting  # here: models.conversation imports models.tables

    return list((await session.execute(select(Awaiting).where(
        Awaiting.owner == owner, Awaiting.kind == kind, Awaiting.ref == ref)
        .order_by(Awaiting.id))).scalars())
