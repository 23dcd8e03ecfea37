"""Between the database and the pricing engine. Pure: no I/O, no wording.

* ``ticket_input`` — a resolved ticket (with its site, work report, technician and customer
  tags) as the engine's ticket JSON (docs/settlement.md, "Ticket JSON"). It is stored with the
  statement, so a correction starts from exactly what was priced.
* ``frozen_for`` — the promotion freezes that apply to one ticket, as the engine's
  ``FrozenPromotions``; ``frozen_to_json`` / ``frozen_from_json`` keep them with the statement.
* ``Unpriceable``, ``ReportData``, ``address_key`` (the guard's key), ``technician_share``.
* ``match_prices`` — which of the parts without a price an answer ("水泵 180元") prices.

What the parties read (statements as text and card rows) is in ``views.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from handlers.settlement.config import SettlementConfig
from models.ticketing import point_of, region_code_of
from models.tickets import Site, Ticket
from handlers.settlement.engine.guard import FrozenPromotions
from handlers.settlement.engine.regions import region_chain

HOUR_QUANTUM = Decimal("0.0001")


class Unpriceable(Exception):
    """A completed ticket the engine cannot price. ``code`` picks the words for finance
    (``texts.SETTLE_UNPRICED_WHY``); ``str()`` is English, for the log."""

    def __init__(self, code: str, message: str, detail: str = "",
                 missing: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.code, self.detail = code, detail
        self.missing = missing  # no_cost: every part (by name) that has no unit cost


@dataclass(frozen=True)
class ReportData:
    """What settlement reads of a ``WorkReport`` (kept apart so the mapping stays pure)."""

    labour_minutes: int
    parts: Sequence[Mapping[str, Any]]
    travel_km: float | None
    #: what prices besides labour and parts ({"floor": 12, "pipe_m": "6", "flags": ["高空作业"]}),
    #: from the 完工 message and the ticket's own fields (``pricing.work_details_of``)
    details: Mapping[str, Any] | None = None


def address_key(ticket: Ticket) -> str:
    """The address the guard counts and freezes: the ticket's address, else its store."""
    return " ".join((ticket.address or ticket.store or "").split())


def plain_number(value: Decimal) -> str:
    """A quantity as plain text without trailing zeros: 1.5, 6.2, 2."""
    text = format(value.normalize(), "f")
    return text


def _decimal(value: Any, what: str) -> Decimal:
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise Unpriceable("bad_report", f"{what}: not a number: {value!r}",
                          f"{what}: {value!r}") from None
    if not d.is_finite() or d < 0:
        raise Unpriceable("bad_report", f"{what}: must be a number >= 0, got {value!r}",
                          f"{what}: {value!r}")
    return d


