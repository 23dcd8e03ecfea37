"""Rebate ladders: a month's value (net revenue or ticket count) to a rebate.  A book has a
default ladder and may have one per provider segment (省级代理, 社区团购 …:
``PeriodRules.ladder_for``)."""

from __future__ import annotations

from decimal import Decimal

from .books import RebateLadder
from .money import HUNDRED, ZERO


def rebate_amount(value: Decimal, ladder: RebateLadder, drop_tiers: int = 0) -> tuple[Decimal, int]:
    """Exact rebate for a month ``value`` (net revenue, or ticket count) and the tier applied.

    ``whole``: the reached tier's rate applies to the whole value.
    ``graduated``: each tier's rate applies only to the part of the value
    between its ``from`` and the next tier's ``from``.  ``drop_tiers`` lowers
    the highest tier that may be applied (SLA breaches); in graduated mode,
    portions above the allowed tier are paid at the allowed tier's rate.
    Revenue ladders pay ``percent`` of the value; volume ladders pay
    ``per_ticket`` per ticket.
    """
    tiers = ladder.tiers
    reached = max(i for i, t in enumerate(tiers) if t.threshold <= value) if value >= 0 else 0
    allowed = max(reached - drop_tiers, 0)

    def rate(i: int) -> Decimal:
        t = tiers[min(i, allowed)]
        return t.percent / HUNDRED if ladder.basis == "revenue" else t.per_ticket

    if ladder.mode == "whole":
        return value * rate(allowed), allowed
    total = ZERO
    for i in range(reached + 1):
        hi = tiers[i + 1].threshold if i + 1 < len(tiers) else value
        portion = min(value, hi) - tiers[i].threshold
        if portion > 0:
            total += portion * rate(i)
    return total, allowed
