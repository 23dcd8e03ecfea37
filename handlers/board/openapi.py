"""The OpenAPI 3.1 document (GET /api/openapi.json), built from one table of operations —
the same table ``api.py`` registers its routes from — and the pydantic shapes of
``schemas.py``: what the document says is what the server checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from handlers.board import schemas as S
from handlers.board.keys import SCOPES

NUMBER = r"^GD[0-9]{8}-[0-9]{4,6}$"
PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Op:
    method: str
    path: str  # relative to /api
    op_id: str
    summary: str
    scope: str | None  # None: no key needed
    ok: int = 200
    body: type[BaseModel] | None = None
    out: type[BaseModel] | None = None
    params: tuple[dict[str, Any], ...] = ()
    idempotent_create: bool = False
    errors: tuple[int, ...] = (400, 401, 403, 404, 422, 429)
    raw: dict[str, Any] = field(default_factory=dict)  # a non-JSON 200 (csv, html)


def q(name: str, schema: dict[str, Any], desc: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": desc}


def p(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


LIMIT = q("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50})
CURSOR = q("cursor", {"type": "string", "pattern": "^[0-9]{1,18}$"},
           "next_cursor of the previous page, as given")
TEXT = {"type": "string", "minLength": 1, "maxLength": 100}
WHEN = {"type": "string", "format": "date-time"}
TNUM = p("number", {"type": "string", "pattern": NUMBER})

OPS: tuple[Op, ...] = (
    Op("GET", "/tickets", "listTickets", "Tickets, newest first, filtered; cursor paging",
       "tickets:read", out=S.TicketPage, params=(
           q("status", {"type": "string", "enum": list(S.Status.__args__)}),
           q("category", {"type": "string", "enum": list(S.CATEGORIES)}),
           q("store", TEXT), q("district", TEXT), q("assignee", TEXT),
           q("phone", {"type": "string", "pattern": S.PHONE}),
           q("order_number", {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}),
           q("created_after", WHEN), q("created_before", WHEN), LIMIT, CURSOR)),
    Op("POST", "/tickets", "createTicket", "Create a ticket (offered to technicians as a chat "
       "ticket is)", "tickets:write", ok=201, body=S.TicketIn, out=S.TicketOut,
       idempotent_create=True, errors=(400, 401, 403, 409, 422, 429)),
    Op("GET", "/tickets/{number}", "getTicket", "One ticket", "tickets:read", out=S.TicketOut,
       params=(TNUM,)),
    Op("POST", "/tickets/{number}/notes", "addNote", "Add a note to a ticket (audited)",
       "tickets:write", ok=201, body=S.NoteIn, out=S.NoteOut, params=(TNUM,),
       idempotent_create=True, errors=(400, 401, 403, 404, 409, 422, 429)),
    Op("POST", "/tickets/{number}/status", "changeStatus", "Cancel a ticket, or close a "
       "resolved one", "tickets:write", body=S.StatusIn, out=S.TicketOut, params=(TNUM,),
       errors=(400, 401, 403, 404, 409, 422, 429)),
    Op("GET", "/tickets/{number}/statements", "ticketStatements", "A ticket's statements "
       "(the original and any corrections)", "statements:read", out=S.StatementPage,
       params=(TNUM,)),
    Op("GET", "/statements", "listStatements", "Statements by completion time; cursor paging",
       "statements:read", out=S.StatementPage,
       params=(q("completed_after", WHEN), q("completed_before", WHEN), LIMIT, CURSOR)),
    Op("GET", "/vouchers/{month}", "monthVouchers", "The month's vouchers (金蝶/用友 layout), "
       "settled from the stored statements", "statements:read",
       params=(p("month", {"type": "string", "pattern": "^20[0-9]{2}-(0[1-9]|1[0-2])$"}),
               q("format", {"type": "string", "enum": ["json", "csv"], "default": "json"})),
       raw={"application/json": {"type": "object"}, "text/csv": {"type": "string"}},
       errors=(400, 401, 403, 404, 409, 429)),
    Op("GET", "/technicians", "listTechnicians", "Technicians (no phone numbers)",
       "technicians:read", out=S.TechnicianPage,
       params=(q("region", {"type": "string", "pattern": "^[0-9]{6}$"}),
               q("skill", TEXT), q("active", {"type": "boolean"}), LIMIT, CURSOR)),
    Op("GET", "/technicians/{userid}", "getTechnician", "One technician", "technicians:read",
       out=S.TechnicianOut,
       params=(p("userid", {"type": "string", "pattern": "^[A-Za-z0-9_.@-]{1,64}$"}),)),
    Op("POST", "/orders", "createOrder", "An e-commerce order needing installation: its ticket "
       "is created and offered; the customer gets the appointment by SMS", "orders:write",
       ok=201, body=S.OrderIn, out=S.OrderOut, idempotent_create=True,
       errors=(400, 401, 403, 409, 422, 429)),
    Op("GET", "/webhooks/deliveries", "listDeliveries", "The webhook delivery log, newest "
       "first", "webhooks:read", out=S.DeliveryPage, params=(
           q("status", {"type": "string", "enum": ["pending", "delivered", "parked"]}),
           LIMIT, CURSOR)),
    Op("GET", "/finance/exports", "listFinanceExports", "The daily finance exports, newest "
       "first", "finance:read", out=S.FinanceExportPage, params=(LIMIT, CURSOR)),
    Op("GET", "/finance/exports/{day}/{name}", "getFinanceExport", "One export file",
       "finance:read", params=(
           p("day", {"type": "string", "pattern": "^20[0-9]{2}-[0-9]{2}-[0-9]{2}$"}),
           p("name", {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,120}$"})),
       raw={"text/csv": {"type": "string"}, "application/json": {"type": "object"}}),
)

IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "required": True,
               "schema": {"type": "string", "minLength": 1, "maxLength": 255,
                          "pattern": "^[\\x21-\\x7e]+$"},
               "description": "Any unique text per create; the same key again returns the "
                             "first answer and creates nothing"}
RATE_HEADERS = {"RateLimit-Limit": {"schema": {"type": "integer"}},
                "RateLimit-Remaining": {"schema": {"type": "integer"}}}

_ERROR_TEXT = {400: "Bad request", 401: "No valid API key", 403: "The key lacks the scope",
               404: "Not found", 409: "Conflict with the ticket's state", 422: "Invalid body",
               413: "Body over 256 KiB", 415: "Body is not JSON",
               429: "Rate limit reached (Retry-After)"}


def _components() -> dict[str, Any]:
    models: list[tuple[type[BaseModel], Any]] = []
    for op in OPS:
        if op.body:
            models.append((op.body, "validation"))
        if op.out:
            models.append((op.out, "serialization"))
    models.append((S.Problem, "serialization"))
    _, top = models_json_schema(list(dict.fromkeys(models)),
                                ref_template="#/components/schemas/{model}")
    return top.get("$defs", {})


def _name(model: type[BaseModel], mode: str, schemas: dict[str, Any]) -> str:
    suffix = "-Input" if mode == "validation" else "-Output"
    return model.__name__ + suffix if model.__name__ + suffix in schemas else model.__name__


def document(server_url: str = "/api") -> dict[str, Any]:
    schemas = _components()
    problem = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    paths: dict[str, Any] = {}
    for op in OPS:
        responses: dict[str, Any] = {}
        if op.raw:
            responses[str(op.ok)] = {"description": "OK", "content": {
                k: {"schema": v} for k, v in op.raw.items()}}
        elif op.out:
            ref = {"$ref": f"#/components/schemas/{_name(op.out, 'serialization', schemas)}"}
            responses[str(op.ok)] = {"description": "OK", "content": {
                "application/json": {"schema": ref}}}
        errors = op.errors if op.scope else tuple(e for e in op.errors if e not in (401, 403))
        if op.body:
            errors = (*errors, 413, 415)
        for code in errors:
            responses[str(code)] = {"description": _ERROR_TEXT[code], "content": problem}
        params = list(op.params) + ([IDEMPOTENCY] if op.idempotent_create else [])
        entry: dict[str, Any] = {"operationId": op.op_id, "summary": op.summary,
                                 "parameters": params, "responses": responses}
        if op.scope:
            entry["security"] = [{"apiKey": [op.scope]}]
            entry["description"] = f"Scope: `{op.scope}`."
        if op.body:
            ref = {"$ref": f"#/components/schemas/{_name(op.body, 'validation', schemas)}"}
            entry["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": ref}}}
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": "工单助手 API", "version": "1.0.0",
                 "description": "Tickets, orders, statements and technicians for other "
                                "systems. Errors are RFC 9457 problem details. See docs/api.md."},
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {"apiKey": {
            "type": "http", "scheme": "bearer",
            "description": "Authorization: Bearer wo_… (python main.py apikey create NAME "
                           "--scopes …); scopes: " + ", ".join(SCOPES)}}},
    }
