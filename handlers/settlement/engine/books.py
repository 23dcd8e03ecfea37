"""Price book model: a parsed, validated, effective-dated book and the rules inside it.

Books are built from a YAML document by :func:`.book_parser.build_book` (the file is read by
``handlers/settlement/loader.py``).  Every validation error raises :class:`BookError` naming
the source, the YAML line and the field path, e.g. ``config/pricebooks/x.yaml:17:
services[2].charges[0].tiers[1].up_to: must be greater than the previous tier's up_to``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from fractions import Fraction
from math import gcd
from typing import Any, Callable, TypeVar

from .money import ZERO
from .regions import Zone, region_chain

T = TypeVar("T")


class BookError(ValueError):
    """A price book is invalid; ``str()`` is ``file:line: field.path: message``.

    Made from one problem ``(source, line, path, message)`` — the ``Problem`` the YAML document
    formats (``handlers/config_file.py``: one error format for every configuration file)."""

    def __init__(self, problem: Any) -> None:
        self.source, self.line, self.path, self.message = problem
        super().__init__(str(problem))


# --------------------------------------------------------------------------- model


@dataclass(frozen=True, slots=True)
class TaxRule:
    """VAT for a service: ``rate`` (e.g. 0.13) and whether prices include it."""

    rate: Decimal = ZERO
    inclusive: bool = True


@dataclass(frozen=True, slots=True)
class SplitPart:
    """One party of a revenue split: exactly one of share / fixed / remainder."""

    party: str
    share: Fraction | None = None
    fixed: Decimal | None = None
    cap: Decimal | None = None
    remainder: bool = False


@dataclass(frozen=True, slots=True)
class SplitRule:
    """How a ticket's ``basis`` amount (net or gross) is split between parties.

    ``int_weights`` is set for pure proportional rules (no fixed, caps or
    remainder): the shares scaled to integers, ready for ``allocate``.
    """

    parts: tuple[SplitPart, ...]
    basis: str = "net"
    int_weights: tuple[int, ...] | None = field(default=None, init=False, compare=False)
    dec_shares: tuple[Decimal | None, ...] = field(default=(), init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "dec_shares", tuple(
            None if p.share is None else Decimal(p.share.numerator) / Decimal(p.share.denominator)
            for p in self.parts))
        if all(p.share is not None and p.cap is None for p in self.parts):
            den = 1
            for p in self.parts:
                den = den * p.share.denominator // gcd(den, p.share.denominator)  # type: ignore[union-attr]
            object.__setattr__(self, "int_weights", tuple(int(p.share * den) for p in self.parts))  # type: ignore[operator]


@dataclass(frozen=True, slots=True)
class Tier:
    """A pricing tier; ``up_to`` is inclusive, ``None`` means open-ended."""

    up_to: Decimal | None
    unit_price: Decimal = ZERO
    flat: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Condition:
    """When a charge applies; all given criteria must hold."""

    time_window: tuple[int, int] | None = None  # minutes since local midnight [start, end)
    floor_gte: int | None = None
    tags_any: frozenset[str] = frozenset()
    region_in: frozenset[str] = frozenset()
    #: work details the technician reported (高空作业 …), any of them
    flags_any: frozenset[str] = frozenset()
    #: the local completion date within [from, to) (a launch uplift's months, a promotion)
    dates: tuple[date, date] | None = None
    #: the customer holds one of these subscription plans, active at completion
    plans_any: frozenset[str] = frozenset()
    #: a reported quantity at least this much, e.g. {pipe_m: 3}
    quantity_gte: tuple[tuple[str, Decimal], ...] = ()
    #: at least one of these conditions holds (besides every criterion above)
    any_of: tuple["Condition", ...] = ()


@dataclass(frozen=True, slots=True)
class Charge:
    """One charge of a service rule.  Fields used depend on ``model``."""

    id: str
    name: str
    model: str  # fixed | per_unit | tiered | package | parts | percentage | spend_threshold | nth_item
    amount: Decimal = ZERO
    quantity: str = ""
    unit: str = ""
    rate: Decimal = ZERO
    minimum: Decimal = ZERO
    increment: Decimal | None = None
    mode: str = "graduated"
    tiers: tuple[Tier, ...] = ()
    size: Decimal = Decimal(1)
    free_units: Decimal = ZERO
    markup_percent: Decimal = ZERO
    percent: Decimal = ZERO
    base: tuple[str, ...] = ()
    promotional: bool = False
    when: Condition | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    #: spend_threshold (满200减30): ``off`` (the book's ``discount``) once the base reaches ``spend`` (every ``spend`` with ``repeat``)
    spend: Decimal = ZERO
    off: Decimal = ZERO
    repeat: bool = False
    #: nth_item (第二件半价): every ``nth`` unit of ``quantity`` at ``percent`` of charge ``base[0]``'s unit price
    nth: int = 0


@dataclass(frozen=True, slots=True)
class Plan:
    """A subscription (年度服务包): sold as the book's service ``service``, active for ``months``
    from the sale's completion; charges test it with ``when: {plans_any: [id]}``."""

    id: str
    name: str
    service: str
    months: int
    line: int = 0

    def expires(self, sold_at: datetime) -> datetime:
        """When a plan sold (completed) at ``sold_at`` ends: ``months`` calendar months later
        (a day the month lacks becomes its last day: 01-31 + 1 month = 02-28)."""
        y, m = divmod(sold_at.month - 1 + self.months, 12)
        year, month = sold_at.year + y, m + 1
        nxt = date(year + (month == 12), month % 12 + 1, 1)
        last = (nxt - date(year, month, 1)).days
        return sold_at.replace(year=year, month=month, day=min(sold_at.day, last))

    def active(self, sold_at: datetime, at: datetime) -> bool:
        """True while a plan sold at ``sold_at`` covers work completed at ``at``."""
        return sold_at <= at < self.expires(sold_at)


