"""Tickets (工单), the people they belong to, drafts being filled in chat, and the audit trail.

Model families where the shape is shared (``TicketBase`` → ``Ticket`` table, ``TicketCreate``
for what intake collects). Timestamps are aware UTC
(``UTCDateTime``); ticket numbers are per day in Asia/Shanghai (see ``models.ticketing``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, new_dict, new_list

_ID = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrement needs INTEGER


def _pk() -> Any:
    return Field(default=None, sa_column=Column(_ID, primary_key=True, autoincrement=True))


def _fk(target: str, *, index: bool = True, nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(_ID, ForeignKey(target), index=index,
                                                nullable=nullable))


def _at(nullable: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    return Field(sa_column=Column(UTCDateTime(), nullable=False))


# -- people and places ----------------------------------------------------------------------

IDENTITY_KINDS = ("wecom_userid", "external_userid", "kf_openid", "phone")


class Customer(SQLModel, table=True):
    """One person (or store account) we serve. Merged customers point at the survivor."""

    __tablename__ = "customer"
    # a customer's history links people by phone and by merges (models/customers.py)
    __table_args__ = (Index("ix_customer_phone", "phone"),
                      Index("ix_customer_merged_into", "merged_into_id"))

    id: int | None = _pk()
    name: str = Field(default="", max_length=100)
    phone: str | None = Field(default=None, max_length=32)
    merged_into_id: int | None = _fk("customer.id", index=False)
    created_at: datetime = _at()


class CustomerIdentity(SQLModel, table=True):
    """How a customer reaches us: a WeCom userid, an external_userid, a phone …"""

    __tablename__ = "customer_identity"
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_identity_kind_value"),)

    id: int | None = _pk()
    customer_id: int = _fk("customer.id", nullable=False)
    kind: str = Field(max_length=20)  # one of IDENTITY_KINDS
    value: str = Field(max_length=128)
    created_at: datetime = _at()


class Site(SQLModel, table=True):
    """A store or site we serve (门店). ``region_code`` (6 digits) and the coordinates, when
    known, place its tickets for dispatch."""

    __tablename__ = "site"

    id: int | None = _pk()
    name: str = Field(max_length=100, unique=True)
    address: str | None = Field(default=None, max_length=300)
    province: str | None = Field(default=None, max_length=50)
    city: str | None = Field(default=None, max_length=50)
    district: str | None = Field(default=None, max_length=50)
    region_code: str | None = Field(default=None, max_length=12)
    lat: float | None = None
    lon: float | None = None
    created_at: datetime = _at()


STAFF_ROLES = ("technician", "dispatcher", "supervisor", "manager", "finance", "director",
               "store_manager", "service")


class Staff(SQLModel, table=True):
    """Our people: technicians, dispatchers, supervisors … (``roles`` is a list of names).

    Technicians carry what dispatch needs: ``skills`` (tag → level 1–5), ``regions`` (6-digit
    administrative codes served), a home base and the last known location (from WeCom
    ``LOCATION`` events and location messages), weekly ``shifts``
    (``[{"days": "mon-fri", "start": "09:00", "end": "18:00"}]``), ``leave``
    (``[{"from": "2026-11-20", "to": "2026-11-22"}]``), ``capacity`` (open jobs at most;
    offers awaiting an answer count too) and an imported ``rating``. Load, jobs today, the live
    rating and response speed are derived from tickets and offers when a job is placed.
    Dispatchers' ``shifts`` say who is on duty. ``phone`` is never shown to customers: they get
    the hotline and ``extension``.
    """

    __tablename__ = "staff"

    id: int | None = _pk()
    userid: str = Field(max_length=128, unique=True)
    name: str = Field(default="", max_length=100)
    roles: list[str] = Field(default_factory=new_list, sa_column=Column(JSON, nullable=False))
    phone: str | None = Field(default=None, max_length=32)
    extension: str | None = Field(default=None, max_length=16)
    provider: str = Field(default="", max_length=100)
    skills: dict[str, int] = Field(default_factory=new_dict, sa_column=Column(JSON, nullable=False))
    regions: list[str] = Field(default_factory=new_list, sa_column=Column(JSON, nullable=False))
    home_lat: float | None = None
    home_lon: float | None = None
    last_lat: float | None = None
    last_lon: float | None = None
    last_seen_at: datetime | None = _at(nullable=True)
    shifts: list[dict[str, Any]] = Field(default_factory=new_list,
                                         sa_column=Column(JSON, nullable=False))
    leave: list[dict[str, Any]] = Field(default_factory=new_list,
                                        sa_column=Column(JSON, nullable=False))
    capacity: int = 0
    rating: float | None = None
    active: bool = True
    # where they sit in the WeCom org (workflow owners: 质检部, 采购部 …), their WeCom tags, and
    # the stores they manage (a store_manager on shift there is the store's duty manager)
    departments: list[str] = Field(default_factory=new_list, sa_column=Column(JSON, nullable=False))
    tags: list[str] = Field(default_factory=new_list, sa_column=Column(JSON, nullable=False))
    stores: list[str] = Field(default_factory=new_list, sa_column=Column(JSON, nullable=False))


# -- tickets --------------------------------------------------------------------------------


class TicketCounter(SQLModel, table=True):
    """The last number handed out per day (YYYYMMDD, Asia/Shanghai)."""

    __tablename__ = "ticket_counter"

    day: str = Field(primary_key=True, max_length=8)
    last: int = 0


class TicketBase(SQLModel):
    category: str = Field(default="repair", max_length=20)
    priority: str = Field(default="normal", max_length=10)  # low | normal | high | urgent
    title: str = Field(default="", max_length=200)
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    fields: dict[str, Any] = Field(default_factory=new_dict, sa_column=Column(JSON, nullable=False))
    phone: str | None = Field(default=None, max_length=32)
    device: str | None = Field(default=None, max_length=100)
    store: str | None = Field(default=None, max_length=100)
    province: str | None = Field(default=None, max_length=50)
    province_code: str | None = Field(default=None, max_length=12)
    city: str | None = Field(default=None, max_length=50)
    city_code: str | None = Field(default=None, max_length=12)
    district: str | None = Field(default=None, max_length=50)
    district_code: str | None = Field(default=None, max_length=12)
    address: str | None = Field(default=None, max_length=300)
    lat: float | None = None
    lon: float | None = None
    channel: str = Field(default="", max_length=16)
    conversation_key: str = Field(default="", max_length=255)
    reporter: str = Field(default="", max_length=128)  # who wrote it (userid / external_userid)
    template: str = Field(default="", max_length=40)  # config/templates/<key>.yaml ("": none)


class TicketCreate(TicketBase):
    """What intake hands to ``create_ticket``."""

    customer_id: int
    site_id: int | None = None
    appointment_start: datetime | None = None
    appointment_end: datetime | None = None
    linked_ticket_id: int | None = None
    link_kind: str | None = None


class Ticket(TicketBase, table=True):
    __tablename__ = "ticket"
    __table_args__ = (Index("ix_ticket_customer_status", "customer_id", "status"),
                      # a customer's history: tickets by phone and at the same address
                      Index("ix_ticket_phone", "phone"), Index("ix_ticket_address", "address"),
                      # a digest's period: created, resolved or closed in it
                      Index("ix_ticket_created_at", "created_at"),
                      Index("ix_ticket_resolved_at", "resolved_at"),
                      Index("ix_ticket_closed_at", "closed_at"),
                      Index("ix_ticket_store_status", "store", "status"),  # a store's reports
                      # the API's list by district / category, newest first (migration 0014)
                      Index("ix_ticket_district_id", "district", "id"),
                      Index("ix_ticket_category_id", "category", "id"))

    id: int | None = _pk()
    number: str = Field(max_length=20, unique=True)  # GD20261125-0007
    status: str = Field(default="new", max_length=20)
    status_before_pending: str | None = Field(default=None, max_length=20)
    customer_id: int = _fk("customer.id", index=False, nullable=False)
    site_id: int | None = _fk("site.id")
    assignee: str | None = Field(default=None, max_length=128)
    appointment_start: datetime | None = _at(nullable=True)
    appointment_end: datetime | None = _at(nullable=True)
    linked_ticket_id: int | None = _fk("ticket.id")
    link_kind: str | None = Field(default=None, max_length=20)  # repeat | followup
    urge_count: int = 0
    satisfaction: int | None = None
    created_at: datetime = _at()
    updated_at: datetime = _at()
    resolved_at: datetime | None = _at(nullable=True)
    closed_at: datetime | None = _at(nullable=True)
    accepted_at: datetime | None = _at(nullable=True)  # a technician took it
    departed_at: datetime | None = _at(nullable=True)  # 出发
    arrived_at: datetime | None = _at(nullable=True)  # 到达
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))

    # UPDATE … WHERE id = ? AND version = ?: a stale copy raises StaleDataError on flush.
    __mapper_args__ = {"version_id_col": version.sa_column}  # type: ignore[attr-defined]


class TicketEvent(SQLModel, table=True):
    """Append-only audit: every change to a ticket, in the same transaction as the change."""

    __tablename__ = "ticket_event"
    __table_args__ = (Index("ix_ticket_event_action_at", "action", "at"),)  # cancellations since

    id: int | None = _pk()
    ticket_id: int = _fk("ticket.id", nullable=False)
    actor: str = Field(max_length=128)
    action: str = Field(max_length=40)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    reason: str | None = Field(default=None, sa_column=Column(Text))
    at: datetime = _at()


class Draft(SQLModel, table=True):
    """A ticket being filled in chat: one per person and conversation at a time."""

    __tablename__ = "draft"
    __table_args__ = (Index("ix_draft_conv_sender_status", "conversation_key", "sender", "status"),
                      Index("ix_draft_customer", "customer_id"))  # customers merged

    id: int | None = _pk()
    conversation_key: str = Field(max_length=255)
    sender: str = Field(max_length=128)
    channel: str = Field(max_length=16)
    customer_id: int = _fk("customer.id", index=False, nullable=False)
    status: str = Field(default="collecting", max_length=12)  # collecting|confirming|done|cancelled|expired
    category: str = Field(default="repair", max_length=20)
    fields: dict[str, Any] = Field(default_factory=new_dict, sa_column=Column(JSON, nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    pending_slot: str | None = Field(default=None, max_length=20)
    revision: int = 0  # bumped on every confirmation shown (card task ids stay unique)
    linked_ticket_id: int | None = _fk("ticket.id", index=False)
    ticket_id: int | None = _fk("ticket.id", index=False)
    created_at: datetime = _at()
    updated_at: datetime = _at()


class TicketMessage(SQLModel, table=True):
    """Which inbox events (messages) make up a draft and then its ticket."""

    __tablename__ = "ticket_message"

    id: int | None = _pk()
    ticket_id: int | None = _fk("ticket.id")
    draft_id: int | None = _fk("draft.id")
    inbox_event_id: int | None = Field(default=None, sa_column=Column(_ID, nullable=True))
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    at: datetime = _at()


class Attachment(SQLModel, table=True):
    """An image or a location sent in the conversation, on a draft or a ticket."""

    __tablename__ = "attachment"

    id: int | None = _pk()
    ticket_id: int | None = _fk("ticket.id")
    draft_id: int | None = _fk("draft.id")
    inbox_event_id: int | None = Field(default=None, sa_column=Column(_ID, nullable=True))
    kind: str = Field(max_length=12)  # image | location
    url: str | None = Field(default=None, max_length=1000)
    media_id: str | None = Field(default=None, max_length=200)
    lat: float | None = None
    lon: float | None = None
    label: str | None = Field(default=None, max_length=300)
    at: datetime = _at()
