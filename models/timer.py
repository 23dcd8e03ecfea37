"""The durable timer table (see ``scheduler/timers.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from models.tables import _ID
from models.types import UTCDateTime


class Timer(SQLModel, table=True):
    __tablename__ = "timers"
    __table_args__ = (Index("ix_timers_status_due", "status", "due_at"),)

    id: int | None = Field(default=None, sa_column=Column(_ID, primary_key=True, autoincrement=True))
    key: str = Field(max_length=200, unique=True)  # what callers arm, re-arm and cancel
    kind: str = Field(max_length=64)  # the event type it fires as
    conversation_key: str = Field(max_length=255)  # orders the firing with that conversation
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    status: str = Field(default="armed", max_length=12)  # armed | fired | cancelled
    generation: int = 1  # bumped by every re-arm: part of the firing's dedupe key
    fire_count: int = 0
    fired_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    fired_by: str | None = Field(default=None, max_length=128)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
