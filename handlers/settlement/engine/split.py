"""Revenue split between platform, provider and technician."""

from __future__ import annotations

from decimal import Decimal

from .books import SplitRule
from .money import ONE, ZERO, allocate


def split_amount(total: Decimal, rule: SplitRule, quantum: Decimal) -> tuple[tuple[str, Decimal], ...]:
    """Split ``total`` by ``rule``; the parts always sum exactly to ``total``.

    Exact (unrounded) entitlements are computed first — fixed amounts (in
    rule order, never more than what is left), then shares of the total
    (limited by ``cap`` and by what is left), then the remainder party takes
    the rest — and are rounded together with :func:`allocate`
    (largest remainder, to the quantum).
    """
    weights: tuple[int, ...] | list[Decimal] | list[int] | None = rule.int_weights
    if weights is None:
        if total <= 0:
            weights = [1 if p.remainder else 0 for p in rule.parts]
        else:
            weights = _entitlements(total, rule)
    amounts = allocate(total, weights, quantum)
    return tuple((p.party, a) for p, a in zip(rule.parts, amounts))


def _entitlements(total: Decimal, rule: SplitRule) -> list[Decimal]:
    """Unrounded amounts per party for rules with fixed parts, caps or a remainder party.

    Decimal arithmetic: exact for percentage shares; a non-decimal share such
    as 1/3 is carried to 28 significant digits, which only matters for the
    weights handed to ``allocate`` (the total is still preserved exactly).
    """
    exact = [ZERO] * len(rule.parts)
    left = total
    for i, p in enumerate(rule.parts):
        if p.fixed is not None:
            exact[i] = p.fixed if p.fixed < left else left
            left -= exact[i]
    for i, (p, share) in enumerate(zip(rule.parts, rule.dec_shares)):
        if share is not None:
            v = total * share
            if p.cap is not None and v > p.cap:
                v = p.cap
            exact[i] = v if v < left else left
            left -= exact[i]
    for i, p in enumerate(rule.parts):
        if p.remainder:
            exact[i] = left
    if not any(exact):
        return [ONE if p.remainder else ZERO for p in rule.parts]
    return exact
