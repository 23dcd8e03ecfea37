"""Charge models: fixed, per unit, tiered (graduated / volume), package, parts, percentage.

Each model turns a ticket into zero or more :class:`Draft` lines.  Amounts are
computed exactly and rounded once, at the line, with :func:`round_money`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Callable, Mapping

from .books import Charge, Condition, Tier
from .money import HUNDRED, ONE, ZERO, ceil_to, round_money
from .ticket import Ticket


@dataclass(slots=True)
class Draft:
    """A computed line before statement-level totals are known (internal scratch, not a record)."""

    rule_id: str
    name: str
    quantity: Decimal
    unit: str
    rate: Decimal | None
    amount: Decimal
    promotional: bool = False
    note: str = ""
    sub: str = ""  # sub-key, e.g. the part SKU for per-part lines


@dataclass(slots=True)
class Context:
    """Per-ticket facts the charge models and conditions need."""

    ticket: Ticket
    local_minutes: int  # minutes since local midnight of the work time
    scopes: frozenset[str]  # region chain codes + containing zone ids
    quantum: Decimal
    local_date: date | None = None  # the local date of completion (``dates`` conditions)


def tiered_amount(quantity: Decimal, tiers: tuple[Tier, ...], mode: str) -> tuple[Decimal, str]:
    """Exact (unrounded) tiered amount and a human breakdown.

    ``graduated``: each tier prices the units that fall inside it, and its
    ``flat`` fee is added once if any unit reaches the tier (Stripe
    ``tiers_mode=graduated``; Lago "graduated").  ``volume``: the tier that
    contains the total prices *all* units, plus that tier's flat fee (Stripe
    ``volume``; Lago "volume").  ``up_to`` bounds are inclusive.
    """
    if mode == "volume":
        for t in tiers:
            if t.up_to is None or quantity <= t.up_to:
                return quantity * t.unit_price + t.flat, f"{quantity}×{t.unit_price}" + (f"+{t.flat}" if t.flat else "")
    total = ZERO
    parts = []
    prev = ZERO
    for t in tiers:
        if quantity <= prev:
            break
        upper = quantity if t.up_to is None else min(quantity, t.up_to)
        n = upper - prev
        total += n * t.unit_price + t.flat
        parts.append(f"{n}×{t.unit_price}" + (f"+{t.flat}" if t.flat else ""))
        if t.up_to is None:
            break
        prev = t.up_to
    return total, " + ".join(parts)


def condition_holds(cond: Condition | None, ctx: Context) -> bool:
    """True if every criterion of ``cond`` holds for the ticket (None = always)."""
    if cond is None:
        return True
    if cond.time_window is not None:
        start, end = cond.time_window
        m = ctx.local_minutes
        inside = start <= m < end if start < end else (m >= start or m < end)  # crosses midnight
        if not inside:
            return False
    if cond.floor_gte is not None and ctx.ticket.floor < cond.floor_gte:
        return False
    if cond.tags_any and not (cond.tags_any & ctx.ticket.customer_tags):
        return False
    if cond.region_in and not (cond.region_in & ctx.scopes):
        return False
    t = ctx.ticket
    if cond.flags_any and not (cond.flags_any & t.flags):
        return False
    if cond.plans_any and not (cond.plans_any & t.plans):
        return False
    if cond.dates is not None and not (ctx.local_date is not None
                                       and cond.dates[0] <= ctx.local_date < cond.dates[1]):
        return False
    if any(t.quantities.get(q, ZERO) < v for q, v in cond.quantity_gte):
        return False
    return not cond.any_of or any(condition_holds(c, ctx) for c in cond.any_of)


def _clamp(ch: Charge, amount: Decimal) -> tuple[Decimal, str]:
    if ch.min_amount is not None and amount < ch.min_amount:
        return ch.min_amount, f"raised to minimum {ch.min_amount}"
    if ch.max_amount is not None and amount > ch.max_amount:
        return ch.max_amount, f"capped at maximum {ch.max_amount}"
    return amount, ""


def _line(
    ch: Charge, ctx: Context, qty: Decimal, unit: str, rate: Decimal | None, exact: Decimal, note: str = "", sub: str = ""
) -> Draft:
    amount, clamp_note = _clamp(ch, round_money(exact, ctx.quantum))
    if clamp_note:
        note = f"{note}; {clamp_note}" if note else clamp_note
    return Draft(ch.id, ch.name, qty, unit, rate, amount, ch.promotional, note, sub)


def _fixed(ch: Charge, ctx: Context, prior: Mapping[str, Decimal]) -> list[Draft]:
    return [_line(ch, ctx, ONE, "次", ch.amount, ch.amount)]


def _per_unit(ch: Charge, ctx: Context, prior: Mapping[str, Decimal]) -> list[Draft]:
    raw = ctx.ticket.quantities.get(ch.quantity, ZERO)
    if raw <= 0 and ch.minimum <= 0:
        return []
    qty = raw if raw > ch.minimum else ch.minimum
    if ch.increment is not None:
        qty = ceil_to(qty, ch.increment)
    note = f"billed {qty} (actual {raw})" if qty != raw else ""
    return [_line(ch, ctx, qty, ch.unit, ch.rate, qty * ch.rate, note)]


def _tiered(ch: Charge, ctx: Context, prior: Mapping[str, Decimal]) -> list[Draft]:
    qty = ctx.ticket.quantities.get(ch.quantity, ZERO)
    if qty <= 0:
        return []
    exact, breakdown = tiered_amount(qty, ch.tiers, ch.mode)
    return [_line(ch, ctx, qty, ch.unit, None, exact, f"{ch.mode}: {breakdown}")]


def _package(ch: Charge, ctx: Context, prior: Mapping[str, Decimal]) -> list[Draft]:
    qty = ctx.ticket.quantities.get(ch.quantity, ZERO)
    billable = qty - ch.free_units
    if billable <= 0:
        return []
    packages = (billable / ch.size).to_integral_value(rounding=ROUND_CEILING)
    note = f"{qty} {ch.unit}, {ch.free_units} free, packs of {ch.size}"
    return [_line(ch, ctx, packages, f"pack({ch.size} {ch.unit})", ch.rate, packages * ch.rate, note)]


def _parts(ch: Charge, ctx: Context, prior: Mapping[str, Decimal]) -> list[Draft]:
    factor = ONE + ch.markup_percent / HUNDRED
    out = []
    for p in ctx.ticket.parts:
        d = _line(ch, ctx, p.qty, "件", p.cost * factor, p.cost * p.qty * factor,
                  f"{p.name}: cost {p.cost} + {ch.markup_percent}%", p.sku)
        out.append(d)
    return out


def _percentage(ch: Charge, ctx: Context, prior: Mapping[str, Decimal]) -> list[Draft]:
    base = sum((prior.get(b, ZERO) for b in ch.base), ZERO)
    if base == 0:
        return []
    return [_line(ch, ctx, base, "base", ch.percent, base * ch.percent / HUNDRED,
                  f"{ch.percent:+}% of {'+'.join(ch.base)}")]


def _spend_threshold(ch: Charge, ctx: Context, prior: Mapping[str, Decimal]) -> list[Draft]:
    """满200减30: ``off`` once the base charges reach ``spend`` (with ``repeat``: 每满200减30)."""
    base = sum((prior.get(b, ZERO) for b in ch.base), ZERO)
    if base < ch.spend:
        return []
    times = (base / ch.spend).to_integral_value(rounding=ROUND_FLOOR) if ch.repeat else ONE
    return [_line(ch, ctx, times, "次", -ch.off, -ch.off * times,
                  f"{'+'.join(ch.base)} {base} ≥ {ch.spend}: -{ch.off}" + (f" × {times}" if ch.repeat else ""))]


def _nth_item(ch: Charge, ctx: Context, prior: Mapping[str, Decimal]) -> list[Draft]:
    """第二件半价: every ``nth`` unit at ``percent`` off the base charge's unit price."""
    qty = ctx.ticket.quantities.get(ch.quantity, ZERO)
    times = (qty / ch.nth).to_integral_value(rounding=ROUND_FLOOR) if qty > 0 else ZERO
    base = prior.get(ch.base[0], ZERO)
    if times <= 0 or base <= 0:
        return []
    unit = base / qty
    return [_line(ch, ctx, times, ch.unit, unit * ch.percent / HUNDRED, unit * times * ch.percent / HUNDRED,
                  f"every {ch.nth}th of {qty} {ch.unit}: {ch.percent:+}% of {round_money(unit, ctx.quantum)}")]


MODELS: dict[str, Callable[[Charge, Context, Mapping[str, Decimal]], list[Draft]]] = {
    "fixed": _fixed,
    "per_unit": _per_unit,
    "tiered": _tiered,
    "package": _package,
    "parts": _parts,
    "percentage": _percentage,
    "spend_threshold": _spend_threshold,
    "nth_item": _nth_item,
}


def evaluate(ch: Charge, ctx: Context, prior: Mapping[str, Decimal]) -> list[Draft]:
    """Lines produced by charge ``ch`` (empty if its condition does not hold).

    ``prior`` maps earlier charge ids to their line totals (percentage bases).
    """
    if ch.when is not None and not condition_holds(ch.when, ctx):
        return []
    return MODELS[ch.model](ch, ctx, prior)
