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
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel

from models.tickets import _at, _fk, _pk

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
    escalated_to: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
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
    __table_args__ = (Index("ix_offer_tech_status", "technician", "status"),)

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
    parts: list[dict[str, Any]] = Field(default_factory=list,
                                        sa_column=Column(JSON, nullable=False))
    travel_km: float | None = None
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    reported_at: datetime = _at()
