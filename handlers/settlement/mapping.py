"""Between the database and the pricing engine, and the statement as chat text. Pure: no I/O.

* ``ticket_input`` — a resolved ticket (with its site, work report, technician and customer
  tags) as the engine's ticket JSON (docs/settlement.md, "Ticket JSON"). It is stored with the
  statement, so a correction starts from exactly what was priced.
* ``frozen_for`` — the promotion freezes that apply to one ticket, as the engine's
  ``FrozenPromotions``.
* ``customer_text`` / ``technician_text`` / ``correction_text`` / card rows — what each party
  reads, worded in ``handlers.texts``. Amounts to the fen, like ``¥1,234.50``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from handlers.settlement import texts
from handlers.settlement.config import SettlementConfig
from models.ticketing import point_of, region_code_of
from models.tickets import Site, Ticket
from handlers.settlement.engine.guard import FrozenPromotions
from handlers.settlement.engine.quote import Statement, diff_statements
from handlers.settlement.engine.regions import region_chain

HOUR_QUANTUM = Decimal("0.0001")
MAX_CARD_LINES = 4  # card rows: service, up to 4 lines, total (WeCom shows 6)


class Unpriceable(Exception):
    """A completed ticket the engine cannot price. ``code`` picks the words for finance
    (``texts.SETTLE_UNPRICED_WHY``); ``str()`` is English, for the log."""

    def __init__(self, code: str, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.code, self.detail = code, detail


@dataclass(frozen=True)
class ReportData:
    """What settlement reads of a ``WorkReport`` (kept apart so the mapping stays pure)."""

    labour_minutes: int
    parts: Sequence[Mapping[str, Any]]
    travel_km: float | None


def address_key(ticket: Ticket) -> str:
    """The address the guard counts and freezes: the ticket's address, else its store."""
    return " ".join((ticket.address or ticket.store or "").split())


def _num(value: Decimal) -> str:
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
                 report: ReportData | None, provider: str, tags: Iterable[str] = ()
                 ) -> dict[str, Any]:
    """The engine's ticket JSON for a resolved ticket; raises ``Unpriceable``.

    service ← ``cfg.services`` by category and device · region ← ``region_code_of`` (the
    country, ``CN``, when nothing places it: the books' country-wide rules apply) · location ←
    ``point_of`` as [lon, lat] · completed_at ← ``resolved_at`` · started_at ← ``arrived_at`` ·
    hours ← labour_minutes / 60 · km ← travel_km · units ← the service's ``units`` · parts at
    cost (a part whose name contains a ``part_quantities`` key counts into that quantity
    instead) · provider ← the technician's ``Staff.provider`` · technician ← the assignee.
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
        quantities["hours"] = _num(hours)
    if report.travel_km:
        quantities["km"] = _num(_decimal(report.travel_km, "travel_km"))
    if mapping.units:
        quantities["units"] = str(mapping.units)
    parts: list[dict[str, str]] = []
    counted: dict[str, Decimal] = {}
    seen: dict[str, int] = {}
    for i, p in enumerate(report.parts):
        name = " ".join(str(p.get("name") or "").split()) or f"part{i + 1}"
        qty = _decimal(p.get("qty", 1), f"parts[{i}].qty")
        into = next((q for key, q in mapping.part_quantities.items() if key in name), None)
        if into is not None:
            counted[into] = counted.get(into, Decimal(0)) + qty
            continue
        if p.get("unit_cost") in (None, ""):
            raise Unpriceable("no_cost", f"part {name!r} has no unit cost", name)
        cost = _decimal(p.get("unit_cost"), f"parts[{i}].unit_cost")
        seen[name] = seen.get(name, 0) + 1
        sku = name if seen[name] == 1 else f"{name}#{seen[name]}"
        parts.append({"sku": sku, "name": name, "cost": str(cost), "qty": _num(qty)})
    for q, v in counted.items():
        quantities[q] = _num(v)
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


# -- what the parties read -----------------------------------------------------------------


def money(value: Decimal | str, currency: str = "CNY") -> str:
    """``¥1,234.50`` (to the fen; ``-¥30.00`` for a discount)."""
    d = Decimal(value)
    sign = "-" if d < 0 else ""
    symbol = texts.SETTLE_CURRENCY.get(currency, currency + " ")
    return f"{sign}{symbol}{abs(d):,.2f}"


def percent(value: Decimal | str) -> str:
    """A share (0.2520) as ``25.20%``."""
    return f"{Decimal(value) * 100:.2f}%"


def _line_name(ln: Mapping[str, Any]) -> str:
    rule = str(ln["rule_id"])
    part = rule.split(":", 1)[1] if ":" in rule.split("/", 1)[-1] else ""
    return texts.SETTLE_PART_NAME.format(name=ln["name"], part=part) if part else ln["name"]


def line_text(n: int, ln: Mapping[str, Any], currency: str) -> str:
    name = _line_name(ln)
    amount = Decimal(ln["amount"])
    if ln.get("promotional") and amount == 0 and "frozen" in (ln.get("note") or ""):
        return texts.SETTLE_LINE_FROZEN.format(n=n, name=name)
    qty, unit, rate = Decimal(ln["quantity"]), str(ln["unit"]), ln.get("rate")
    if unit == "base" and rate is not None:
        detail = texts.SETTLE_DETAIL_PERCENT.format(rate=f"{Decimal(rate):+}",
                                                    base=money(qty, currency))
    elif unit.startswith("pack("):
        detail = texts.SETTLE_DETAIL.format(qty=_num(qty), unit=texts.SETTLE_UNITS["pack"],
                                            rate=money(rate or 0, currency))
    elif rate is None:
        detail = texts.SETTLE_DETAIL_QTY.format(qty=_num(qty),
                                                unit=texts.SETTLE_UNITS.get(unit, unit))
    elif unit == "次" and qty == 1:
        detail = ""
    else:
        detail = texts.SETTLE_DETAIL.format(qty=_num(qty), unit=texts.SETTLE_UNITS.get(unit, unit),
                                            rate=money(rate, currency))
    return texts.SETTLE_LINE.format(n=n, name=name, detail=detail, amount=money(amount, currency),
                                    share=percent(ln["share"]))


def _lines(st: Mapping[str, Any]) -> list[str]:
    return [line_text(i, ln, st["currency"]) for i, ln in enumerate(st["lines"], 1)]


def _totals(st: Mapping[str, Any]) -> list[str]:
    t, ccy = st["totals"], st["currency"]
    rate = _num(Decimal(t["tax_rate"]) * 100)
    if t["tax_inclusive"]:
        return [texts.SETTLE_TOTAL.format(amount=money(t["gross"], ccy)),
                texts.SETTLE_TAX_INCLUSIVE.format(rate=rate, amount=money(t["tax"], ccy))]
    return [texts.SETTLE_SUBTOTAL.format(amount=money(t["subtotal"], ccy)),
            texts.SETTLE_TAX_EXCLUSIVE.format(rate=rate, amount=money(t["tax"], ccy)),
            texts.SETTLE_TOTAL.format(amount=money(t["gross"], ccy))]


def _basis(st: Mapping[str, Any]) -> str:
    book = st["book"]
    return texts.SETTLE_BOOK.format(book=book["id"], version=book["version"], rule=book["rule"])


def technician_share(st: Mapping[str, Any], party: str = "technician") -> Decimal:
    return Decimal((st.get("split") or {}).get("parts", {}).get(party, "0"))


def customer_text(number: str, st: Mapping[str, Any], *, by_card: bool) -> str:
    """The itemised statement for the customer, with how to answer."""
    how = texts.SETTLE_HOW_CARD if by_card else texts.SETTLE_HOW_TEXT
    return "\n".join([texts.SETTLE_HEAD.format(number=number, service=st["service"]),
                      _basis(st), *_lines(st), *_totals(st), how.format(number=number)])


def technician_text(number: str, st: Mapping[str, Any]) -> str:
    """The lines plus the technician's share of the split basis."""
    ccy = st["currency"]
    share = technician_share(st)
    basis_name = "gross" if (st.get("split") or {}).get("basis") == "gross" else "net"
    basis = Decimal(st["totals"][basis_name])
    pct = percent(share / basis) if basis else percent(0)
    return "\n".join([
        texts.SETTLE_TECH_HEAD.format(number=number, service=st["service"]), _basis(st),
        *_lines(st), texts.SETTLE_TECH_BASIS[basis_name].format(amount=money(basis, ccy)),
        texts.SETTLE_TECH_SHARE.format(amount=money(share, ccy), percent=pct),
        texts.SETTLE_TECH_HOW.format(number=number)])


