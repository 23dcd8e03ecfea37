"""Price book model, parsing and validation (no file I/O; see loader.py).

A book is parsed from YAML *text* with :func:`parse_book`.  Every validation
error raises :class:`BookError` naming the source, the YAML line and the field
path, e.g. ``config/pricebooks/x.yaml:17: services[2].charges[0].tiers[1].up_to:
must be greater than the previous tier's up_to``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from math import gcd
from typing import Any, Iterable, NoReturn

import yaml

from .money import HUNDRED, ZERO, quantum_for, to_decimal
from .regions import SPECIFICITY, Zone, is_region_code, region_chain, region_level


class BookError(ValueError):
    """A price book is invalid; ``str()`` is ``file:line: field.path: message``."""

    def __init__(self, source: str, line: int, path: str, message: str) -> None:
        self.source, self.line, self.path, self.message = source, line, path, message
        super().__init__(f"{source}:{line}: {path}: {message}")


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


@dataclass(frozen=True, slots=True)
class Charge:
    """One charge of a service rule.  Fields used depend on ``model``."""

    id: str
    name: str
    model: str  # fixed | per_unit | tiered | package | parts | percentage
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
    sla_drop_tiers: int = 0
    sla_penalty: Decimal = ZERO
    satisfaction_weights: tuple[tuple[int, Decimal], ...] = ()
    provider_party: str = "provider"
    technician_party: str = "technician"


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
    _by_service: dict[str, tuple[ServiceRule, ...]] = field(default_factory=dict, repr=False)
    _cache: dict[Any, ServiceRule | None] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        grouped: dict[str, list[ServiceRule]] = {}
        for r in self.rules:
            grouped.setdefault(r.service, []).append(r)
        self._by_service.update({k: tuple(v) for k, v in grouped.items()})

    @property
    def label(self) -> str:
        """``book_id@version``."""
        return f"{self.book_id}@{self.version}"

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


# --------------------------------------------------------------------------- YAML tree with line numbers


def _tree(text: str, source: str) -> tuple[Any, dict[str, int]]:
    """Compose YAML into plain values plus a ``path -> line`` map (1-based)."""
    loader = yaml.SafeLoader(text)
    lines: dict[str, int] = {}

    def walk(node: yaml.Node, path: str) -> Any:
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for knode, vnode in node.value:
                key = str(loader.construct_object(knode))
                sub = f"{path}.{key}" if path else key
                if key in out:
                    raise BookError(source, knode.start_mark.line + 1, sub, "duplicate key")
                lines[sub] = knode.start_mark.line + 1
                out[key] = walk(vnode, sub)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [walk(v, f"{path}[{i}]") for i, v in enumerate(node.value)]
        if node.tag == "tag:yaml.org,2002:float":
            try:
                return Decimal(node.value.replace("_", ""))
            except ArithmeticError:
                pass
        return loader.construct_object(node)

    try:
        root = loader.get_single_node()
        if root is None:
            raise BookError(source, 1, "(document)", "empty file")
        return walk(root, ""), lines
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark else 1
        raise BookError(source, line, "(yaml)", str(getattr(exc, "problem", exc))) from None
    finally:
        loader.dispose()


class _Ctx:
    """Validation helpers bound to one source file."""

    def __init__(self, source: str, lines: dict[str, int]) -> None:
        self.source, self.lines = source, lines

    def line(self, path: str) -> int:
        p = path
        while p and p not in self.lines:
            p = re.sub(r"(\.[^.\[]+|\[\d+\])$", "", p)
        return self.lines.get(p, 1)

    def fail(self, path: str, message: str) -> NoReturn:
        raise BookError(self.source, self.line(path), path or "(document)", message)

    def mapping(self, value: Any, path: str, allowed: Iterable[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(path, "must be a mapping")
        allowed = set(allowed)
        for k in value:
            if k not in allowed:
                self.fail(f"{path}.{k}" if path else k, f"unknown field (allowed: {', '.join(sorted(allowed))})")
        return value

    def seq(self, obj: dict[str, Any], key: str, path: str, required: bool = False) -> list[Any]:
        p = _join(path, key)
        if key not in obj or obj[key] is None:
            if required:
                self.fail(p if key in obj else path, f"missing required field {key!r}" if key not in obj else "must not be empty")
            return []
        if not isinstance(obj[key], list):
            self.fail(p, "must be a list")
        return obj[key]

    def string(self, obj: dict[str, Any], key: str, path: str, default: str | None = None) -> str:
        p = _join(path, key)
        if key not in obj:
            if default is None:
                self.fail(path, f"missing required field {key!r}")
            return default
        v = obj[key]
        if isinstance(v, bool) or v is None or isinstance(v, (list, dict)):
            self.fail(p, "must be a string")
        v = str(v).strip()
        if not v:
            self.fail(p, "must not be empty")
        return v

    def dec(
        self, obj: dict[str, Any], key: str, path: str, default: Decimal | None = None, *,
        required: bool = False, minimum: Decimal | None = None, positive: bool = False,
    ) -> Decimal:
        p = _join(path, key)
        if key not in obj or obj[key] is None:
            if required or default is None:
                self.fail(path, f"missing required field {key!r}")
            return default
        try:
            v = to_decimal(obj[key])
        except ValueError as exc:
            self.fail(p, f"must be a number ({exc})")
        if positive and v <= 0:
            self.fail(p, "must be greater than 0")
        if minimum is not None and v < minimum:
            self.fail(p, f"must be >= {minimum}")
        return v

    def opt_dec(self, obj: dict[str, Any], key: str, path: str, minimum: Decimal | None = None) -> Decimal | None:
        if obj.get(key) is None:
            return None
        return self.dec(obj, key, path, required=True, minimum=minimum)

    def integer(self, obj: dict[str, Any], key: str, path: str, default: int | None = None, minimum: int | None = None) -> int:
        p = _join(path, key)
        if key not in obj:
            if default is None:
                self.fail(path, f"missing required field {key!r}")
            return default
        v = obj[key]
        if isinstance(v, bool) or not isinstance(v, int):
            self.fail(p, "must be an integer")
        if minimum is not None and v < minimum:
            self.fail(p, f"must be >= {minimum}")
        return v

    def boolean(self, obj: dict[str, Any], key: str, path: str, default: bool) -> bool:
        if key not in obj:
            return default
        if not isinstance(obj[key], bool):
            self.fail(_join(path, key), "must be true or false")
        return obj[key]

    def choice(self, obj: dict[str, Any], key: str, path: str, options: tuple[str, ...], default: str | None = None) -> str:
        v = self.string(obj, key, path, default)
        if v not in options:
            self.fail(_join(path, key), f"must be one of {', '.join(options)} (got {v!r})")
        return v


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# --------------------------------------------------------------------------- parsing

_BOOK_KEYS = ("book_id", "version", "currency", "quantum", "effective_from", "effective_to", "utc_offset",
              "description", "regions", "zones", "tax", "split", "services", "period")
_RULE_KEYS = ("id", "service", "region", "zone", "priority", "charges", "tax", "split", "description")
_CHARGE_KEYS = {
    "fixed": ("amount",),
    "per_unit": ("quantity", "unit", "rate", "minimum", "increment"),
    "tiered": ("quantity", "unit", "mode", "tiers"),
    "package": ("quantity", "unit", "size", "price", "free_units"),
    "parts": ("markup_percent",),
    "percentage": ("percent", "base", "promotional"),
}
_COMMON_CHARGE_KEYS = ("id", "name", "model", "when", "min_amount", "max_amount", "promotional", "description")
_OFFSET_RE = re.compile(r"^([+-])(\d{2}):(\d{2})$")
_HHMM_RE = re.compile(r"^(\d{1,2}):(\d{2})$")


def parse_book(text: str, source: str = "<string>") -> Book:
    """Parse and validate a price book from YAML ``text``; ``source`` names it in errors."""
    data, lines = _tree(text, source)
    c = _Ctx(source, lines)
    c.mapping(data, "", _BOOK_KEYS)
    book_id = c.string(data, "book_id", "")
    version = c.integer(data, "version", "", minimum=1)
    currency = c.string(data, "currency", "", "CNY").upper()
    quantum = c.dec(data, "quantum", "", quantum_for(currency), positive=True)
    offset = _parse_offset(c, data)
    eff_from = _parse_when(c, data, "effective_from", offset, required=True)
    eff_to = _parse_when(c, data, "effective_to", offset, required=False)
    if eff_to is not None and eff_to <= eff_from:  # type: ignore[operator]
        c.fail("effective_to", "must be later than effective_from")

    region_names = []
    for i, r in enumerate(c.seq(data, "regions", "")):
        p = f"regions[{i}]"
        c.mapping(r, p, ("code", "name"))
        code = c.string(r, "code", p)
        if not is_region_code(code):
            c.fail(f"{p}.code", f"must be 'CN' or a 6-digit administrative code (got {code!r})")
        region_names.append((code, c.string(r, "name", p)))

    zones: list[Zone] = []
    for i, z in enumerate(c.seq(data, "zones", "")):
        p = f"zones[{i}]"
        c.mapping(z, p, ("id", "name", "polygon"))
        zid = c.string(z, "id", p)
        if is_region_code(zid) or any(zz.id == zid for zz in zones):
            c.fail(f"{p}.id", f"zone id {zid!r} is duplicated or looks like a region code")
        pts = c.seq(z, "polygon", p, required=True)
        if len(pts) < 3:
            c.fail(f"{p}.polygon", "needs at least 3 [lon, lat] points")
        poly = []
        for j, pt in enumerate(pts):
            pp = f"{p}.polygon[{j}]"
            if not (isinstance(pt, list) and len(pt) == 2 and all(isinstance(v, (int, Decimal)) and not isinstance(v, bool) for v in pt)):
                c.fail(pp, "must be [lon, lat]")
            lon, lat = float(pt[0]), float(pt[1])
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                c.fail(pp, "longitude must be within ±180 and latitude within ±90")
            poly.append((lon, lat))
        zones.append(Zone.build(zid, c.string(z, "name", p, zid), tuple(poly)))
    zone_ids = {z.id for z in zones}

    default_tax = _parse_tax(c, data.get("tax"), "tax", TaxRule())
    default_split = _parse_split(c, data.get("split"), "split") if data.get("split") is not None else None

    rules: list[ServiceRule] = []
    seen_ids: set[str] = set()
    services = c.seq(data, "services", "", required=True)
    if not services:
        c.fail("services", "must list at least one service rule")
    for i, r in enumerate(services):
        p = f"services[{i}]"
        c.mapping(r, p, _RULE_KEYS)
        rid = c.string(r, "id", p)
        if rid in seen_ids:
            c.fail(f"{p}.id", f"duplicate rule id {rid!r}")
        seen_ids.add(rid)
        if ("region" in r) == ("zone" in r):
            c.fail(p, "exactly one of 'region' or 'zone' is required")
        if "zone" in r:
            scope, kind = c.string(r, "zone", p), "zone"
            if scope not in zone_ids:
                c.fail(f"{p}.zone", f"unknown zone {scope!r} (define it under zones:)")
            spec = SPECIFICITY["zone"]
        else:
            scope, kind = c.string(r, "region", p), "region"
            if not is_region_code(scope):
                c.fail(f"{p}.region", f"must be 'CN' or a 6-digit administrative code (got {scope!r})")
            spec = SPECIFICITY[region_level(scope)]
        charges = _parse_charges(c, r, p, zone_ids)
        tax = _parse_tax(c, r.get("tax"), f"{p}.tax", default_tax)
        split = _parse_split(c, r["split"], f"{p}.split") if r.get("split") is not None else default_split
        rules.append(ServiceRule(rid, c.string(r, "service", p), scope, kind, spec,
                                 c.integer(r, "priority", p, 0), i, charges, tax, split, c.line(p)))

    period = _parse_period(c, data.get("period"), "period")
    return Book(
        book_id=book_id, version=version, currency=currency, quantum=quantum,
        effective_from=eff_from, effective_to=eff_to, utc_offset=offset,  # type: ignore[arg-type]
        source=source, digest=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        region_names=tuple(region_names), zones=tuple(zones), rules=tuple(rules),
        tax=default_tax, split=default_split, period=period,
    )


def _parse_offset(c: _Ctx, data: dict[str, Any]) -> timezone:
    raw = c.string(data, "utc_offset", "", "+08:00")
    m = _OFFSET_RE.match(raw)
    if not m:
        c.fail("utc_offset", f"must look like +08:00 (got {raw!r})")
    delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
    return timezone(-delta if m.group(1) == "-" else delta)


def _parse_when(c: _Ctx, data: dict[str, Any], key: str, tz: timezone, required: bool) -> datetime | None:
    if data.get(key) is None:
        if required:
            c.fail("", f"missing required field {key!r}")
        return None
    v = data[key]
    if isinstance(v, datetime):
        return v if v.tzinfo else v.replace(tzinfo=tz)
    if isinstance(v, date):
        return datetime.combine(v, time(0), tz)
    try:
        dt = datetime.fromisoformat(str(v))
    except ValueError:
        c.fail(key, f"must be a date (YYYY-MM-DD) or ISO-8601 datetime (got {v!r})")
    return dt if dt.tzinfo else dt.replace(tzinfo=tz)


def _parse_tax(c: _Ctx, raw: Any, path: str, default: TaxRule) -> TaxRule:
    if raw is None:
        return default
    c.mapping(raw, path, ("rate", "inclusive"))
    rate = c.dec(raw, "rate", path, required=True, minimum=ZERO)
    if rate >= 1:
        c.fail(f"{path}.rate", "must be a fraction below 1 (e.g. 0.13 for 13%)")
    return TaxRule(rate, c.boolean(raw, "inclusive", path, default.inclusive))


def _parse_share(c: _Ctx, raw: Any, path: str) -> Fraction:
    try:
        f = Fraction(str(raw).strip())
    except (ValueError, ZeroDivisionError):
        c.fail(path, f"must be a fraction like 1/3 or 0.25 (got {raw!r})")
    if not 0 <= f <= 1:
        c.fail(path, "must be between 0 and 1")
    return f


def _parse_split(c: _Ctx, raw: Any, path: str) -> SplitRule:
    if isinstance(raw, dict):
        c.mapping(raw, path, ("basis", "parts"))
        basis = c.choice(raw, "basis", path, ("net", "gross"), "net")
        items, ppath = c.seq(raw, "parts", path, required=True), f"{path}.parts"
    else:
        basis, items, ppath = "net", raw, path
    if not isinstance(items, list) or not items:
        c.fail(ppath, "must be a non-empty list of parties")
    parts: list[SplitPart] = []
    for i, it in enumerate(items):
        p = f"{ppath}[{i}]"
        c.mapping(it, p, ("party", "percent", "share", "fixed", "cap", "remainder"))
        party = c.string(it, "party", p)
        if any(x.party == party for x in parts):
            c.fail(f"{p}.party", f"duplicate party {party!r}")
        kinds = [k for k in ("percent", "share", "fixed", "remainder") if it.get(k) not in (None, False)]
        if len(kinds) != 1:
            c.fail(p, "exactly one of percent, share, fixed or remainder: true is required")
        share = None
        if "percent" in kinds:
            share = Fraction(c.dec(it, "percent", p, minimum=ZERO)) / 100
            if share > 1:
                c.fail(f"{p}.percent", "must be <= 100")
        elif "share" in kinds:
            share = _parse_share(c, it["share"], f"{p}.share")
        fixed = c.dec(it, "fixed", p, minimum=ZERO) if "fixed" in kinds else None
        cap = c.opt_dec(it, "cap", p, minimum=ZERO)
        parts.append(SplitPart(party, share, fixed, cap, "remainder" in kinds))
    remainders = [x for x in parts if x.remainder]
    total_share = sum((x.share for x in parts if x.share is not None), Fraction(0))
    if len(remainders) > 1:
        c.fail(ppath, "at most one party may take the remainder")
    if not remainders:
        if any(x.fixed is not None or x.cap is not None for x in parts):
            c.fail(ppath, "fixed amounts or caps need a party with remainder: true")
        if total_share != 1:
            c.fail(ppath, f"shares must add up to 100% without a remainder party (got {float(total_share) * 100:g}%)")
    elif total_share > 1:
        c.fail(ppath, "shares add up to more than 100%")
    return SplitRule(tuple(parts), basis)


def _parse_condition(c: _Ctx, raw: Any, path: str, zone_ids: set[str]) -> Condition:
    c.mapping(raw, path, ("time_window", "floor_gte", "customer_tags_any", "region_in"))
    if not raw:
        c.fail(path, "must contain at least one condition")
    window = None
    if "time_window" in raw:
        tw = raw["time_window"]
        if not (isinstance(tw, list) and len(tw) == 2):
            c.fail(f"{path}.time_window", 'must be ["HH:MM", "HH:MM"] (start inclusive, end exclusive)')
        mins = []
        for j, t in enumerate(tw):
            m = _HHMM_RE.match(str(t)) if isinstance(t, str) else None
            if not m or int(m.group(1)) > 24 or int(m.group(2)) > 59:
                c.fail(f"{path}.time_window[{j}]", f"must be HH:MM as a quoted string (got {t!r})")
            mins.append(int(m.group(1)) * 60 + int(m.group(2)))
        if mins[0] == mins[1]:
            c.fail(f"{path}.time_window", "start and end must differ")
        window = (mins[0], mins[1])
    floor = c.integer(raw, "floor_gte", path) if "floor_gte" in raw else None
    tags = frozenset(str(t) for t in c.seq(raw, "customer_tags_any", path))
    regions = []
    for j, code in enumerate(c.seq(raw, "region_in", path)):
        code = str(code)
        if not (is_region_code(code) or code in zone_ids):
            c.fail(f"{path}.region_in[{j}]", f"unknown region code or zone {code!r}")
        regions.append(code)
    return Condition(window, floor, tags, frozenset(regions))


def _parse_charges(c: _Ctx, rule: dict[str, Any], path: str, zone_ids: set[str]) -> tuple[Charge, ...]:
    items = c.seq(rule, "charges", path, required=True)
    if not items:
        c.fail(f"{path}.charges", "must list at least one charge")
    out: list[Charge] = []
    for i, ch in enumerate(items):
        p = f"{path}.charges[{i}]"
        if not isinstance(ch, dict):
            c.fail(p, "must be a mapping")
        model = c.choice(ch, "model", p, tuple(_CHARGE_KEYS))
        c.mapping(ch, p, _COMMON_CHARGE_KEYS + _CHARGE_KEYS[model])
        cid = c.string(ch, "id", p)
        if any(x.id == cid for x in out):
            c.fail(f"{p}.id", f"duplicate charge id {cid!r}")
        kw: dict[str, Any] = {"id": cid, "name": c.string(ch, "name", p, cid), "model": model}
        if "when" in ch:
            kw["when"] = _parse_condition(c, ch["when"], f"{p}.when", zone_ids)
        kw["min_amount"] = c.opt_dec(ch, "min_amount", p)
        kw["max_amount"] = c.opt_dec(ch, "max_amount", p)
        if kw["min_amount"] is not None and kw["max_amount"] is not None and kw["max_amount"] < kw["min_amount"]:
            c.fail(f"{p}.max_amount", "must be >= min_amount")
        kw["promotional"] = c.boolean(ch, "promotional", p, False)
        if model == "fixed":
            kw["amount"] = c.dec(ch, "amount", p, required=True)
        elif model in ("per_unit", "tiered", "package"):
            kw["quantity"] = c.string(ch, "quantity", p)
            kw["unit"] = c.string(ch, "unit", p, kw["quantity"])
        if model == "per_unit":
            kw["rate"] = c.dec(ch, "rate", p, required=True, minimum=ZERO)
            kw["minimum"] = c.dec(ch, "minimum", p, ZERO, minimum=ZERO)
            kw["increment"] = c.dec(ch, "increment", p, positive=True) if ch.get("increment") is not None else None
        elif model == "tiered":
            kw["mode"] = c.choice(ch, "mode", p, ("graduated", "volume"), "graduated")
            kw["tiers"] = _parse_tiers(c, ch, p)
        elif model == "package":
            kw["size"] = c.dec(ch, "size", p, required=True, positive=True)
            kw["rate"] = c.dec(ch, "price", p, required=True, minimum=ZERO)
            kw["free_units"] = c.dec(ch, "free_units", p, ZERO, minimum=ZERO)
        elif model == "parts":
            kw["markup_percent"] = c.dec(ch, "markup_percent", p, ZERO, minimum=ZERO)
        elif model == "percentage":
            kw["percent"] = c.dec(ch, "percent", p, required=True, minimum=-HUNDRED)
            base = c.seq(ch, "base", p, required=True)
            if not base:
                c.fail(f"{p}.base", "must name at least one earlier charge")
            for j, b in enumerate(base):
                if not any(x.id == str(b) for x in out):
                    c.fail(f"{p}.base[{j}]", f"{b!r} is not an earlier charge of this rule")
            kw["base"] = tuple(str(b) for b in base)
        out.append(Charge(**kw))
    return tuple(out)


def _parse_tiers(c: _Ctx, ch: dict[str, Any], path: str) -> tuple[Tier, ...]:
    items = c.seq(ch, "tiers", path, required=True)
    if not items:
        c.fail(f"{path}.tiers", "must list at least one tier")
    tiers: list[Tier] = []
    for i, t in enumerate(items):
        p = f"{path}.tiers[{i}]"
        c.mapping(t, p, ("up_to", "unit_price", "flat"))
        if "up_to" not in t:
            c.fail(p, "missing required field 'up_to' (use null for the last, open-ended tier)")
        up_to = None if t["up_to"] in (None, "inf") else c.dec(t, "up_to", p, positive=True)
        if up_to is None and i != len(items) - 1:
            c.fail(f"{p}.up_to", "only the last tier may be open-ended (null)")
        if up_to is not None and i == len(items) - 1:
            c.fail(f"{p}.up_to", "the last tier must be open-ended (up_to: null)")
        if up_to is not None and tiers and tiers[-1].up_to is not None and up_to <= tiers[-1].up_to:
            c.fail(f"{p}.up_to", "must be greater than the previous tier's up_to")
        tiers.append(Tier(up_to, c.dec(t, "unit_price", p, ZERO, minimum=ZERO), c.dec(t, "flat", p, ZERO, minimum=ZERO)))
    return tuple(tiers)


def _parse_period(c: _Ctx, raw: Any, path: str) -> PeriodRules:
    if raw is None:
        return PeriodRules()
    c.mapping(raw, path, ("rebate", "sla", "satisfaction_weights", "provider_party", "technician_party"))
    rebate = None
    if raw.get("rebate") is not None:
        rp = f"{path}.rebate"
        r = c.mapping(raw["rebate"], rp, ("basis", "mode", "ladder"))
        basis = c.choice(r, "basis", rp, ("revenue", "volume"), "revenue")
        mode = c.choice(r, "mode", rp, ("graduated", "whole"), "graduated")
        tiers: list[LadderTier] = []
        for i, t in enumerate(c.seq(r, "ladder", rp, required=True)):
            p = f"{rp}.ladder[{i}]"
            c.mapping(t, p, ("from", "percent", "per_ticket"))
            start = c.dec(t, "from", p, required=True, minimum=ZERO)
            if i == 0 and start != 0:
                c.fail(f"{p}.from", "the first tier must start at 0")
            if tiers and start <= tiers[-1].threshold:
                c.fail(f"{p}.from", "must be greater than the previous tier's from")
            if basis == "revenue":
                tiers.append(LadderTier(start, percent=c.dec(t, "percent", p, required=True, minimum=ZERO)))
            else:
                tiers.append(LadderTier(start, per_ticket=c.dec(t, "per_ticket", p, required=True, minimum=ZERO)))
        if not tiers:
            c.fail(f"{rp}.ladder", "must list at least one tier")
        rebate = RebateLadder(basis, mode, tuple(tiers))
    drop, penalty = 0, ZERO
    if raw.get("sla") is not None:
        sp = f"{path}.sla"
        s = c.mapping(raw["sla"], sp, ("drop_tiers_per_breach", "penalty_per_breach"))
        drop = c.integer(s, "drop_tiers_per_breach", sp, 0, minimum=0)
        penalty = c.dec(s, "penalty_per_breach", sp, ZERO, minimum=ZERO)
    weights = []
    sw = raw.get("satisfaction_weights")
    if sw is not None:
        wp = f"{path}.satisfaction_weights"
        if not isinstance(sw, dict):
            c.fail(wp, "must map a rating (1-5) to a weight")
        for k in sw:
            if not str(k).isdigit():
                c.fail(f"{wp}.{k}", "rating keys must be integers")
            weights.append((int(k), c.dec(sw, k, wp, required=True, minimum=ZERO)))
    return PeriodRules(rebate, drop, penalty, tuple(sorted(weights)),
                       c.string(raw, "provider_party", path, "provider"),
                       c.string(raw, "technician_party", path, "technician"))
