"""What prices besides labour and parts, read for settlement: the work details (floor, pipe
length, 高空作业) and the customer's subscription plans (年度服务包) at completion."""

from __future__ import annotations

from typing import Any

from handlers.settlement.config import SettlementSetup
from handlers.settlement.engine.quote import QuoteError, select_book
from models.customers import linked_customer_ids, plan_sales, template_values
from models.tickets import Ticket
from nlp.staff_commands import parse_staff_command
from nlp.work_details import HIGH_WORK, work_details


def work_details_of(ticket: Ticket, note: str) -> dict[str, Any]:
    """The ticket's own fields (``floor``, ``pipe_m``, ``high_work`` — keys an intake template's
    custom fields may use), overridden by what the technician said in the 完工 message (``WorkReport.note``:
    12楼, 铜管6米, 高空作业)."""
    fields = template_values(ticket)
    out: dict[str, Any] = {}
    if str(fields.get("floor") or "").strip():
        floor = work_details(f"{fields['floor']}楼").floor
        if floor is not None:
            out["floor"] = floor
    if fields.get("pipe_m") not in (None, ""):
        out["pipe_m"] = str(fields["pipe_m"])
    if fields.get("high_work") in (True, "是", "需要", "yes", "true"):
        out["flags"] = [HIGH_WORK]
    cmd = parse_staff_command(note or "")
    said = cmd.details if cmd is not None else work_details(note or "")
    data = said.as_data()
    data.pop("notes", None)
    if "flags" in out and "flags" in data:
        data["flags"] = sorted(set(out["flags"]) | set(data["flags"]))
    return {**out, **data}


async def active_plans(session: Any, setup: SettlementSetup, ticket: Ticket) -> list[str]:
    """The plans the customer holds at the ticket's completion: a sale of the plan's service
    (its statement) completed before it and not yet expired (the book in force at completion
    says how long a plan lasts)."""
    if ticket.resolved_at is None:
        return []
    try:
        book = select_book(setup.books, ticket.resolved_at)
    except QuoteError:
        return []
    if not book.plans:
        return []
    services = {p.service: p for p in book.plans}
    customers = await linked_customer_ids(session, ticket)
    sales = await plan_sales(session, customers, list(services), ticket.resolved_at)
    return sorted({services[svc].id for svc, at in sales
                   if services[svc].active(at, ticket.resolved_at)})
