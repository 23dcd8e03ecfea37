"""Parsing the terms inside a price book: charges (and their conditions and tiers), tax,
revenue splits and the month-end period rules.  Each takes the book's :class:`.Fields`."""

from __future__ import annotations

import re
from datetime import date
from fractions import Fraction
from typing import Any

from .book_fields import Fields
from .books import (Charge, Condition, LadderTier, PeriodRules, RebateLadder, SplitPart, SplitRule,
                    TaxRule, Tier)
from .money import HUNDRED, ZERO
from .regions import is_region_code

_CHARGE_KEYS = {
    "fixed": ("amount",),
    "per_unit": ("quantity", "unit", "rate", "minimum", "increment"),
    "tiered": ("quantity", "unit", "mode", "tiers"),
    "package": ("quantity", "unit", "size", "price", "free_units"),
    "parts": ("markup_percent",),
    "percentage": ("percent", "base", "promotional"),
    "spend_threshold": ("base", "spend", "discount", "repeat"),
    "nth_item": ("base", "quantity", "unit", "nth", "percent"),
}
_COMMON_CHARGE_KEYS = ("id", "name", "model", "when", "min_amount", "max_amount", "promotional", "description")
_HHMM_RE = re.compile(r"^(\d{1,2}):(\d{2})$")


def parse_tax(c: Fields, raw: Any, path: str, default: TaxRule) -> TaxRule:
    if raw is None:
        return default
    c.mapping(raw, path, ("rate", "inclusive"))
    rate = c.dec(raw, "rate", path, required=True, minimum=ZERO)
    if rate >= 1:
        c.fail(f"{path}.rate", "must be a fraction below 1 (e.g. 0.13 for 13%)")
    return TaxRule(rate, c.boolean(raw, "inclusive", path, default.inclusive))


def _parse_share(c: Fields, raw: Any, path: str) -> Fraction:
    try:
        f = Fraction(str(raw).strip())
    except (ValueError, ZeroDivisionError):
        c.fail(path, f"must be a fraction like 1/3 or 0.25 (got {raw!r})")
    if not 0 <= f <= 1:
        c.fail(path, "must be between 0 and 1")
    return f


def parse_split(c: Fields, raw: Any, path: str) -> SplitRule:
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


_CONDITION_KEYS = ("time_window", "floor_gte", "customer_tags_any", "region_in", "flags_any", "dates",
                   "plans_any", "quantity_gte", "any_of")


def _parse_condition(c: Fields, raw: Any, path: str, zone_ids: set[str], plan_ids: set[str] = frozenset(),
                     nested: bool = False) -> Condition:
    c.mapping(raw, path, _CONDITION_KEYS)
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
    flags = frozenset(str(f) for f in c.seq(raw, "flags_any", path))
    plans = []
    for j, pid in enumerate(c.seq(raw, "plans_any", path)):
        if str(pid) not in plan_ids:
            c.fail(f"{path}.plans_any[{j}]", f"unknown plan {pid!r} (define it under plans:)")
        plans.append(str(pid))
    dates = _parse_dates(c, raw, path) if "dates" in raw else None
    qty: list[tuple[str, Any]] = []
    if "quantity_gte" in raw:
        q = raw["quantity_gte"]
        if not isinstance(q, dict) or not q:
            c.fail(f"{path}.quantity_gte", "must map a quantity name to a number, e.g. {pipe_m: 3}")
        qty = [(str(k), c.dec(q, k, f"{path}.quantity_gte", required=True, minimum=ZERO)) for k in q]
    any_of: list[Condition] = []
    if "any_of" in raw:
        if nested:
            c.fail(f"{path}.any_of", "any_of cannot be nested")
        items = c.seq(raw, "any_of", path)
        if len(items) < 2:
            c.fail(f"{path}.any_of", "must list at least two conditions")
        any_of = [_parse_condition(c, it, f"{path}.any_of[{j}]", zone_ids, plan_ids, nested=True)
                  for j, it in enumerate(items)]
    return Condition(window, floor, tags, frozenset(regions), flags, dates, frozenset(plans), tuple(qty),
                     tuple(any_of))


def _parse_dates(c: Fields, raw: dict[str, Any], path: str) -> tuple[date, date]:
    p = f"{path}.dates"
    v = raw["dates"]
    if not (isinstance(v, list) and len(v) == 2):
        c.fail(p, '["YYYY-MM-DD", "YYYY-MM-DD"] (from inclusive, to exclusive) is required')
    out = []
    for j, d in enumerate(v):
        if isinstance(d, date):
            out.append(d)
            continue
        try:
            out.append(date.fromisoformat(str(d)))
        except ValueError:
            c.fail(f"{p}[{j}]", f"must be a date YYYY-MM-DD (got {d!r})")
    if out[1] <= out[0]:
        c.fail(f"{p}[1]", "must be later than the first date")
    return out[0], out[1]


