"""What the board shows, scoped to the person: which tickets they may see (their role, regions
and stores), each open ticket's light (the SLA room's clocks and its ``colour``), the map's
bubbles per city on bundled centroids, and one ticket's whole record."""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select

from handlers import voice
from handlers.intake.helpers import mask_phones
from handlers.sla.engine import RED, YELLOW, RegionLight, colour
from models.settlement import SettlementStatement
from models.sla import DONE, STOPPED, SlaClock
from models.ticketing import OPEN_STATUSES, staff_names
from models.types import LOCAL_TZ
from models.tickets import Attachment, Staff, Ticket, TicketEvent, TicketMessage

CENTROIDS = Path(__file__).parent / "data" / "centroids.csv"
#: roles that open the board; what each sees is narrowed by ``Scope``
BOARD_ROLES = ("director", "manager", "supervisor", "dispatcher", "finance", "store_manager",
               "service", "technician")
WIDE_ROLES = ("director", "manager", "supervisor", "dispatcher", "finance", "service")
LIMIT = 200


@lru_cache(maxsize=1)
def centroids() -> dict[str, tuple[str, float, float]]:
    with CENTROIDS.open(encoding="utf-8") as f:
        return {r["code"]: (r["name"], float(r["lon"]), float(r["lat"]))
                for r in csv.DictReader(f)}


@dataclass(frozen=True)
class Scope:
    """What one person may see: everything, some regions (GB/T 2260 codes at any level), some
    stores, or the tickets they hold."""

    userid: str
    name: str
    roles: tuple[str, ...]
    regions: tuple[str, ...] = ()
    stores: tuple[str, ...] = ()
    everything: bool = False

    @property
    def label(self) -> str:
        if self.everything:
            return "全部区域"
        if self.regions:
            names = [centroids().get(c, (c,))[0] for c in self.regions]
            return "、".join(names)
        if self.stores:
            return "、".join(self.stores)
        return "我的工单"

    def where(self) -> Any:
        """The SQL condition on ``Ticket`` (None: no limit)."""
        if self.everything:
            return None
        conds = [region_condition(code) for code in self.regions]
        if self.stores:
            conds.append(Ticket.store.in_(self.stores))
        if not conds:  # a technician, or someone wide-roled with no region: their own only
            conds.append(Ticket.assignee == self.userid)
        return or_(*conds)


def region_condition(code: str) -> Any:
    """Tickets in the division ``code`` (6 digits). Tickets keep their codes as prefixes —
    province ``31``, city ``3301``, district ``330106`` (nlp/region_codes.py)."""
    if code.endswith("0000"):
        return Ticket.province_code == code[:2]
    if code.endswith("00"):
        return Ticket.city_code == code[:4]
    return Ticket.district_code == code


def six(code: str | None) -> str | None:
    return code.ljust(6, "0") if code else None


def scope_of(staff: Staff | None) -> Scope | None:
    """None: not someone the board is for."""
    if staff is None or not staff.active:
        return None
    roles = tuple(r for r in (staff.roles or []) if r in BOARD_ROLES)
    if not roles:
        return None
    regions = tuple(staff.regions or ()) if set(roles) & set(WIDE_ROLES) else ()
    wide = bool(set(roles) & set(WIDE_ROLES))
    return Scope(staff.userid, staff.name or staff.userid, roles, regions,
                 tuple(staff.stores or ()) if "store_manager" in roles else (),
                 everything=wide and not staff.regions)


def mask(phone: str | None) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if phone and len(phone) >= 8 else (phone or "")


def local(t: datetime) -> str:
    """A moment for the page, in Shanghai time (ISO, so the page cuts it to the minute)."""
    return t.astimezone(LOCAL_TZ).isoformat()


async def lights(session: Any, ticket_ids: list[int], now: datetime) -> dict[int, str]:
    """Each ticket's worst light over its clocks that still run (none: no SLA clock)."""
    out: dict[int, str] = {}
    if not ticket_ids:
        return out
    rows = (await session.execute(select(SlaClock).where(
        SlaClock.ticket_id.in_(ticket_ids), SlaClock.status.not_in((DONE, STOPPED))))).scalars()
    rank = {"green": 0, YELLOW: 1, RED: 2}
    for c in rows:
        light = colour(breached=c.breached, yellow_at=c.yellow_at, due_at=c.due_at,
                       done=False, now=now)
        if rank[light] >= rank.get(out.get(c.ticket_id, "green"), 0):
            out[c.ticket_id] = light
    return out


FILTERS = ("region", "store", "category", "status", "technician", "q")


