"""The ticket record the engine prices (plain data, JSON-friendly)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Mapping

from .frozen import maker
from .money import to_decimal


_CANON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
#: the C encoder ``_CANON.encode`` builds on every call (with its options), built once; no
#: circular-reference markers (a cyclic ticket ends in RecursionError instead of ValueError)
_C_CANON = json.encoder.c_make_encoder and json.encoder.c_make_encoder(
    None, str, json.encoder.encode_basestring, None, ":", ",", True, False, True)


def canonical_json(data: Mapping[str, Any]) -> str:
    """``_CANON.encode(data)``: sorted keys, no spaces, UTF-8 text, ``str()`` of other values."""
    return "".join(_C_CANON(data, 0)) if _C_CANON is not None else _CANON.encode(data)


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
            quantities = _quantities(get("quantities"))
            raw_parts = get("parts")
            parts = tuple([
                _new_part(str(p.get("sku", "")), str(p.get("name", p.get("sku", ""))), to_decimal(p["cost"]),
                          to_decimal(p.get("qty", 1)))
                for p in raw_parts
            ]) if raw_parts else ()
            sat = get("satisfaction")
            return _new_ticket(  # every field, in order
                str(data["id"]), str(data["service"]), str(data["region"]), completed, quantities, location, started,
                int(get("floor") or 0), _strings(get("customer_tags")), parts, str(get("provider", "")),
                str(get("technician", "")), str(get("address", "")), bool(get("sla_breached", False)),
                int(sat) if sat is not None else None, str(get("book_id", "")), _strings(get("flags")),
                _strings(get("plans")), canonical_json(data),
            )
        except KeyError as exc:
            raise TicketError(f"ticket is missing field {exc.args[0]!r}") from None
        except (TypeError, ValueError, IndexError, RecursionError) as exc:
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


_new_ticket = maker(Ticket)
_new_part = maker(Part)
_NO_STRINGS: frozenset[str] = frozenset()
_INT_DECIMALS: dict[int, Decimal] = {}
_FLOAT_DECIMALS: dict[float, Decimal] = {}
_REMEMBER = 4096  # values per kind


def _strings(values: Any) -> frozenset[str]:
    """``frozenset(str(v) for v in (values or ()))``."""
    return frozenset([str(v) for v in values]) if values else _NO_STRINGS


def _quantities(raw: Any) -> dict[str, Decimal]:
    """``{str(k): to_decimal(v)}``, the Decimals of ints and non-zero floats remembered (equal
    ones convert alike; ``0.0`` and ``-0.0`` are equal but convert differently, so zero floats
    are not kept; ints and floats are kept apart: ``1`` and ``1.0`` convert differently)."""
    if not raw:
        return {}
    out: dict[str, Decimal] = {}
    for k, v in raw.items():
        t = type(v)
        if t is int:
            d = _INT_DECIMALS.get(v)
            if d is None:
                d = _remember(_INT_DECIMALS, v)
        elif t is float and v:
            d = _FLOAT_DECIMALS.get(v)
            if d is None:
                d = _remember(_FLOAT_DECIMALS, v)
        else:
            d = to_decimal(v)
        out[k if type(k) is str else str(k)] = d
    return out


def _remember(kept: dict[Any, Decimal], value: int | float) -> Decimal:
    d = to_decimal(value)
    if len(kept) < _REMEMBER:
        kept[value] = d
    return d


_ZONES: dict[timedelta, timezone] = {}
_combine = datetime.combine


def shared_zone(offset: timedelta) -> timezone:
    """The one unnamed ``timezone`` object of ``offset`` (book offsets, the month's zone, parsed
    ticket times): aware datetimes with the very same tzinfo compare and ``astimezone`` without
    calling ``utcoffset`` (about 1 µs less each, several times a ticket)."""
    z = _ZONES.get(offset)
    if z is None:
        z = _ZONES[offset] = timezone(offset)
    return z


def _parse_dt(value: Any, name: str) -> datetime:
    if isinstance(value, datetime):
        dt = value
    else:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        tz = dt.tzinfo
        if type(tz) is timezone:  # (unnamed) -> the shared object of its offset: same instant, same text
            z = shared_zone(tz.utcoffset(None))
            if z is not tz:
                dt = _combine(dt, dt.time(), z)
    if dt.tzinfo is None:
        raise ValueError(f"{name} must carry a timezone offset, got {value!r}")
    return dt