def parse_charges(c: Fields, rule: dict[str, Any], path: str, zone_ids: set[str],
                  plan_ids: set[str] = frozenset()) -> tuple[Charge, ...]:
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
            kw["when"] = _parse_condition(c, ch["when"], f"{p}.when", zone_ids, plan_ids)
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
            kw["base"] = _base(c, ch, p, out)
        elif model == "spend_threshold":
            kw["base"] = _base(c, ch, p, out)
            kw["spend"] = c.dec(ch, "spend", p, required=True, positive=True)
            kw["off"] = c.dec(ch, "discount", p, required=True, positive=True)
            if kw["off"] > kw["spend"]:
                c.fail(f"{p}.discount", "must not exceed spend")
            kw["repeat"] = c.boolean(ch, "repeat", p, False)
        elif model == "nth_item":
            kw["base"] = _base(c, ch, p, out)
            if len(kw["base"]) != 1:
                c.fail(f"{p}.base", "must name exactly one earlier charge (whose unit price is discounted)")
            kw["quantity"] = c.string(ch, "quantity", p)
            kw["unit"] = c.string(ch, "unit", p, kw["quantity"])
            kw["nth"] = c.integer(ch, "nth", p, minimum=2)
            kw["percent"] = c.dec(ch, "percent", p, required=True, minimum=-HUNDRED)
            if kw["percent"] >= 0:
                c.fail(f"{p}.percent", "must be below 0 (e.g. -50 for 第二件半价)")
        out.append(Charge(**kw))
    return tuple(out)


def _base(c: Fields, ch: dict[str, Any], p: str, out: list[Charge]) -> tuple[str, ...]:
    base = c.seq(ch, "base", p, required=True)
    if not base:
        c.fail(f"{p}.base", "must name at least one earlier charge")
    for j, b in enumerate(base):
        if not any(x.id == str(b) for x in out):
            c.fail(f"{p}.base[{j}]", f"{b!r} is not an earlier charge of this rule")
    return tuple(str(b) for b in base)


def _parse_tiers(c: Fields, ch: dict[str, Any], path: str) -> tuple[Tier, ...]:
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


def parse_period(c: Fields, raw: Any, path: str) -> PeriodRules:
    if raw is None:
        return PeriodRules()
    c.mapping(raw, path, ("rebate", "segments", "sla", "satisfaction_weights", "provider_party",
                          "technician_party"))
    rebate = _parse_ladder(c, raw["rebate"], f"{path}.rebate") if raw.get("rebate") is not None else None
    segments = []
    if raw.get("segments") is not None:
        sp = f"{path}.segments"
        if not isinstance(raw["segments"], dict) or not raw["segments"]:
            c.fail(sp, "must map a provider segment (e.g. 省级代理) to {rebate: …}")
        for name, seg in raw["segments"].items():
            c.mapping(seg, f"{sp}.{name}", ("rebate", "description"))
            if seg.get("rebate") is None:
                c.fail(f"{sp}.{name}", "missing required field 'rebate'")
            segments.append((str(name), _parse_ladder(c, seg["rebate"], f"{sp}.{name}.rebate")))
    drop, penalty = _parse_sla(c, raw, path)
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
    return PeriodRules(rebate, tuple(segments), drop, penalty, tuple(sorted(weights)),
                       c.string(raw, "provider_party", path, "provider"),
                       c.string(raw, "technician_party", path, "technician"))


def _parse_sla(c: Fields, raw: dict[str, Any], path: str) -> tuple[int, Any]:
    drop, penalty = 0, ZERO
    if raw.get("sla") is not None:
        sp = f"{path}.sla"
        s = c.mapping(raw["sla"], sp, ("drop_tiers_per_breach", "penalty_per_breach"))
        drop = c.integer(s, "drop_tiers_per_breach", sp, 0, minimum=0)
        penalty = c.dec(s, "penalty_per_breach", sp, ZERO, minimum=ZERO)
    return drop, penalty


def _parse_ladder(c: Fields, raw: Any, rp: str) -> RebateLadder:
    r = c.mapping(raw, rp, ("basis", "mode", "ladder"))
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
    return RebateLadder(basis, mode, tuple(tiers))
