"""VAT: split an amount into net + tax = gross exactly."""

from __future__ import annotations

from decimal import Decimal

from .books import TaxRule
from .money import ONE, round_money


def split_vat(amount: Decimal, rule: TaxRule, quantum: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    """Return ``(net, tax, gross)`` for a line total ``amount`` under ``rule``.

    Price-inclusive: ``gross = amount``, ``net = round(gross / (1 + rate))``,
    ``tax = gross - net``.  Price-exclusive: ``net = amount``,
    ``tax = round(net × rate)``, ``gross = net + tax``.  Exactly one rounding,
    so ``net + tax == gross`` always holds.
    """
    if rule.inclusive:
        net = round_money(amount / (ONE + rule.rate), quantum)
        return net, amount - net, amount
    tax = round_money(amount * rule.rate, quantum)
    return amount, tax, amount + tax
