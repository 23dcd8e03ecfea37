"""SQLModel tables of the WeCom edge: the inbox (what was acked) and the outbox (what we send).

Both are queues kept in the database so that nothing acknowledged to WeCom and nothing a handler
decided to send is lost on a crash.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, Text
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime

# Status values of both queues.
PENDING = "pending"
DONE = "done"  # inbox: handled
SENT = "sent"  # outbox: accepted by WeCom
PARKED = "parked"  # gave up: needs a person (inbox: handler kept failing; outbox: send failed)

_ID = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrement needs INTEGER


class InboxEvent(SQLModel, table=True):
    """One acknowledged callback (or a pulled 微信客服 message), in arrival order."""

    __tablename__ = "inbox"
    __table_args__ = (
        Index("ix_inbox_pending_conv", "status", "conversation_key", "id"),
        Index("ix_inbox_status_due", "status", "next_attempt_at"),
        Index("ix_inbox_sender_kind", "sender", "kind"),  # how many messages a customer wrote
        # when a 微信客服 customer last wrote (the 48-hour reply allowance)
        Index("ix_inbox_conv_kind_at", "conversation_key", "kind", "received_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(_ID, primary_key=True, autoincrement=True))
    dedupe_key: str = Field(max_length=200, unique=True)
    channel: str = Field(max_length=16)  # app | aibot | kf
    kind: str = Field(max_length=16)  # message | event
    type: str = Field(max_length=64)  # msgtype or event name
    conversation_key: str = Field(max_length=255)
    sender: str = Field(default="", max_length=128)
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    status: str = Field(default=PENDING, max_length=12)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    processed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class OutboxMessage(SQLModel, table=True):
    """One WeCom API call we owe, sent by the paced sender."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_due", "status", "next_attempt_at"),
        Index("ix_outbox_pace", "pace_key", "sent_at"),
        Index("ix_outbox_dup", "dup_key", "created_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(_ID, primary_key=True, autoincrement=True))
    idempotency_key: str = Field(max_length=200, unique=True)
    api: str = Field(max_length=64)  # e.g. message/send, appchat/send, kf/send_msg, webhook, response_url
    pace_key: str = Field(max_length=255)  # the recipient whose limits this message counts against
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    status: str = Field(default=PENDING, max_length=12)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # The request body exactly as sent, and sent again after a crash or a timeout: WeCom's
    # duplicate check compares the request JSON, so a resend must be the same bytes.
    body: str | None = Field(default=None, sa_column=Column(Text))
    # What a resend may do after an attempt whose outcome is unknown (bot/outbox.py DELIVERY).
    delivery: str = Field(default="at_least_once", max_length=16)
    # SHA-256 of (api, recipient, body before any distinct mark): counts repeats of a message,
    # which must differ to arrive both (bot/outbox.py make_distinct).
    dup_key: str | None = Field(default=None, max_length=64)
    # Claimed by a sender until then; still set after the lease ran out = outcome unknown.
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class KeyValue(SQLModel, table=True):
    """Small durable cursors (e.g. the 微信客服 sync cursor per open_kfid)."""

    __tablename__ = "kv"

    key: str = Field(primary_key=True, max_length=200)
    value: str = Field(sa_column=Column(Text, nullable=False))


# The ticket tables live in their own module; importing them here registers them on the same
# metadata for Alembic and the migration check.
import models.tickets  # noqa: E402,F401
import models.timer  # noqa: E402,F401
import models.regions  # noqa: E402,F401
import models.dispatch  # noqa: E402,F401
import models.settlement  # noqa: E402,F401
import models.conversation  # noqa: E402,F401
import models.workflow  # noqa: E402,F401
import models.pool_feed  # noqa: E402,F401
import models.sla  # noqa: E402,F401
import models.api  # noqa: E402,F401
