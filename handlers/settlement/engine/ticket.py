"""The ticket record the engine prices (plain data, JSON-friendly)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Mapping

from .money import to_decimal


_CANON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))


class TicketError(ValueError):
    """A ticket record is malformed."""


@dataclass(frozen=True, slots=True)
class Part:
    """A spare part used on the job, billed at cost plus the book's markup."""

    sku: str
    name: str
    cost: Decimal
    qty: Decimal = Decimal(1)


@dataclass(frozen=True, slots=True)
class Ticket:
    """A completed work order as seen by the pricing engine.

    See docs/settlement.md ("Ticket JSON") for the JSON form accepted by
    :meth:`from_dict`.
    """

    id: str
    service: str
    region: str
    completed_at: datetime
    quantities: Mapping[str, Decimal] = field(default_factory=dict)
    location: tuple[float, float] | None = None
    started_at: datetime | None = None
    floor: int = 0
    customer_tags: frozenset[str] = frozenset()
    parts: tuple[Part, ...] = ()
    provider: str = ""
    technician: str = ""
    address: str = ""
    sla_breached: bool = False
    satisfaction: int | None = None
    book_id: str = ""
    #: work details reported at 完工 that price (高空作业 …) and the subscription plans active
    flags: frozenset[str] = frozenset()
    plans: frozenset[str] = frozenset()
    canonical: str = field(default="", compare=False, repr=False)

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> "Ticket":
        """Build a ticket from its JSON form, validating field types."""
        try:
            get = data.get
            completed = _parse_dt(data["completed_at"], "completed_at")
            started = _parse_dt(data["started_at"], "started_at") if get("started_at") else None
            loc = get("location")
            location = (float(loc[0]), float(loc[1])) if loc else None
            quantities = {str(k): _decimal(v) for k, v in (get("quantities") or {}).items()}
            raw_parts = get("parts")
            parts = tuple(
                Part(
                    sku=str(p.get("sku", "")),
                    name=str(p.get("name", p.get("sku", ""))),
                    cost=to_decimal(p["cost"]),
                    qty=to_decimal(p.get("qty", 1)),
                )
                for p in raw_parts
            ) if raw_parts else ()
            sat = get("satisfaction")
            return Ticket(  # positional, in field order
                str(data["id"]), str(data["service"]), str(data["region"]), completed, quantities, location, started,
                int(get("floor") or 0), _strings(get("customer_tags")), parts, str(get("provider", "")),
                str(get("technician", "")), str(get("address", "")), bool(get("sla_breached", False)),
                int(sat) if sat is not None else None, str(get("book_id", "")), _strings(get("flags")),
                _strings(get("plans")), _CANON.encode(data),
            )
        except KeyError as exc:
            raise TicketError(f"ticket is missing field {exc.args[0]!r}") from None
        except (TypeError, ValueError, IndexError) as exc:
            raise TicketError(f"ticket {data.get('id', '?')}: {exc}") from None

    def fingerprint(self) -> str:
        """Canonical text of the inputs (used for deterministic statement ids)."""
        if self.canonical:
            return self.canonical
        return repr(
            (self.id, self.service, self.region, self.completed_at.isoformat(), sorted(self.quantities.items()),
             self.location, self.started_at, self.floor, sorted(self.customer_tags), self.parts,
             self.provider, self.technician, self.address, self.sla_breached, self.satisfaction,
             sorted(self.flags), sorted(self.plans))
        )


_NO_STRINGS: frozenset[str] = frozenset()
_DECIMALS: dict[tuple[type, Any], Decimal] = {}


def _strings(values: Any) -> frozenset[str]:
    """``frozenset(str(v) for v in (values or ()))``."""
    return frozenset([str(v) for v in values]) if values else _NO_STRINGS


def _decimal(value: Any) -> Decimal:
    """:func:`to_decimal`, remembered for ints and non-zero floats (equal ones convert alike;
    ``0.0`` and ``-0.0`` are equal but convert differently, so zero floats are not kept)."""
    t = type(value)
    if t is int or (t is float and value):
        key = (t, value)
        d = _DECIMALS.get(key)
        if d is None:
            d = to_decimal(value)
            if len(_DECIMALS) < 4096:
                _DECIMALS[key] = d
        return d
    return to_decimal(value)


def _parse_dt(value: Any, name: str) -> datetime:
    if isinstance(value, datetime):
        dt = value
    else:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if dt.tzinfo is None:
        raise ValueError(f"{name} must carry a timezone offset, got {value!r}")
    return dt
