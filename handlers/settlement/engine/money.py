"""Money primitives: the single rounding helper and the single allocation helper.

All amounts are :class:`decimal.Decimal`.  Rounding is ROUND_HALF_UP to a
per-currency quantum (0.01 for CNY, 1 for JPY ...).  Nothing in the engine
rounds money except through :func:`round_money` (or :func:`allocate`, which
never changes a total).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction
from typing import Sequence

CENT = Decimal("0.01")
ZERO = Decimal("0")
ONE = Decimal("1")
HUNDRED = Decimal("100")

#: Rounding quantum (minor unit) per ISO-4217 currency; unknown currencies use 0.01.
CURRENCY_QUANTA: dict[str, Decimal] = {
    "CNY": CENT,
    "USD": CENT,
    "EUR": CENT,
    "HKD": CENT,
    "JPY": Decimal("1"),
    "KRW": Decimal("1"),
}

Weight = Decimal | int | Fraction


def quantum_for(currency: str) -> Decimal:
    """Return the rounding quantum for ``currency`` (default 0.01)."""
    return CURRENCY_QUANTA.get(currency.upper(), CENT)


def round_money(value: Decimal, quantum: Decimal = CENT) -> Decimal:
    """Round ``value`` half-up to ``quantum`` (the only money rounding in the engine)."""
    return value.quantize(quantum, rounding=ROUND_HALF_UP)


def ceil_to(value: Decimal, increment: Decimal) -> Decimal:
    """Round ``value`` up to the next multiple of ``increment`` (e.g. 1.2 h -> 1.5 h)."""
    steps = (value / increment).to_integral_value(rounding=ROUND_CEILING)
    return steps * increment


def to_decimal(value: object) -> Decimal:
    """Convert ints, strings and floats (via their shortest repr) to Decimal."""
    t = type(value)
    if t is Decimal:
        return value  # type: ignore[return-value]
    if t is int:
        return Decimal(value)  # type: ignore[arg-type]
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            d = Decimal(value.strip().replace(",", "").replace("_", ""))
        except InvalidOperation:
            raise ValueError(f"not a number: {value!r}") from None
        if not d.is_finite():
            raise ValueError(f"not a finite number: {value!r}")
        return d
    raise ValueError(f"expected a number, got {type(value).__name__}")


def fmt_money(value: Decimal, quantum: Decimal = CENT) -> str:
    """Format an amount as a plain string with the quantum's decimals, e.g. ``"123.45"``."""
    return str(value.quantize(quantum))


def _as_int_weights(weights: Sequence[Weight]) -> Sequence[int]:
    """Scale weights to integers with the same ratios (exact)."""
    if all(type(w) is int for w in weights):
        return weights  # type: ignore[return-value]
    if all(isinstance(w, (int, Decimal)) for w in weights):
        exps = [w.as_tuple().exponent for w in weights if isinstance(w, Decimal)]
        shift = -min([0, *exps])  # type: ignore[type-var]
        return [int(w * (10**shift)) if isinstance(w, int) else int(w.scaleb(shift)) for w in weights]
    fracs = [Fraction(w) for w in weights]
    den = 1
    for f in fracs:
        den = den * f.denominator // _gcd(den, f.denominator)
    return [int(f * den) for f in fracs]


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


def allocate(total: Decimal, weights: Sequence[Weight], quantum: Decimal = CENT) -> list[Decimal]:
    """Split ``total`` into parts proportional to ``weights`` that sum exactly to ``total``.

    Largest-remainder (Hamilton) method in units of ``quantum``: every part gets
    the floor of its exact share, and the leftover units go one each to the
    parts with the largest fractional remainders (ties: earlier index first).
    ``total`` must be a multiple of ``quantum``; weights must be >= 0 with a
    positive sum.  A negative total is allocated as ``-allocate(-total)``.

    >>> allocate(Decimal("100.00"), [1, 1, 1])
    [Decimal('33.34'), Decimal('33.33'), Decimal('33.33')]
    """
    if not weights:
        raise ValueError("allocate() needs at least one weight")
    if total < 0:
        return [-p for p in allocate(-total, weights, quantum)]
    units_d = total / quantum
    units = int(units_d)
    if units != units_d:
        raise ValueError(f"total {total} is not a multiple of quantum {quantum}")
    if all(type(w) is Decimal for w in weights) and sum(weights) == total:  # type: ignore[arg-type]
        return _allocate_amounts(total, weights, quantum)  # type: ignore[arg-type]
    ints = _as_int_weights(weights)
    if any(w < 0 for w in ints):
        raise ValueError("allocate() weights must be non-negative")
    wsum = sum(ints)
    if wsum <= 0:
        raise ValueError("allocate() weights must have a positive sum")
    floors = []
    rems = []
    for w in ints:
        q, r = divmod(units * w, wsum)
        floors.append(q)
        rems.append(r)
    left = units - sum(floors)
    if left:
        order = sorted(range(len(ints)), key=lambda i: (-rems[i], i))
        for i in order[:left]:
            floors[i] += 1
    return [quantum * f for f in floors]


def _allocate_amounts(total: Decimal, exact: Sequence[Decimal], quantum: Decimal) -> list[Decimal]:
    """Fast path of :func:`allocate` when the weights already are exact amounts summing to ``total``.

    Identical result to the integer path: floor every amount to the quantum and
    hand the leftover quanta to the largest remainders (ties: lower index).
    """
    floors = [w.quantize(quantum, rounding=ROUND_FLOOR) for w in exact]
    left = int((total - sum(floors)) / quantum)
    if left:
        order = sorted(range(len(exact)), key=lambda i: (floors[i] - exact[i], i))
        for i in order[:left]:
            floors[i] += quantum
    return floors
