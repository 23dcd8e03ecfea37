"""Checking one person of a staff file, field by field (CSV text or YAML values alike).

Each field's parser takes the raw value (None when left empty) and a list to add problems to,
and returns the value for ``StaffRow``; ``check_row`` runs them all and adds the rules across
fields (a technician needs a home and a capacity). Shifts and leave are checked by the
dispatch engine's own spec checks, so a file that imports is one dispatch can use.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date
from typing import Any, Callable, Final

from handlers.dispatch.engine.regions import normalise_region
from handlers.dispatch.engine.shifts import parse_hhmm, parse_weekdays
from handlers.dispatch.engine.specs import leave_specs_problems, shift_specs_problems
from handlers.staff.rows import FIELDS, StaffRow
from models.tickets import STAFF_ROLES

_USERID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")  # WeCom's rule for a userid
_SKILL_TAG = re.compile(r"[a-z][a-z0-9_]*")
_SHIFT_TEXT = re.compile(r"(?P<days>.*?)\s*(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})")
_LIST_SEP = re.compile(r"[;；,，]")  # roles, regions, skills
_ITEM_SEP = re.compile(r"[;；]")  # shifts and leave (their days may contain commas)
_WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TRUE: Final = ("true", "yes", "1")
_FALSE: Final = ("false", "no", "0")


def check_row(raw: Mapping[str, Any], line: int) -> tuple[StaffRow | None, list[tuple[str, str]]]:
    """The row, or None and its problems as ``(field, message)``, in ``FIELDS`` order."""
    values: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for name in FIELDS:
        v = raw.get(name)
        if isinstance(v, str):
            v = v.strip() or None
        bad: list[str] = []
        values[name] = _PARSERS[name](v, bad)
        problems += [(name, b) for b in bad]
    failed = {name for name, _ in problems}
    if "technician" in (values["roles"] or ()):
        if values["home"] is None and "home" not in failed:
            problems.append(("home", "required for technicians (lat,lon, e.g. 31.2304,121.4737)"))
        if "capacity" not in failed and values["capacity"] < 1:
            problems.append(("capacity", f"technicians need a capacity of at least 1 open job, "
                                         f"got {values['capacity']}"))
    if problems:
        return None, problems
    return StaffRow(**values, line=line), []


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _text(v: Any, bad: list[str], max_len: int) -> str | None:
    if v is None:
        return None
    if not isinstance(v, str):
        bad.append(f"must be text, got {v!r}")
        return None
    if len(v) > max_len:
        bad.append(f"{v[:20]!r}… is longer than {max_len} characters")
        return None
    return v


def _userid(v: Any, bad: list[str]) -> str | None:
    if v is None:
        bad.append("required (the person's WeCom userid)")
        return None
    text = _text(v, bad, 64)
    if text is not None and not _USERID.fullmatch(text):
        bad.append(f"{text!r} is not a WeCom userid (1-64 letters, digits, _ - . @, starting "
                   f"with a letter or digit)")
        return None
    return text


def _name(v: Any, bad: list[str]) -> str:
    return _text(v, bad, 100) or ""


def _provider(v: Any, bad: list[str]) -> str:
    return _text(v, bad, 100) or ""


def _phone(v: Any, bad: list[str]) -> str | None:
    text = _text(v, bad, 32)
    if text is None:
        return None
    digits = text.replace("-", "")
    ok = (re.fullmatch(r"\d+(?:-\d+)*", text) is not None
          and (re.fullmatch(r"1[3-9]\d{9}", digits) is not None  # mobile
               or (digits.startswith("0") and 10 <= len(digits) <= 12)  # 0 + area code + number
               or (digits[:3] in ("400", "800") and len(digits) == 10)))  # hotlines
    if not ok:
        bad.append(f"{text!r} is not a phone number (an 11-digit mobile like 13900000001, or a "
                   f"landline like 021-62345678; digits and dashes only)")
        return None
    return text


def _extension(v: Any, bad: list[str]) -> str | None:
    text = _text(v, bad, 16)
    if text is not None and not re.fullmatch(r"\d{1,8}", text):
        bad.append(f"{text!r} is not an extension (1 to 8 digits)")
        return None
    return text


def _items(v: Any, sep: re.Pattern[str]) -> list[Any] | None:
    """A cell's ``a;b;c`` or a YAML list; None if it is neither."""
    if isinstance(v, str):
        return [p.strip() for p in sep.split(v) if p.strip()]
    if isinstance(v, list):
        return v
    return None


