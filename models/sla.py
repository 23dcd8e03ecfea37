"""SLA tables: each ticket's clocks, every escalation step taken (the de-duplication record),
the SMS / email / image deliveries the courier owes, and the digests sent.

* ``SlaClock`` — one per ticket and metric (first_response, accept, arrive, resolve, or a
  workflow node ``node:<kind>``): target in business seconds on a named calendar, its yellow
  point and breach, the business seconds it spent paused (waiting for the customer or parts),
  and who owns the ticket after an escalation reassigned it.
* ``SlaEscalation`` — one row per step (``first_response:level2``, ``remind:3`` …), unique per
  ticket: a step that fires again (a retried event, a second replica) finds its row and does
  nothing, so no reminder is sent twice for the same step.
* ``SlaDelivery`` — an SMS, an email or a WeCom image the courier sends outside any handler's
  transaction (claimed with a lease, like the outbox); a failure falls back to the next
  channel in ``fallback`` and stays visible (``python main.py sla deliveries``).
* ``SlaDigest`` — one row per schedule, period and recipient (unique): a digest is sent once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, bindparam, func, select
from sqlmodel import Field, SQLModel

from models.db import dialect_insert
from models.tickets import _at, _fk, _pk
from models.types import new_dict, new_list

#: a clock runs, is paused, is done (its metric happened; late if ``breached``) or was stopped
RUNNING, PAUSED, DONE, STOPPED = "running", "paused", "done", "stopped"
#: deliveries: waiting (maybe held until ``not_before``), being sent, done, given up
PENDING, SENDING, SENT, FAILED, UNKNOWN = "pending", "sending", "sent", "failed", "unknown"


class SlaClock(SQLModel, table=True):
    __tablename__ = "sla_clock"
    __table_args__ = (UniqueConstraint("ticket_id", "metric", name="uq_sla_clock_metric"),
                      Index("ix_sla_clock_status_due", "status", "due_at"),
                      Index("ix_sla_clock_owner", "owner"),  # a person's 我的工单
                      # a digest's period: breached in it, met since a week before it
                      Index("ix_sla_clock_breached_at", "breached_at"),
                      Index("ix_sla_clock_met_at", "met_at"))

    id: int | None = _pk()
    ticket_id: int = _fk("ticket.id", nullable=False)
    metric: str = Field(max_length=64)
    policy: str = Field(default="", max_length=300)  # the rules that made the target, for audits
    calendar: str = Field(default="mainland", max_length=40)
    chain: str = Field(default="", max_length=40)  # the escalation chain it follows
    target_seconds: int = 0  # business seconds
    started_at: datetime = _at()
    yellow_at: datetime = _at()
    due_at: datetime = _at()
    status: str = Field(default=RUNNING, max_length=12)
    yellow: bool = False
    breached: bool = False
    breached_at: datetime | None = _at(nullable=True)
    met_at: datetime | None = _at(nullable=True)
    paused_at: datetime | None = _at(nullable=True)
    pause_reason: str | None = Field(default=None, max_length=40)
    paused_seconds: float = 0.0  # business seconds spent paused so far
    owner: str | None = Field(default=None, max_length=128)  # who took it over (reassign)
    created_at: datetime = _at()
    updated_at: datetime = _at()


class SlaEscalation(SQLModel, table=True):
    __tablename__ = "sla_escalation"
    __table_args__ = (UniqueConstraint("ticket_id", "step", name="uq_sla_escalation_step"),
                      Index("ix_sla_escalation_clock", "clock_id"))  # a clock's steps done

    id: int | None = _pk()
    ticket_id: int = _fk("ticket.id", nullable=False)
    clock_id: int | None = _fk("sla_clock.id", index=False)
    step: str = Field(max_length=120)
    action: str = Field(default="remind", max_length=20)
    recipients: list[str] = Field(default_factory=new_list, sa_column=Column(JSON, nullable=False))
    channels: list[str] = Field(default_factory=new_list, sa_column=Column(JSON, nullable=False))
    held: list[str] = Field(default_factory=new_list, sa_column=Column(JSON, nullable=False))
    note: str | None = Field(default=None, sa_column=Column(Text))
    at: datetime = _at()


class SlaDelivery(SQLModel, table=True):
    __tablename__ = "sla_delivery"
    __table_args__ = (Index("ix_sla_delivery_status_due", "status", "not_before"),)

    id: int | None = _pk()
    key: str = Field(max_length=200, unique=True)  # idempotency: escalation/digest + channel
    kind: str = Field(default="escalation", max_length=16)  # escalation | digest
    ticket_id: int | None = _fk("ticket.id", index=False)
    channel: str = Field(max_length=16)  # sms | email | wecom | wecom_image
    recipient: str = Field(max_length=128)  # userid
    address: str = Field(default="", max_length=200)  # phone or email address ("" for wecom)
    subject: str = Field(default="", max_length=200)
    body: str = Field(default="", sa_column=Column(Text, nullable=False))
    payload: dict[str, Any] = Field(default_factory=new_dict,
                                    sa_column=Column(JSON, nullable=False))
    fallback: list[str] = Field(default_factory=new_list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=PENDING, max_length=12)
    not_before: datetime = _at()  # held by quiet hours until then
    attempts: int = 0
    lease_until: datetime | None = _at(nullable=True)
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    provider_ref: str | None = Field(default=None, max_length=200)
    sent_at: datetime | None = _at(nullable=True)
    created_at: datetime = _at()


class SlaDigest(SQLModel, table=True):
    __tablename__ = "sla_digest"
    __table_args__ = (UniqueConstraint("schedule", "period", "userid", name="uq_sla_digest"),)

    id: int | None = _pk()
    schedule: str = Field(max_length=40)
    period: str = Field(max_length=40)
    userid: str = Field(max_length=128)
    stats: dict[str, Any] = Field(default_factory=new_dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _at()


# -- small queries ----------------------------------------------------------------------------


async def record_step(session: Any, row: dict[str, Any]) -> bool:
    """Insert an escalation step unless the ticket already has it. True if this call did."""
    stmt = dialect_insert(session, SlaEscalation.__table__).values(**row).on_conflict_do_nothing(
        index_elements=["ticket_id", "step"]).returning(SlaEscalation.__table__.c.id)
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def record_digest(session: Any, row: dict[str, Any]) -> bool:
    """Insert a digest record unless that schedule, period and person has one."""
    stmt = dialect_insert(session, SlaDigest.__table__).values(**row).on_conflict_do_nothing(
        index_elements=["schedule", "period", "userid"]).returning(SlaDigest.__table__.c.id)
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def add_delivery(session: Any, row: dict[str, Any]) -> bool:
    """Queue a delivery unless one with its key exists (a retried handler queues nothing)."""
    stmt = dialect_insert(session, SlaDelivery.__table__).values(**row).on_conflict_do_nothing(
        index_elements=["key"]).returning(SlaDelivery.__table__.c.id)
    return (await session.execute(stmt)).scalar_one_or_none() is not None


_CLOCKS = select(SlaClock).where(SlaClock.ticket_id == bindparam("ticket_id")).order_by(
    SlaClock.id)  # built once (models.db.built_once says why)


async def clocks_of(session: Any, ticket_id: int) -> list[SlaClock]:
    return list((await session.execute(_CLOCKS, {"ticket_id": ticket_id})).scalars())


async def ticket_breached(session: Any, ticket_id: int) -> bool:
    """Whether any of the ticket's SLA clocks breached (settlement's ``sla_breached``)."""
    n = (await session.execute(select(func.count()).select_from(SlaClock).where(
        SlaClock.ticket_id == ticket_id, SlaClock.breached.is_(True)))).scalar_one()
    return bool(n)


async def steps_of(session: Any, ticket_id: int) -> list[SlaEscalation]:
    return list((await session.execute(select(SlaEscalation).where(
        SlaEscalation.ticket_id == ticket_id).order_by(SlaEscalation.id))).scalars())
