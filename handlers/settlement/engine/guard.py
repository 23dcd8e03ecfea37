"""Promotion-abuse guard (pure logic).

If one address cancels or refunds more than ``max_events`` times within any
``window_days``-day window, that address's promotional discounts are frozen.
If at least ``region_threshold`` addresses of one region are frozen, all
promotions in that region are frozen.  The caller notifies a manager with the
returned reasons and passes :meth:`FreezeDecision.frozen` to the quote.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable


@dataclass(frozen=True, slots=True)
class CancelEvent:
    """A cancellation or refund observed for an address."""

    address: str
    region: str
    at: datetime
    kind: str = "cancel"  # cancel | refund


@dataclass(frozen=True, slots=True)
class FrozenPromotions:
    """Addresses and regions whose promotional discounts must be skipped."""

    addresses: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    reasons: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def reason_for(self, address: str, scopes: Iterable[str]) -> str | None:
        """Why promotions are frozen for this address/region chain, or None."""
        keys = [f"address:{address}"] if address in self.addresses else []
        keys += [f"region:{s}" for s in scopes if s in self.regions]
        if not keys:
            return None
        reasons = dict(self.reasons)
        return "; ".join(reasons.get(k, k) for k in keys)


@dataclass(frozen=True, slots=True)
class FreezeDecision:
    """Result of :func:`evaluate_guard`: what to freeze and why."""

    addresses: tuple[tuple[str, str], ...]  # (address, reason)
    regions: tuple[tuple[str, str], ...]  # (region, reason)

    @property
    def frozen(self) -> FrozenPromotions:
        """The set to pass to :func:`settlement.quote.quote`."""
        return FrozenPromotions(
            frozenset(a for a, _ in self.addresses),
            frozenset(r for r, _ in self.regions),
            tuple((f"address:{a}", why) for a, why in self.addresses)
            + tuple((f"region:{r}", why) for r, why in self.regions),
        )


def evaluate_guard(
    events: Iterable[CancelEvent], *, max_events: int, window_days: int, region_threshold: int
) -> FreezeDecision:
    """Decide which promotions to freeze from cancel/refund ``events``.

    An address is frozen when more than ``max_events`` of its events fall in
    some window of ``window_days`` days (sliding, inclusive of both ends).
    A region is frozen when ``region_threshold`` or more of its addresses are
    frozen.  Output order is deterministic (sorted).
    """
    window = timedelta(days=window_days)
    by_addr: dict[str, list[CancelEvent]] = {}
    for e in events:
        by_addr.setdefault(e.address, []).append(e)
    frozen: list[tuple[str, str]] = []
    region_of: dict[str, str] = {}
    for addr in sorted(by_addr):
        evs = sorted(by_addr[addr], key=lambda e: e.at)
        start = 0
        for end in range(len(evs)):
            while evs[end].at - evs[start].at > window:
                start += 1
            count = end - start + 1
            if count > max_events:
                first, last = evs[start].at, evs[end].at
                frozen.append((addr, f"{count} cancels/refunds between {first.isoformat()} and "
                                     f"{last.isoformat()} (limit {max_events} in {window_days} days)"))
                region_of[addr] = evs[end].region
                break
    per_region: dict[str, list[str]] = {}
    for addr, _ in frozen:
        per_region.setdefault(region_of[addr], []).append(addr)
    regions = [
        (region, f"{len(addrs)} addresses frozen in region {region} (threshold {region_threshold})")
        for region, addrs in sorted(per_region.items())
        if len(addrs) >= region_threshold
    ]
    return FreezeDecision(tuple(frozen), tuple(regions))
