"""The API's ticket, statement, voucher, technician and delivery operations (see openapi.OPS)."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import select

from handlers.board import schemas as S
from handlers.board.usecases import Refused, add_note, api_event, open_ticket, run, set_status
from handlers.intake.config import IntakeConfig
from models.api import ApiDelivery, ApiEvent, ApiTicketLink
from models.db import write_session
from models.settlement import SettlementStatement
from models.ticketing import ticket_by_number
from models.tickets import Staff, Ticket
from models.types import LOCAL_TZ

HANDLERS: dict[str, Any] = {}


def handler(op_id: str):
    def deco(fn):
        HANDLERS[op_id] = fn
        return fn
    return deco


# -- shared helpers -------------------------------------------------------------------------


def encode_cursor(last_id: int) -> str:
    """The next page starts after this row (opaque to callers: pass it back as given)."""
    return str(last_id)


def decode_cursor(text: str | None) -> int | None:
    if not text:
        return None
    if text.isdigit() and len(text) <= 18:
        return int(text)
    raise Refused(400, "invalid-cursor", "Invalid cursor", "pass next_cursor as it was given")


def limit_of(request: web.Request) -> int:
    text = request.query.get("limit", "50")
    if not text.isdigit() or not 1 <= int(text) <= 200:
        raise Refused(400, "invalid-parameter", "Invalid parameter",
                      "limit: an integer from 1 to 200")
    return int(text)


def when(request: web.Request, name: str) -> datetime | None:
    text = request.query.get(name)
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise Refused(400, "invalid-parameter", "Invalid parameter",
                      f"{name}: an ISO 8601 date-time with a time zone")
    return value


def choice(request: web.Request, name: str, allowed: tuple[str, ...] | None = None,
           pattern: str | None = None, max_len: int = 100) -> str | None:
    import re

    text = request.query.get(name)
    if text is None:
        return None
    ok = 0 < len(text) <= max_len and (allowed is None or text in allowed) and (
        pattern is None or re.search(pattern, text) is not None)
    if not ok:
        raise Refused(400, "invalid-parameter", "Invalid parameter", f"{name}: not allowed")
    return text


_TICKET_FIELDS = tuple(k for k in S.TicketOut.model_fields
                       if k not in ("integration", "source", "order_number"))


def ticket_out(t: Ticket, link: ApiTicketLink | None) -> dict[str, Any]:
    """``TicketOut`` as JSON (built directly: a page of 200 is on the list's hot path; the
    schemathesis run checks every answer against the schema)."""
    data: dict[str, Any] = {}
    for k in _TICKET_FIELDS:
        v = getattr(t, k)
        data[k] = v.isoformat() if isinstance(v, datetime) else v
    data.update(integration=link.integration if link else None,
                source=link.source if link else None,
                order_number=link.order_number if link else None)
    return data


async def ticket_or_404(session: Any, number: str) -> Ticket:
    t = await ticket_by_number(session, number)
    if t is None:
        raise Refused(404, "not-found", "No such ticket", f"no ticket {number}")
    return t


async def place_fields(api: Any, body: S.Place, now: datetime) -> dict[str, Any]:
    """Province / city / district as given, else read from the address by the analyzer the
    chat uses (so dispatch can place the ticket)."""
    f = {"province": body.province, "city": body.city, "district": body.district,
         "address": body.address}
    if body.address and not body.district:
        from nlp.analyzer import Analyzer

        if Analyzer in api.services:
            e = api.services[Analyzer].analyze(body.address, now).entities
            for level in ("province", "city", "district"):
                f[level] = f[level] or getattr(e, level)
    return f


# -- tickets --------------------------------------------------------------------------------


@handler("createTicket")
async def create_ticket(api: Any, request: web.Request, caller: Any, body: S.TicketIn
                        ) -> web.Response:
    s, now = request["session"], api.clock.now()
    fields = {"phone": body.phone, "device": body.device, "store": body.store,
              "urgency": body.priority, "order": body.order_number,
              **await place_fields(api, body, now)}
    if body.appointment:
        fields["appointment"], fields["precision"] = body.appointment.isoformat(), "minute"
    if body.order_number and await order_taken(s, caller.name, body.order_number):
        raise Refused(409, "order-exists", "Order already has a ticket",
                      f"order {body.order_number} already has a ticket")
    event = api_event(caller.name, request["idem"], "ticket_create")
    ticket = await run(s, api.services, api.clock, event, lambda ctx: open_ticket(
        ctx, api.services[IntakeConfig], category=body.category, description=body.description,
        fields=fields, name=body.name or "", source="api", order_number=body.order_number))
    link = await s.get(ApiTicketLink, ticket.id)
    return web.json_response(ticket_out(ticket, link), status=201,
                             headers={"Location": f"/api/tickets/{ticket.number}"})


async def order_taken(session: Any, integration: str, order_number: str) -> bool:
    return (await session.execute(select(ApiTicketLink.ticket_id).where(
        ApiTicketLink.integration == integration,
        ApiTicketLink.order_number == order_number).limit(1))).first() is not None


@handler("getTicket")
async def get_ticket(api: Any, request: web.Request, caller: Any, body: Any) -> web.Response:
    async with api.sm() as s:
        t = await ticket_or_404(s, request.match_info["number"])
        return web.json_response(ticket_out(t, await s.get(ApiTicketLink, t.id)))


@handler("listTickets")
async def list_tickets(api: Any, request: web.Request, caller: Any, body: Any) -> web.Response:
    limit, after = limit_of(request), decode_cursor(request.query.get("cursor"))
    # One query: the page and each ticket's integration link.
    stmt = (select(Ticket, ApiTicketLink)
            .outerjoin(ApiTicketLink, ApiTicketLink.ticket_id == Ticket.id)
            .order_by(Ticket.id.desc()).limit(limit + 1))
    if after is not None:
        stmt = stmt.where(Ticket.id < after)
    statuses = tuple(S.Status.__args__)
    if v := choice(request, "status", statuses):
        stmt = stmt.where(Ticket.status == v)
    if v := choice(request, "category", S.CATEGORIES):
        stmt = stmt.where(Ticket.category == v)
    for name, col in (("store", Ticket.store), ("district", Ticket.district),
                      ("assignee", Ticket.assignee)):
        if v := choice(request, name):
            stmt = stmt.where(col == v)
    if v := choice(request, "phone", pattern=S.PHONE):
        stmt = stmt.where(Ticket.phone == v)
    if v := choice(request, "order_number", pattern=r"^[A-Za-z0-9_-]{1,64}$"):
        stmt = stmt.where(ApiTicketLink.order_number == v)
    if v := when(request, "created_after"):
        stmt = stmt.where(Ticket.created_at >= v)
    if v := when(request, "created_before"):
        stmt = stmt.where(Ticket.created_at < v)
    async with api.sm() as s:
        rows = list((await s.execute(stmt)).all())
    page, more = rows[:limit], len(rows) > limit
    return web.json_response({"items": [ticket_out(t, link) for t, link in page],
                              "next_cursor": encode_cursor(page[-1][0].id) if more else None})


@handler("addNote")
async def post_note(api: Any, request: web.Request, caller: Any, body: S.NoteIn
                    ) -> web.Response:
    s = request["session"]
    t = await ticket_or_404(s, request.match_info["number"])
    event = api_event(caller.name, request["idem"], "ticket_note")
    msg = await run(s, api.services, api.clock, event, lambda ctx: add_note(ctx, t, body.text))
    return web.json_response(S.NoteOut(id=msg.id, ticket=t.number, text=msg.text,  # type: ignore[arg-type]
                                       at=msg.at).model_dump(mode="json"), status=201)


@handler("changeStatus")
async def post_status(api: Any, request: web.Request, caller: Any, body: S.StatusIn
                      ) -> web.Response:
    async with write_session(api.sm, api.gate) as s:
        t = await ticket_or_404(s, request.match_info["number"])
        key = f"{caller.name}:status:{t.id}:{t.version}:{body.status}"
        event = api_event(caller.name, key, "ticket_status")
        t = await run(s, api.services, api.clock, event, lambda ctx: set_status(
            ctx, api.services[IntakeConfig], t, body.status, body.reason))
        out = ticket_out(t, await s.get(ApiTicketLink, t.id))
    if api.on_event:
        api.on_event()
    return web.json_response(out)


# -- statements and vouchers ----------------------------------------------------------------


def statement_out(r: SettlementStatement) -> dict[str, Any]:
    return S.StatementOut(
        statement_id=r.statement_id, ticket=r.ticket_number, revision=r.revision,
        kind=r.kind, corrects=r.corrects, currency=r.currency, net=r.net, tax=r.tax,
        gross=r.gross, completed_at=r.completed_at, statement=r.statement
    ).model_dump(mode="json")


@handler("ticketStatements")
async def ticket_statements(api: Any, request: web.Request, caller: Any, body: Any
                            ) -> web.Response:
    async with api.sm() as s:
        t = await ticket_or_404(s, request.match_info["number"])
        rows = (await s.execute(select(SettlementStatement).where(
            SettlementStatement.ticket_id == t.id).order_by(SettlementStatement.revision))
        ).scalars()
        return web.json_response({"items": [statement_out(r) for r in rows],
                                  "next_cursor": None})


@handler("listStatements")
async def list_statements(api: Any, request: web.Request, caller: Any, body: Any
                          ) -> web.Response:
    limit, after = limit_of(request), decode_cursor(request.query.get("cursor"))
    stmt = select(SettlementStatement).order_by(SettlementStatement.id).limit(limit + 1)
    if after is not None:
        stmt = stmt.where(SettlementStatement.id > after)
    if v := when(request, "completed_after"):
        stmt = stmt.where(SettlementStatement.completed_at >= v)
    if v := when(request, "completed_before"):
        stmt = stmt.where(SettlementStatement.completed_at < v)
    async with api.sm() as s:
        rows = list((await s.execute(stmt)).scalars())
    page = rows[:limit]
    return web.json_response({"items": [statement_out(r) for r in page], "next_cursor":
                              encode_cursor(page[-1].id) if len(rows) > limit else None})  # type: ignore[arg-type]


@handler("monthVouchers")
async def month_vouchers(api: Any, request: web.Request, caller: Any, body: Any
                         ) -> web.Response:
    """Settlement's own month: ``period_from_db`` (stored once, immutable, idempotent — what
    ``settle period`` does) and its voucher export, for a month that is over."""
    from handlers.settlement.cli import period_from_db
    from handlers.settlement.config import SettlementSetup
    from handlers.settlement.export import export_json, vouchers_csv_text

    month = request.match_info["month"]
    fmt = choice(request, "format", ("json", "csv")) or "json"
    now = api.clock.now()
    if month >= now.astimezone(LOCAL_TZ).strftime("%Y-%m"):
        raise Refused(409, "month-not-over", "Month not over",
                      f"{month} is not over yet (Asia/Shanghai); its vouchers come after it")
    result, _, _ = await period_from_db(api.sm, api.services[SettlementSetup], month, now=now)
    if fmt == "csv":
        return web.Response(text=vouchers_csv_text(result), content_type="text/csv",
                            charset="utf-8")
    buf = io.StringIO()
    export_json(result, buf)
    return web.Response(text=buf.getvalue(), content_type="application/json")


# -- technicians ----------------------------------------------------------------------------


def technician_out(st: Staff) -> dict[str, Any]:
    return S.TechnicianOut(userid=st.userid, name=st.name, provider=st.provider,
                           skills=st.skills or {}, regions=st.regions or [],
                           capacity=st.capacity, rating=st.rating, active=st.active
                           ).model_dump(mode="json")


@handler("listTechnicians")
async def list_technicians(api: Any, request: web.Request, caller: Any, body: Any
                           ) -> web.Response:
    limit, after = limit_of(request), decode_cursor(request.query.get("cursor"))
    region = choice(request, "region", pattern=r"^[0-9]{6}$")
    skill = choice(request, "skill")
    active = choice(request, "active", ("true", "false"))
    stmt = select(Staff).order_by(Staff.id)
    if after is not None:
        stmt = stmt.where(Staff.id > after)
    if active is not None:
        stmt = stmt.where(Staff.active.is_(active == "true"))
    out: list[Staff] = []
    async with api.sm() as s:
        for st in (await s.execute(stmt)).scalars():
            if "technician" not in (st.roles or []):
                continue
            if region and region not in (st.regions or []):
                continue
            if skill and skill not in (st.skills or {}):
                continue
            out.append(st)
            if len(out) > limit:
                break
    page = out[:limit]
    return web.json_response({"items": [technician_out(t) for t in page], "next_cursor":
                              encode_cursor(page[-1].id) if len(out) > limit else None})  # type: ignore[arg-type]


@handler("getTechnician")
async def get_technician(api: Any, request: web.Request, caller: Any, body: Any
                         ) -> web.Response:
    async with api.sm() as s:
        st = (await s.execute(select(Staff).where(
            Staff.userid == request.match_info["userid"]))).scalar_one_or_none()
    if st is None or "technician" not in (st.roles or []):
        raise Refused(404, "not-found", "No such technician",
                      f"no technician {request.match_info['userid']}")
    return web.json_response(technician_out(st))


# -- the delivery log -----------------------------------------------------------------------


@handler("listDeliveries")
async def list_deliveries(api: Any, request: web.Request, caller: Any, body: Any
                          ) -> web.Response:
    limit, after = limit_of(request), decode_cursor(request.query.get("cursor"))
    stmt = (select(ApiDelivery, ApiEvent).join(ApiEvent, ApiEvent.id == ApiDelivery.event_id)
            .where(ApiDelivery.target.like("webhook:%"))
            .order_by(ApiDelivery.id.desc()).limit(limit + 1))
    if after is not None:
        stmt = stmt.where(ApiDelivery.id < after)
    if v := choice(request, "status", ("pending", "delivered", "parked")):
        stmt = stmt.where(ApiDelivery.status == v)
    async with api.sm() as s:
        rows = list((await s.execute(stmt)).all())
    page = rows[:limit]
    items = [S.DeliveryOut(
        id=d.id, target=d.target, event=e.type, ticket=e.data.get("ticket"), status=d.status,
        attempts=d.attempts, last_status=d.last_status, last_error=d.last_error,
        created_at=d.created_at, delivered_at=d.delivered_at).model_dump(mode="json")
        for d, e in page]
    return web.json_response({"items": items, "next_cursor":
                              encode_cursor(page[-1][0].id) if len(rows) > limit else None})