def ticket_input(ticket: Ticket, *, cfg: SettlementConfig, site: Site | None,
                 report: ReportData | None, provider: str, tags: Iterable[str] = (),
                 plans: Iterable[str] = ()) -> dict[str, Any]:
    """The engine's ticket JSON for a resolved ticket; raises ``Unpriceable``.

    service ← ``cfg.services`` by category and device · region ← ``region_code_of`` (the
    country, ``CN``, when nothing places it: the books' country-wide rules apply) · location ←
    ``point_of`` as [lon, lat] · completed_at ← ``resolved_at`` · started_at ← ``arrived_at`` ·
    hours ← labour_minutes / 60 · km ← travel_km · units ← the service's ``units`` · parts at
    cost (a part whose name contains a ``part_quantities`` key counts into that quantity
    instead) · provider ← the technician's ``Staff.provider`` · technician ← the assignee ·
    floor, flags (高空作业) and the ``pipe_m`` quantity ← the report's ``details`` · plans ← the
    customer's subscription plans active at completion. (Keys only when there is something to
    say: a ticket without details keeps the JSON, and so the statement id, it always had.)
    """
    if ticket.resolved_at is None:
        raise Unpriceable("no_report", f"ticket {ticket.number} has no resolved_at")
    mapping = cfg.service_for(ticket.category, ticket.device)
    if mapping is None:
        raise Unpriceable("no_service", f"ticket {ticket.number}: no service for category "
                                        f"{ticket.category!r} and device {ticket.device!r}")
    if report is None:
        raise Unpriceable("no_report", f"ticket {ticket.number}: no work report")
    quantities: dict[str, str] = {}
    if report.labour_minutes < 0:
        raise Unpriceable("bad_report", f"labour_minutes {report.labour_minutes} < 0",
                          f"labour_minutes: {report.labour_minutes}")
    if report.labour_minutes:
        hours = (Decimal(report.labour_minutes) / 60).quantize(HOUR_QUANTUM)
        quantities["hours"] = plain_number(hours)
    if report.travel_km:
        quantities["km"] = plain_number(_decimal(report.travel_km, "travel_km"))
    if mapping.units:
        quantities["units"] = str(mapping.units)
    if report.details and report.details.get("units"):  # "清洗2台" in the 完工 report
        quantities["units"] = str(int(report.details["units"]))
    parts: list[dict[str, str]] = []
    counted: dict[str, Decimal] = {}
    seen: dict[str, int] = {}
    missing: list[str] = []
    for i, p in enumerate(report.parts):
        name = " ".join(str(p.get("name") or "").split()) or f"part{i + 1}"
        qty = _decimal(p.get("qty", 1), f"parts[{i}].qty")
        into = next((q for key, q in mapping.part_quantities.items() if key in name), None)
        if into is not None:
            counted[into] = counted.get(into, Decimal(0)) + qty
            continue
        if p.get("unit_cost") in (None, ""):
            if name not in missing:
                missing.append(name)
            continue
        cost = _decimal(p.get("unit_cost"), f"parts[{i}].unit_cost")
        seen[name] = seen.get(name, 0) + 1
        sku = name if seen[name] == 1 else f"{name}#{seen[name]}"
        parts.append({"sku": sku, "name": name, "cost": str(cost), "qty": plain_number(qty)})
    if missing:  # every part without a price, so that all of them are asked for at once
        raise Unpriceable("no_cost", f"parts without a unit cost: {', '.join(missing)}",
                          "、".join(missing), tuple(missing))
    for q, v in counted.items():
        quantities[q] = plain_number(v)
    data: dict[str, Any] = {
        "id": ticket.number,
        "service": mapping.service,
        "region": region_code_of(ticket, site) or "CN",
        "completed_at": ticket.resolved_at.isoformat(),
        "quantities": quantities,
        "parts": parts,
        "provider": provider,
        "technician": ticket.assignee or "",
        "address": address_key(ticket),
        "customer_tags": sorted(set(tags)),
    }
    point = point_of(ticket, site)
    if point is not None:
        data["location"] = [point[1], point[0]]  # the engine takes [lon, lat]
    if ticket.arrived_at is not None:
        data["started_at"] = ticket.arrived_at.isoformat()
    if ticket.satisfaction is not None:
        data["satisfaction"] = ticket.satisfaction
    details = report.details or {}
    if details.get("floor"):
        data["floor"] = int(details["floor"])
    if details.get("flags"):
        data["flags"] = sorted({str(f) for f in details["flags"]})
    if details.get("pipe_m") not in (None, ""):
        quantities["pipe_m"] = plain_number(_decimal(details["pipe_m"], "pipe_m"))
    if plans := sorted(set(plans)):
        data["plans"] = plans
    return data


def frozen_for(freezes: Iterable[Any], address: str, region: str) -> FrozenPromotions | None:
    """The freezes (rows with scope, value, reason) that apply to this address and region."""
    chain = set(region_chain(region)) if region else set()
    addresses = [f for f in freezes if f.scope == "address" and f.value == address and address]
    regions = [f for f in freezes if f.scope == "region" and f.value in chain]
    if not addresses and not regions:
        return None
    return FrozenPromotions(
        frozenset(f.value for f in addresses), frozenset(f.value for f in regions),
        tuple((f"address:{f.value}", f.reason) for f in addresses)
        + tuple((f"region:{f.value}", f.reason) for f in regions))


def frozen_to_json(fp: FrozenPromotions | None) -> dict[str, Any] | None:
    if fp is None:
        return None
    return {"addresses": sorted(fp.addresses), "regions": sorted(fp.regions),
            "reasons": [list(r) for r in fp.reasons]}


def frozen_from_json(data: Mapping[str, Any] | None) -> FrozenPromotions | None:
    if not data:
        return None
    return FrozenPromotions(frozenset(data.get("addresses") or ()),
                            frozenset(data.get("regions") or ()),
                            tuple((k, v) for k, v in data.get("reasons") or ()))


def technician_share(st: Mapping[str, Any], party: str = "technician") -> Decimal:
    """A party's amount of a statement's split (its JSON form; 0 when it has no share)."""
    return Decimal((st.get("split") or {}).get("parts", {}).get(party, "0"))


def match_prices(given: Iterable[Any], missing: Sequence[str]) -> dict[str, Any]:
    """The parts of an answer (``nlp.staff_commands.PartUsed`` with a ``unit_cost``) matched to
    the names in ``missing``: the same name, else the one missing name that contains it or that
    it contains ("泵" → "水泵"); a nameless price ("180元") prices the one part still missing.
    Anything else is left out (the asker is told what is still missing)."""
    out: dict[str, Any] = {}
    for g in given:
        if g.unit_cost is None and g.total is None:
            continue
        left = [m for m in missing if m not in out]
        if not g.name:
            hit = left[0] if len(left) == 1 else None
        elif g.name in left:
            hit = g.name
        else:
            near = [m for m in left if g.name in m or m in g.name]
            hit = near[0] if len(near) == 1 else None
        if hit is not None:
            out[hit] = g
    return out
