"""The API's request and response shapes (pydantic): they validate what comes in, and their JSON
Schemas are the OpenAPI document's components (``openapi.py``), so the two cannot drift."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

PHONE = r"^(1[3-9][0-9]{9}|0[1-9][0-9]{1,3}-?[0-9]{7,8})$"  # mainland mobile or landline
CATEGORIES = ("repair", "install", "delivery", "return", "complaint", "invoice", "consult",
              "other")
Category = Literal["repair", "install", "delivery", "return", "complaint", "invoice", "consult",
                   "other"]
Priority = Literal["low", "normal", "high", "urgent"]
Status = Literal["new", "dispatched", "accepted", "in_progress", "pending_customer", "resolved",
                 "closed", "cancelled", "reopened"]


#: no control characters (PostgreSQL text refuses NUL; none belongs in a ticket); newlines ok
_OK = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
TEXT = rf"^{_OK}*[^\s\x00-\x1f\x7f]{_OK}*$"  # … and something besides spaces
LINE = f"^{_OK}*$"


def _text(n: int, **kw: Any) -> Any:
    return Field(min_length=1, max_length=n, pattern=TEXT, **kw)


def _opt(n: int) -> Any:
    return Field(default=None, max_length=n, pattern=LINE)


def _whole(v: Any) -> Any:
    """JSON Schema counts 3.0 as an integer; pydantic's strict mode would not."""
    return int(v) if isinstance(v, float) and v.is_integer() else v


Count = Annotated[int, BeforeValidator(_whole)]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Place(In):
    province: str | None = _opt(50)
    city: str | None = _opt(50)
    district: str | None = _opt(50)
    address: str | None = _opt(300)


class TicketIn(Place):
    """A ticket from an integration. ``phone`` finds (or makes) the customer."""

    category: Category = "repair"
    description: str = _text(2000)
    phone: str = Field(pattern=PHONE)
    name: str | None = _opt(50)
    device: str | None = _opt(100)
    store: str | None = _opt(100)
    priority: Priority = "normal"
    appointment: AwareDatetime | None = None
    order_number: str | None = Field(default=None, min_length=1, max_length=64,
                                     pattern=r"^[A-Za-z0-9_-]+$")


class NoteIn(In):
    text: str = _text(2000)


class StatusIn(In):
    status: Literal["cancelled", "closed"]
    reason: str = Field(default="", max_length=500, pattern=LINE)


class OrderItem(In):
    sku: str = Field(min_length=1, max_length=64, pattern=r"^[!-~]+$")
    name: str = _text(100)
    quantity: Count = Field(ge=1, le=999)


class OrderIn(Place):
    """An e-commerce order that needs installation."""

    order_number: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    items: list[OrderItem] = Field(min_length=1, max_length=50)
    phone: str = Field(pattern=PHONE)
    name: str | None = _opt(50)
    address: str = _text(300)
    appointment: AwareDatetime | None = None  # the slot the customer chose, if any
    note: str | None = _opt(500)


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TicketOut(Out):
    number: str
    status: Status
    category: str
    priority: str
    title: str
    description: str
    phone: str | None
    device: str | None
    store: str | None
    province: str | None
    city: str | None
    district: str | None
    address: str | None
    assignee: str | None
    appointment_start: datetime | None
    appointment_end: datetime | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None
    integration: str | None
    source: str | None
    order_number: str | None


class TicketPage(Out):
    items: list[TicketOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null: "
                                                "this was the last")


class NoteOut(Out):
    id: int
    ticket: str
    text: str
    at: datetime


class StatementOut(Out):
    statement_id: str
    ticket: str
    revision: int
    kind: str
    corrects: str | None
    currency: str
    net: str
    tax: str
    gross: str
    completed_at: datetime
    statement: dict[str, Any] = Field(description="the engine's statement: lines, totals, split")


class StatementPage(Out):
    items: list[StatementOut]
    next_cursor: str | None


class TechnicianOut(Out):
    userid: str
    name: str
    provider: str
    skills: dict[str, int]
    regions: list[str]
    capacity: int
    rating: float | None
    active: bool


class TechnicianPage(Out):
    items: list[TechnicianOut]
    next_cursor: str | None


class OrderOut(Out):
    order_number: str
    ticket: TicketOut
    sms: str = Field(description="queued: the appointment SMS will be sent; none: no SMS "
                                 "(see docs/api.md)")


class DeliveryOut(Out):
    id: int
    target: str
    event: str
    ticket: str | None
    status: str
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class DeliveryPage(Out):
    items: list[DeliveryOut]
    next_cursor: str | None


class FinanceExportOut(Out):
    day: str
    name: str
    statements: int
    created_at: datetime


class FinanceExportPage(Out):
    items: list[FinanceExportOut]
    next_cursor: str | None


class Problem(Out):
    """RFC 9457 problem details."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None
