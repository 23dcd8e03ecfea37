"""Tables of the HTTP API and what leaves through it (handlers/board/).

* ``ApiKey`` — one integration's key: a public prefix (how a request finds its row) and the
  SHA-256 of the whole key (the key itself is printed once and never stored), its scopes and
  its rate limit.
* ``ApiIdempotency`` — the stored answer to each create made with an ``Idempotency-Key``: the
  same key again returns it, creating nothing (unique per API key and idempotency key).
* ``ApiTicketLink`` — which integration a ticket came in through (API, e-commerce order, web
  form) and its order number, so status news goes back to that integration with it.
* ``ApiEvent`` — news to send out (a ticket's status change, a statement, an SMS): found in the
  audit trail and the statements by the pump (a durable timer), unique per source row.
* ``ApiDelivery`` / ``ApiDeliveryAttempt`` — one event to one webhook (or one SMS), with its
  exact body, its retries and every attempt: the delivery log.
* ``FinanceExport`` — one day's statements exported for finance (unique per day and format).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.tickets import _ID, Ticket, _at, _fk, _pk
from models.types import new_dict, new_list


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: int | None = _pk()
    name: str = Field(max_length=64, unique=True)  # the integration (shop, scrm, finance …)
    prefix: str = Field(max_length=16, unique=True)  # public part of the key, for lookup
    key_hash: str = Field(max_length=64)  # hex SHA-256 of the whole key
    scopes: list[str] = Field(default_factory=new_list, sa_column=Column(JSON, nullable=False))
    rate_per_minute: int = 600
    created_at: datetime = _at()
    revoked_at: datetime | None = _at(nullable=True)


class ApiIdempotency(SQLModel, table=True):
    __tablename__ = "api_idempotency"
    __table_args__ = (UniqueConstraint("api_key_id", "idem_key", name="uq_idem_key"),)

    id: int | None = _pk()
    api_key_id: int = _fk("api_key.id", index=False, nullable=False)
    idem_key: str = Field(max_length=255)
    operation: str = Field(max_length=64)  # e.g. POST /api/tickets
    request_hash: str = Field(max_length=64)
    status_code: int = 0
    response: dict[str, Any] = Field(default_factory=new_dict,
                                     sa_column=Column(JSON, nullable=False))
    created_at: datetime = _at()


class ApiTicketLink(SQLModel, table=True):
    __tablename__ = "api_ticket_link"
    __table_args__ = (Index("ix_api_link_order", "integration", "order_number"),
                      Index("ix_api_link_order_number", "order_number"))  # ?order_number=

    ticket_id: int = Field(sa_column=Column(_ID, ForeignKey("ticket.id"), primary_key=True))
    integration: str = Field(max_length=64)
    source: str = Field(max_length=12)  # api | order | form
    order_number: str | None = Field(default=None, max_length=64)
    created_at: datetime = _at()


class ApiEvent(SQLModel, table=True):
    __tablename__ = "api_event"

    id: int | None = _pk()
    source: str = Field(max_length=80, unique=True)  # ticket_event:<id> | statement:<id> | …
    type: str = Field(max_length=40)  # ticket.status_changed | statement.issued | sms
    ticket_id: int | None = _fk("ticket.id")
    data: dict[str, Any] = Field(default_factory=new_dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _at()


class ApiDelivery(SQLModel, table=True):
    __tablename__ = "api_delivery"
    __table_args__ = (
        UniqueConstraint("event_id", "target", name="uq_delivery_event_target"),
        Index("ix_delivery_target_status", "target", "status", "id"),
        Index("ix_delivery_status_target", "status", "target", "id"),  # the pump's pending
    )

    id: int | None = _pk()
    event_id: int = _fk("api_event.id", index=False, nullable=False)
    target: str = Field(max_length=80)  # webhook:<name> | sms
    status: str = Field(default="pending", max_length=12)  # pending | delivered | parked
    body: str = Field(sa_column=Column(Text, nullable=False))  # exactly what is sent, each time
    attempts: int = 0
    next_attempt_at: datetime = _at()
    lease_until: datetime | None = _at(nullable=True)
    last_status: int | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = _at()
    delivered_at: datetime | None = _at(nullable=True)


class ApiDeliveryAttempt(SQLModel, table=True):
    __tablename__ = "api_delivery_attempt"

    id: int | None = _pk()
    delivery_id: int = _fk("api_delivery.id", nullable=False)
    at: datetime = _at()
    status_code: int | None = None
    error: str | None = Field(default=None, sa_column=Column(Text))
    ms: int = 0


class FinanceExport(SQLModel, table=True):
    __tablename__ = "finance_export"
    __table_args__ = (UniqueConstraint("day", "name", name="uq_finance_export_day_name"),)

    id: int | None = _pk()
    day: str = Field(max_length=10)  # YYYY-MM-DD, Asia/Shanghai
    name: str = Field(max_length=120)  # file name in the folder
    statements: int = 0
    content: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = _at()


# GET /api/tickets pages by id within a status: declared here, on the ticket table, with the
# migration that creates it (0011).
Index("ix_ticket_status_id", Ticket.__table__.c.status, Ticket.__table__.c.id)
