"""Building a :class:`.books.Book` from the YAML document of a price book, with every check.

The engine reads no files and parses no YAML text: ``handlers/settlement/loader.py`` reads the
file with ``handlers/config_file.read_yaml(text, source, decimals=True)`` (the one YAML reader:
plain values, the line of every field) and hands the document to :func:`build_book`.  The
terms inside a rule (charges, tiers, conditions, tax, splits, period) are in
:mod:`.book_terms`; the field readers in :mod:`.book_fields`.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

from .book_fields import Fields
from .book_terms import parse_charges, parse_period, parse_split, parse_tax
from .books import Book, Plan, ServiceRule, TaxRule
from .money import quantum_for
from .regions import SPECIFICITY, Zone, is_region_code, region_level
from .ticket import shared_zone

_BOOK_KEYS = ("book_id", "version", "currency", "quantum", "effective_from", "effective_to", "utc_offset",
              "description", "regions", "zones", "tax", "split", "services", "period", "plans")
_RULE_KEYS = ("id", "service", "region", "zone", "priority", "charges", "tax", "split", "description")
_OFFSET_RE = re.compile(r"^([+-])(\d{2}):(\d{2})$")


def build_book(doc: Any) -> Book:
    """Validate a price book's YAML document and build the :class:`Book`.

    ``doc`` (from ``handlers/config_file.read_yaml``, passed in) has ``.source`` and ``.text``
    (named in errors and hashed into ``Book.digest``), ``.data``, ``.empty``, ``.issues``,
    ``.line(path)`` and ``.problem(path, message, field=…, line=…)``.  Raises
    :class:`.books.BookError` (``file:line: field.path: message``) at the first problem.
    """
    c = Fields(doc)
    c.check_document()
    data, source, text = doc.data, doc.source, doc.text
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

    default_tax = parse_tax(c, data.get("tax"), "tax", TaxRule())
    default_split = parse_split(c, data.get("split"), "split") if data.get("split") is not None else None

    plans: list[Plan] = []
    for i, pl in enumerate(c.seq(data, "plans", "")):
        p = f"plans[{i}]"
        c.mapping(pl, p, ("id", "name", "service", "months", "description"))
        pid = c.string(pl, "id", p)
        if any(x.id == pid for x in plans):
            c.fail(f"{p}.id", f"duplicate plan id {pid!r}")
        plans.append(Plan(pid, c.string(pl, "name", p, pid), c.string(pl, "service", p),
                          c.integer(pl, "months", p, minimum=1), c.line(p)))
    plan_ids = {x.id for x in plans}

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
        charges = parse_charges(c, r, p, zone_ids, plan_ids)
        tax = parse_tax(c, r.get("tax"), f"{p}.tax", default_tax)
        split = parse_split(c, r["split"], f"{p}.split") if r.get("split") is not None else default_split
        rules.append(ServiceRule(rid, c.string(r, "service", p), scope, kind, spec,
                                 c.integer(r, "priority", p, 0), i, charges, tax, split, c.line(p)))

    for i, pl in enumerate(plans):
        if not any(r.service == pl.service for r in rules):
            c.fail(f"plans[{i}].service", f"{pl.service!r} is not a service of this book (the plan is sold as it)")
    period = parse_period(c, data.get("period"), "period")
    return Book(
        book_id=book_id, version=version, currency=currency, quantum=quantum,
        effective_from=eff_from, effective_to=eff_to, utc_offset=offset,  # type: ignore[arg-type]
        source=source, digest=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        region_names=tuple(region_names), zones=tuple(zones), rules=tuple(rules),
        tax=default_tax, split=default_split, period=period, plans=tuple(plans),
    )


def _parse_offset(c: Fields, data: dict[str, Any]) -> timezone:
    raw = c.string(data, "utc_offset", "", "+08:00")
    m = _OFFSET_RE.match(raw)
    if not m:
        c.fail("utc_offset", f"must look like +08:00 (got {raw!r})")
    delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
    return shared_zone(-delta if m.group(1) == "-" else delta)


def _parse_when(c: Fields, data: dict[str, Any], key: str, tz: timezone, required: bool) -> datetime | None:
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