async def open_tickets(session: Any, scope: Scope, now: datetime,
                       filters: dict[str, str]) -> list[dict[str, Any]]:
    stmt = select(Ticket).order_by(Ticket.id.desc()).limit(LIMIT)
    if (cond := scope.where()) is not None:
        stmt = stmt.where(cond)
    status = filters.get("status")
    stmt = stmt.where(Ticket.status == status) if status else stmt.where(
        Ticket.status.in_(OPEN_STATUSES))
    if v := filters.get("region"):
        stmt = stmt.where(region_condition(v))
    for key, col in (("store", Ticket.store), ("category", Ticket.category),
                     ("technician", Ticket.assignee)):
        if v := filters.get(key):
            stmt = stmt.where(col == v)
    if v := (filters.get("q") or "").strip():
        stmt = stmt.where(or_(Ticket.number == v.upper(), Ticket.phone == v))
    tickets = list((await session.execute(stmt)).scalars())
    lit = await lights(session, [t.id for t in tickets], now)
    names = await staff_names(session, {t.assignee for t in tickets if t.assignee})
    return [{"number": t.number, "title": t.title or t.category, "status": t.status,
             "status_name": voice.STATUS_NAMES.get(t.status, t.status),
             "category": t.category, "store": t.store, "district": t.district,
             "region": six(t.city_code or t.province_code), "owner": names.get(t.assignee or "",
                                                                         t.assignee),
             "age_minutes": int((now - t.created_at).total_seconds() // 60),
             "light": lit.get(t.id), "phone": mask(t.phone)} for t in tickets]


def bubbles(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Open tickets per city (province where no city is known) at its centroid."""
    by: dict[str, RegionLight] = {}
    for i, r in enumerate(rows):
        if r["region"]:
            by.setdefault(r["region"], RegionLight()).add(r["light"] or "green", i)
    out = []
    for code, agg in sorted(by.items()):
        name, lon, lat = centroids().get(code, (code, 0.0, 0.0))
        if lon:
            out.append({"code": code, "name": name, "lon": lon, "lat": lat,
                        "count": len(agg.tickets), "light": agg.light, "red": agg.red,
                        "yellow": agg.yellow})
    return out


def version(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, default=str, sort_keys=True).encode()).hexdigest()[:16]


async def ticket_page(session: Any, scope: Scope, number: str, now: datetime
                      ) -> dict[str, Any] | None:
    stmt = select(Ticket).where(Ticket.number == number.upper())
    if (cond := scope.where()) is not None:
        stmt = stmt.where(cond)
    t = (await session.execute(stmt)).scalar_one_or_none()
    if t is None:
        return None
    names = await staff_names(session, [t.assignee] if t.assignee else [])
    messages = (await session.execute(select(TicketMessage).where(
        TicketMessage.ticket_id == t.id).order_by(TicketMessage.id))).scalars()
    photos = (await session.execute(select(Attachment).where(
        Attachment.ticket_id == t.id, Attachment.kind == "image").order_by(Attachment.id)
    )).scalars()
    statement = (await session.execute(select(SettlementStatement).where(
        SettlementStatement.ticket_id == t.id).order_by(SettlementStatement.revision.desc())
        .limit(1))).scalar_one_or_none()
    nodes: list[dict[str, Any]] = []
    audit: list[dict[str, Any]] = []
    try:
        from handlers.workflow.texts import NODE_STATUS, TRAIL_DETAIL
        from handlers.workflow.trail import trail_entries
        from models.workflow import WorkflowNode

        nodes = [{"name": n.name, "status": NODE_STATUS.get(n.status, n.status),
                  "owners": n.owners}
                 for n in (await session.execute(select(WorkflowNode).where(
                     WorkflowNode.ticket_id == t.id).order_by(WorkflowNode.stage,
                                                             WorkflowNode.id))).scalars()]
        # the trail in words, as 记录 GD… shows it in chat: who by name, what in Chinese
        audit = [{"at": local(e.at), "actor": e.who,
                  "action": e.what + (TRAIL_DETAIL.format(detail=mask_phones(e.detail))
                                      if e.detail else "")}
                 for e in await trail_entries(session, t)]
    except ImportError:  # pragma: no cover - the workflow room is optional
        audit = [{"at": local(e.at), "actor": e.actor, "action": e.action}
                 for e in (await session.execute(select(TicketEvent).where(
                     TicketEvent.ticket_id == t.id).order_by(TicketEvent.id))).scalars()]
    lit = await lights(session, [t.id], now)
    return {
        "number": t.number, "title": t.title, "status": t.status,
        "status_name": voice.STATUS_NAMES.get(t.status, t.status), "light": lit.get(t.id),
        "fields": {"类别": voice.CATEGORY_NAMES.get(t.category, t.category),
                   "优先级": voice.PRIORITY_NAMES.get(t.priority, t.priority),
                   "门店": t.store or "",
                   "地址": " ".join(x for x in (t.province, t.city, t.district, t.address) if x),
                   "设备": t.device or "", "电话": mask(t.phone),
                   "负责人": names.get(t.assignee or "", t.assignee or "未分派"),
                   "预约": voice.local_when(t.appointment_start, t.fields.get("precision"))
                   if t.appointment_start else "",
                   "创建": voice.local_when(t.created_at)},
        # staff see a masked phone unless their role needs it (the 电话 field above too)
        "description": mask_phones(t.description or ""),
        "workflow": nodes,
        "audit": audit,
        "messages": [{"at": local(m.at), "text": mask_phones(m.text or "")} for m in messages],
        "photos": [p.url for p in photos if p.url],
        "statement": None if statement is None else {
            "id": statement.statement_id, "gross": statement.gross, "tax": statement.tax,
            "currency": statement.currency, "lines": [
                {"name": ln.get("name"), "amount": ln.get("amount")}
                for ln in statement.statement.get("lines", [])]},
    }