def customer_card_rows(st: Mapping[str, Any]) -> list[tuple[str, str]]:
    ccy, lines = st["currency"], st["lines"]
    rows = [(texts.SETTLE_CARD_ROWS["service"], st["service"])]
    shown = lines if len(lines) <= MAX_CARD_LINES else lines[:MAX_CARD_LINES - 1]
    rows += [(_line_name(ln), money(ln["amount"], ccy)) for ln in shown]
    if len(shown) < len(lines):
        rest = sum((Decimal(ln["amount"]) for ln in lines[len(shown):]), Decimal(0))
        rows.append((texts.SETTLE_CARD_ROWS["more"].format(n=len(lines) - len(shown)),
                     money(rest, ccy)))
    rows.append((texts.SETTLE_CARD_ROWS["total"], money(st["totals"]["gross"], ccy)))
    return rows


def technician_card_rows(st: Mapping[str, Any]) -> list[tuple[str, str]]:
    ccy = st["currency"]
    return [(texts.SETTLE_CARD_ROWS["service"], st["service"]),
            (texts.SETTLE_CARD_ROWS["net"], money(st["totals"]["net"], ccy)),
            (texts.SETTLE_CARD_ROWS["share"], money(technician_share(st), ccy))]


def correction_text(number: str, old: Mapping[str, Any], new: Mapping[str, Any], *,
                    revision: int, party: str, note: str = "") -> str:
    """What changed between two statements of one ticket (changed lines and totals)."""
    ccy = new["currency"]
    a, b = Statement.from_dict(old), Statement.from_dict(new)
    rows = []
    for r in diff_statements(a, b):
        if r.key in ("net", "tax", "gross") or r.delta == 0:
            continue
        rows.append(texts.SETTLE_DIFF_ROW.format(
            name=r.name, old=money(r.old, ccy) if r.old is not None else texts.SETTLE_DIFF_NONE,
            new=money(r.new, ccy) if r.new is not None else texts.SETTLE_DIFF_NONE,
            delta=money(r.delta, ccy) if r.delta < 0 else "+" + money(r.delta, ccy)))
    out = [texts.SETTLE_CORRECTED.format(number=number, revision=revision), *rows,
           texts.SETTLE_DIFF_TOTAL.format(old=money(a.gross, ccy), new=money(b.gross, ccy))]
    if party == "technician":
        out.append(texts.SETTLE_DIFF_SHARE.format(old=money(technician_share(old), ccy),
                                                  new=money(technician_share(new), ccy)))
    if note:
        out.append(texts.SETTLE_DIFF_NOTE.format(note=note))
    return "\n".join(out)