def _roles(v: Any, bad: list[str]) -> list[str]:
    if v is None:
        return []
    items = _items(v, _LIST_SEP)
    if items is None:
        bad.append(f"must be a list of roles like 'technician;dispatcher', got {v!r}")
        return []
    out: list[str] = []
    for item in items:
        if item not in STAFF_ROLES:
            bad.append(f"{item!r} is not a role ({', '.join(STAFF_ROLES)})")
        elif item not in out:
            out.append(item)
    return out


def _skills(v: Any, bad: list[str]) -> dict[str, int]:
    if v is None:
        return {}
    pairs: list[tuple[Any, Any]] = []
    if isinstance(v, Mapping):
        pairs = list(v.items())
    elif isinstance(v, str):
        for part in (p.strip() for p in _LIST_SEP.split(v)):
            if not part:
                continue
            tag, colon, level = part.replace("：", ":").partition(":")
            if not colon:
                bad.append(f"{part!r} is not tag:level (e.g. 'aircon:4;coffee:3')")
                continue
            pairs.append((tag.strip(), level.strip()))
    else:
        bad.append(f"must be tag:level pairs like 'aircon:4;coffee:3', got {v!r}")
        return {}
    out: dict[str, int] = {}
    for tag, level in pairs:
        if not isinstance(tag, str) or not _SKILL_TAG.fullmatch(tag):
            bad.append(f"{tag!r} is not a skill tag (lower-case letters, digits and _, starting "
                       f"with a letter, e.g. aircon, water_heater)")
            continue
        if tag in out:
            bad.append(f"{tag!r} is given twice")
            continue
        if isinstance(level, str) and re.fullmatch(r"\d+", level):
            level = int(level)
        if not isinstance(level, int) or isinstance(level, bool):
            bad.append(f"level {level!r} for {tag!r} is not a whole number in 1..5")
        elif not 1 <= level <= 5:
            bad.append(f"level {level} for {tag!r} is not in 1..5")
        else:
            out[tag] = level
    return out


def _regions(v: Any, bad: list[str]) -> list[str]:
    if v is None:
        return []
    items = _items(v, _LIST_SEP)
    if items is None:
        items = [v] if isinstance(v, int) and not isinstance(v, bool) else None
    if items is None:
        bad.append(f"must be 6-digit administrative codes like '310000;330100', got {v!r}")
        return []
    out: list[str] = []
    for item in items:
        try:
            if isinstance(item, bool) or not isinstance(item, (str, int)):
                raise ValueError(f"region {item!r} is not a 6-digit administrative code")
            code = normalise_region(item)
        except ValueError as exc:
            bad.append(str(exc))
            continue
        if code not in out:
            out.append(code)
    return out


def _number(v: Any) -> float | None:
    if _is_number(v):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v.strip())
        except ValueError:
            return None
    return None


def _home(v: Any, bad: list[str]) -> tuple[float, float] | None:
    if v is None:
        return None
    parts: list[Any] | None = None
    if isinstance(v, str):
        parts = re.split(r"[,，]", v)
    elif isinstance(v, Mapping) and set(v) == {"lat", "lon"}:
        parts = [v["lat"], v["lon"]]
    elif isinstance(v, list):
        parts = v
    nums = [_number(p) for p in parts] if parts is not None and len(parts) == 2 else []
    lat, lon = nums if len(nums) == 2 else (None, None)
    if lat is None or lon is None or not (math.isfinite(lat) and math.isfinite(lon)):
        bad.append(f"{v!r} is not lat,lon (e.g. 31.2304,121.4737; in YAML "
                   f"{{lat: 31.2304, lon: 121.4737}})")
        return None
    if not -90 <= lat <= 90:
        bad.append(f"latitude {lat} is not in -90..90 (latitude comes first: lat,lon)")
        return None
    if not -180 <= lon <= 180:
        bad.append(f"longitude {lon} is not in -180..180")
        return None
    return (lat, lon)


def _capacity(v: Any, bad: list[str]) -> int:
    if v is None:
        return 0
    if isinstance(v, str) and re.fullmatch(r"\d+", v):
        return int(v)
    if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
        return v
    bad.append(f"{v!r} is not a whole number >= 0 (open jobs at most)")
    return 0


