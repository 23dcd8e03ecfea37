"""Pricing a ticket from the database and storing its statement — shared by the router
(``ticket_resolved``) and the CLI (``settle review correct``). Nothing here talks to anyone.

* ``ticket_data`` — the engine's ticket JSON for a database ticket (its site, latest work
  report — or the quote the customer accepted (handlers/workflow/quotes.py), which is what
  is billed — technician's provider and customer tags) via the pure ``mapping.ticket_input``.
* ``price`` — the statement: the book in force at completion and today's freezes, or, for a
  finance correction, the corrected statement's own book and freezes.
* ``store`` — the statement row (never updated) and a pending answer per party; the answers
  still awaited on the statement it replaces become ``superseded``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select

from handlers.settlement.awaiting import stop_awaiting
from handlers.settlement.config import ServiceMap, SettlementSetup
from handlers.settlement.engine.guard import FrozenPromotions
from handlers.settlement.engine.quote import QuoteError, Statement, quote, select_book
from handlers.settlement.engine.ticket import Ticket as EngineTicket
from handlers.settlement.engine.ticket import TicketError
from handlers.settlement.mapping import (ReportData, Unpriceable, frozen_for, frozen_from_json,
                                         frozen_to_json, technician_share, ticket_input)
from models.dispatch import WorkReport
from models.sla import ticket_breached
from models.settlement import (CUSTOMER, SUPERSEDED, TECHNICIAN, SettlementStatement,
                               StatementAck, acks_of, active_freezes, completed_ticket_count,
                               statement_add)
from models.ticketing import customer_of, customer_phone, staff_by_userid
from models.tickets import Site, Ticket
from handlers.settlement.details import active_plans, work_details_of
from models.workflow import accepted_quote

log = logging.getLogger("handlers.settlement.pricing")


async def customer_tags(session: Any, setup: SettlementSetup, ticket: Ticket,
                        at: datetime | None = None) -> list[str]:
    """The customer's tags (``customer_tags`` in config/settlement.yaml) at ``at`` (default:
    the ticket's completion): from their history, or given to their phone."""
    rules = setup.config.customer_tags
    at = at or ticket.resolved_at
    if not rules or at is None:
        return []
    done = await completed_ticket_count(session, ticket.customer_id, at, ticket.id)
    phones = {p for p in (ticket.phone, await customer_phone(session, ticket.customer_id)) if p}
    return [tag for tag, rule in rules.items() if rule.holds(done, phones)]


async def latest_report(session: Any, ticket_id: int) -> WorkReport | None:
    return (await session.execute(
        select(WorkReport).where(WorkReport.ticket_id == ticket_id)
        .order_by(WorkReport.id.desc()).limit(1))).scalar_one_or_none()


async def ticket_data(session: Any, setup: SettlementSetup, ticket: Ticket, *,
                      service: str | None = None, report: ReportData | None = None
                      ) -> dict[str, Any]:
    """The engine's ticket JSON for ``ticket`` from the database (raises ``Unpriceable``)."""
    site = await session.get(Site, ticket.site_id) if ticket.site_id else None
    if report is None:
        row = await latest_report(session, ticket.id)
        report = ReportData(row.labour_minutes, row.parts, row.travel_km,
                            work_details_of(ticket, row.note)) if row else None
        quoted = await accepted_quote(session, ticket.id)
        if quoted is not None:  # the customer accepted a quote: exactly that is billed
            report = ReportData(int(quoted.basis.get("labour_minutes") or 0),
                                list(quoted.basis.get("parts") or []), None,
                                report.details if report else None)
    staff = await staff_by_userid(session, ticket.assignee) if ticket.assignee else None
    tags = await customer_tags(session, setup, ticket)
    cfg = setup.config
    if service is not None:
        cfg = cfg.model_copy(update={"services": (ServiceMap(category=ticket.category,
                                                             service=service),)})
    data = ticket_input(ticket, cfg=cfg, site=site, report=report,
                        provider=staff.provider if staff else "", tags=tags,
                        plans=await active_plans(session, setup, ticket))
    if await ticket_breached(session, ticket.id):  # an SLA clock breached (handlers/sla/)
        data["sla_breached"] = True  # the month's rebate drops a tier, the penalty applies
    return data


async def price(session: Any, setup: SettlementSetup, data: dict[str, Any], *,
                corrects: SettlementStatement | None = None,
                keep_basis: bool = False) -> tuple[Statement, FrozenPromotions | None]:
    """Quote the ticket JSON with the book in force at completion and today's freezes; with
    ``keep_basis`` (finance correcting ``corrects``) with that statement's book and freezes.
    A statement made with ``corrects`` references it. Raises ``Unpriceable``."""
    try:
        t = EngineTicket.from_dict(data)
        if keep_basis and corrects is not None:
            book = next((b for b in setup.books if b.book_id == corrects.book_id
                         and b.version == corrects.book_version), None)
            if book is None:
                raise QuoteError(f"price book {corrects.book_id}@{corrects.book_version} of "
                                 f"{corrects.statement_id} is no longer loaded")
            fp = frozen_from_json(corrects.frozen)
        else:
            book = select_book(setup.books, t.completed_at, t.book_id)
            fp = frozen_for(await active_freezes(session), data.get("address", ""),
                            data["region"])
        return quote(t, book, frozen=fp,
                     corrects=corrects.statement_id if corrects else None), fp
    except (QuoteError, TicketError) as exc:
        raise Unpriceable("no_rule", str(exc), str(exc)) from None


async def store(session: Any, ticket: Ticket, data: dict[str, Any], st: Statement, fp: Any, *,
                now: datetime, previous: SettlementStatement | None = None,
                review_id: int | None = None) -> SettlementStatement | None:
    """Insert the statement (never updated later) and a pending answer row per party.
    None if this ticket already has that revision (handled twice)."""
    doc = st.to_dict()
    row = await statement_add(session, {
        "statement_id": st.id, "ticket_id": ticket.id, "ticket_number": ticket.number,
        "revision": previous.revision + 1 if previous else 0,
        "kind": "correction" if previous else "original",
        "corrects": previous.statement_id if previous else None, "review_id": review_id,
        "book_id": st.book_id, "book_version": st.book_version, "service": st.service,
        "service_rule": st.service_rule, "provider": st.provider, "technician": st.technician,
        "currency": st.currency, "net": doc["totals"]["net"], "tax": doc["totals"]["tax"],
        "gross": doc["totals"]["gross"], "technician_share": str(technician_share(doc)),
        "completed_at": st.completed_at, "frozen": frozen_to_json(fp), "ticket_input": data,
        "statement": doc, "created_at": now})
    if row is None:
        return None
    if previous is not None:
        for ack in await acks_of(session, previous.statement_id):
            if ack.status != SUPERSEDED:
                ack.status = SUPERSEDED
            await stop_awaiting(session, ack)
    customer = customer_of(ticket)
    if customer:
        session.add(StatementAck(statement_id=st.id, ticket_id=ticket.id, party=CUSTOMER,
                                 who=customer))
    if ticket.assignee:
        session.add(StatementAck(statement_id=st.id, ticket_id=ticket.id, party=TECHNICIAN,
                                 who=ticket.assignee))
    await session.flush()
    log.info("statement %s stored for ticket %s (revision %d, gross %s %s)", st.id,
             ticket.number, row.revision, row.gross, row.currency)
    return row