@dataclass(frozen=True, slots=True)
class ServiceRule:
    """Prices for one service in one region or zone."""

    id: str
    service: str
    scope: str  # region code or zone id
    scope_kind: str  # "region" | "zone"
    specificity: int
    priority: int
    order: int
    charges: tuple[Charge, ...]
    tax: TaxRule
    split: SplitRule | None
    line: int


@dataclass(frozen=True, slots=True)
class LadderTier:
    """Rebate tier starting at ``threshold`` (inclusive)."""

    threshold: Decimal
    percent: Decimal = ZERO
    per_ticket: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class RebateLadder:
    """Monthly rebate ladder by ``revenue`` (net) or ``volume`` (ticket count)."""

    basis: str
    mode: str  # graduated | whole
    tiers: tuple[LadderTier, ...]


@dataclass(frozen=True, slots=True)
class PeriodRules:
    """Month-end rules: rebate ladder, SLA adjustments, satisfaction weights."""

    rebate: RebateLadder | None = None
    #: a ladder per provider segment (省级代理, 社区团购 …); providers without one use ``rebate``
    segment_rebates: tuple[tuple[str, RebateLadder], ...] = ()
    sla_drop_tiers: int = 0
    sla_penalty: Decimal = ZERO
    satisfaction_weights: tuple[tuple[int, Decimal], ...] = ()
    provider_party: str = "provider"
    technician_party: str = "technician"

    def ladder_for(self, segment: str) -> RebateLadder | None:
        """The rebate ladder of a provider in ``segment`` ("" for none): its segment's, else
        the book's default ``rebate``."""
        return next((lad for seg, lad in self.segment_rebates if seg == segment), self.rebate)


@dataclass(frozen=True, eq=False)
class Book:
    """A parsed, validated, effective-dated price book."""

    book_id: str
    version: int
    currency: str
    quantum: Decimal
    effective_from: datetime
    effective_to: datetime | None
    utc_offset: timezone
    source: str
    digest: str
    region_names: tuple[tuple[str, str], ...]
    zones: tuple[Zone, ...]
    rules: tuple[ServiceRule, ...]
    tax: TaxRule
    split: SplitRule | None
    period: PeriodRules
    plans: tuple[Plan, ...] = ()
    _by_service: dict[str, tuple[ServiceRule, ...]] = field(default_factory=dict, repr=False)
    _cache: dict[Any, ServiceRule | None] = field(default_factory=dict, repr=False)
    _memo: dict[Any, Any] = field(default_factory=dict, init=False, repr=False)  # see memo()

    def __post_init__(self) -> None:
        grouped: dict[str, list[ServiceRule]] = {}
        for r in self.rules:
            grouped.setdefault(r.service, []).append(r)
        self._by_service.update({k: tuple(v) for k, v in grouped.items()})

    @property
    def label(self) -> str:
        """``book_id@version``."""
        return f"{self.book_id}@{self.version}"

    def memo(self, key: Any, make: Callable[[], T]) -> T:
        """Engine scratch derived from this (immutable) book: the value under ``key``, made once."""
        try:
            return self._memo[key]  # type: ignore[no-any-return]
        except KeyError:
            v = self._memo[key] = make()
            return v

    def plan(self, plan_id: str) -> Plan | None:
        """The subscription plan ``plan_id`` of this book, if it has one."""
        return next((p for p in self.plans if p.id == plan_id), None)

    def in_force(self, at: datetime) -> bool:
        """True if the book applies to work completed at ``at`` ([from, to))."""
        return self.effective_from <= at and (self.effective_to is None or at < self.effective_to)

    def zones_at(self, location: tuple[float, float] | None) -> tuple[str, ...]:
        """Ids of the custom zones containing ``location`` (file order)."""
        if location is None or not self.zones:
            return ()
        key = ("zones", location)
        hit = self._cache.get(key)
        if hit is None:
            if len(self._cache) > _CACHE_LIMIT:
                self._cache.clear()
            hit = tuple(z.id for z in self.zones if z.contains(location[0], location[1]))
            self._cache[key] = hit  # type: ignore[assignment]
        return hit  # type: ignore[return-value]

    def resolve(self, service: str, region: str, location: tuple[float, float] | None = None) -> ServiceRule | None:
        """The most specific rule for ``service`` at ``region``/``location``.

        Precedence: custom zone > district > city > province > country; ties by
        higher ``priority``, then earlier position in the file.  Results are
        cached per (service, region, containing zones).
        """
        zones = self.zones_at(location)
        key = (service, region, zones)
        try:
            return self._cache[key]
        except KeyError:
            pass
        scopes = set(region_chain(region)) | set(zones)
        best: ServiceRule | None = None
        for r in self._by_service.get(service, ()):
            if r.scope in scopes and (
                best is None or (r.specificity, r.priority, -r.order) > (best.specificity, best.priority, -best.order)
            ):
                best = r
        self._cache[key] = best
        return best


_CACHE_LIMIT = 200_000