def _rating(v: Any, bad: list[str]) -> float | None:
    if v is None:
        return None
    n = _number(v)
    if n is None or not math.isfinite(n):
        bad.append(f"{v!r} is not a number in 1..5")
        return None
    if not 1 <= n <= 5:
        bad.append(f"{n:g} is not in 1..5")
        return None
    return n


def _active(v: Any, bad: list[str]) -> bool:
    if v is None:
        return True
    if isinstance(v, bool):
        return v
    text = str(v).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    bad.append(f"{v!r} is not true or false")
    return True


def _specs(v: Any, bad: list[str], what: str, parse: Callable[[str], dict[str, Any] | None],
           check: Callable[[Any], list[str]], example: str) -> list[dict[str, Any]] | None:
    """Entries of ``shifts`` / ``leave`` (text or mappings), each checked by ``check``; the
    problems name the entry 1-based as the dispatch loader does ("shift 2: …")."""
    if v is None:
        return []
    items = _items(v, _ITEM_SEP)
    if items is None:
        bad.append(f"must be a list like {example!r}, got {v!r}")
        return None
    out: list[dict[str, Any]] = []
    for i, item in enumerate(items, 1):
        spec = parse(item) if isinstance(item, str) else item
        if spec is None:
            bad.append(f"{what} {i}: {item!r} is not like {example.split(';')[0]!r}")
            continue
        problems = check([spec])
        bad += [p.replace(f"{what} 1", f"{what} {i}", 1) for p in problems]
        if not problems:
            out.append(spec)
    return out


def _shift_text(text: str) -> dict[str, Any] | None:
    m = _SHIFT_TEXT.fullmatch(text.strip())
    if m is None:
        return None
    return {"days": m["days"].strip() or "daily", "start": m["start"], "end": m["end"]}


def days_text(days: Any) -> str:
    """'mon-fri' as written; a YAML list of names / 0..6 as 'mon,tue'."""
    if isinstance(days, list):
        return ",".join(_WEEKDAYS[d] for d in parse_weekdays(days))
    return str(days).strip()


def _shifts(v: Any, bad: list[str]) -> list[dict[str, str]]:
    specs = _specs(v, bad, "shift", _shift_text, shift_specs_problems,
                   "mon-fri 09:00-18:00;sat 10:00-16:00")
    out = []
    for s in specs or ():
        start, end = parse_hhmm(s["start"]), parse_hhmm(s["end"])
        out.append({"days": days_text(s.get("days", "daily")),
                    "start": f"{start // 60:02d}:{start % 60:02d}",
                    "end": f"{end // 60:02d}:{end % 60:02d}"})
    return out


def _leave_text(text: str) -> dict[str, Any] | None:
    first, dots, last = text.partition("..")
    if not first.strip():
        return None
    return {"from": first.strip(), "to": (last if dots else first).strip()}


def _iso(v: str | date) -> str:
    return (v if isinstance(v, date) else date.fromisoformat(v)).isoformat()


def _leave(v: Any, bad: list[str]) -> list[dict[str, str]]:
    specs = _specs(v, bad, "leave", _leave_text, leave_specs_problems,
                   "2026-11-20..2026-11-22;2026-12-01..2026-12-01")
    return [{"from": _iso(s["from"]), "to": _iso(s["to"])} for s in specs or ()]


def _names(v: Any, bad: list[str]) -> list[str]:
    """Departments, tags, stores: ``质检部;采购部`` or a YAML list of names."""
    if v is None:
        return []
    items = _items(v, _LIST_SEP)
    if items is None or any(not isinstance(i, str) or len(i) > 100 for i in items):
        bad.append(f"must be a list of names like '质检部;采购部', got {v!r}")
        return []
    return list(dict.fromkeys(items))


_PARSERS: Final[dict[str, Callable[[Any, list[str]], Any]]] = {
    "userid": _userid, "name": _name, "roles": _roles, "phone": _phone,
    "extension": _extension, "provider": _provider, "skills": _skills, "regions": _regions,
    "home": _home, "capacity": _capacity, "rating": _rating, "shifts": _shifts,
    "leave": _leave, "active": _active, "departments": _names, "tags": _names,
    "stores": _names,
}
