"""Plain data (dicts from a file, a database row or a test) → the engine's models, and the
checks of shift and leave specs that importers share. No I/O: files are read by
``handlers/dispatch/config.py``."""

from __future__ import annotations

from functools import lru_cache

from datetime import date, datetime
from typing import Any, Mapping

from .model import GeoPoint, Job, Technician
from .shifts import Leave, ShiftWindow, parse_hhmm, parse_weekdays

def _point(v: Any) -> GeoPoint | None:
    if v is None:
        return None
    if isinstance(v, dict) or isinstance(v, Mapping):  # dict first: typing's check is slow
        return GeoPoint(float(v["lat"]), float(v["lon"]))
    lat, lon = v
    return GeoPoint(float(lat), float(lon))


def _dt(v: Any) -> datetime | None:
    if v is None or isinstance(v, datetime):
        return v
    return datetime.fromisoformat(str(v))


def _date(v: Any) -> date:
    return v if isinstance(v, date) else date.fromisoformat(str(v))


def shifts_from(spec: list[Mapping[str, Any]]) -> tuple[ShiftWindow, ...]:
    """[{"days": "mon-fri", "start": "22:00", "end": "06:00"}, ...] -> one window per weekday."""
    return _shifts(tuple(_shift_key(s) for s in spec))


def _shift_key(s: Any) -> tuple[Any, Any, Any]:
    if not isinstance(s, dict) and not isinstance(s, Mapping):  # dict first: typing's check is slow
        raise TypeError(f"a shift must be a mapping, not {type(s).__name__}")
    days = s.get("days", "daily")
    return (tuple(days) if isinstance(days, list) else days), s["start"], s["end"]


@lru_cache(maxsize=4096)  # the same few shift specs, parsed once (the live pool has thousands)
def _shifts(spec: tuple[tuple[Any, Any, Any], ...]) -> tuple[ShiftWindow, ...]:
    out: list[ShiftWindow] = []
    for days, start_text, end_text in spec:
        start, end = parse_hhmm(start_text), parse_hhmm(end_text)
        out += [ShiftWindow(d, start, end)
                for d in parse_weekdays(list(days) if isinstance(days, tuple) else days)]
    return tuple(out)


SHIFT_KEYS = ("days", "start", "end")
LEAVE_KEYS = ("from", "to")


def _rows(spec: Any, what: str, plural: str,
          keys: tuple[str, ...]) -> tuple[list[tuple[str, Mapping[str, Any]]], list[str]]:
    """(("shift 1", row), ...) for the mapping rows of ``spec``, and the problems found so far."""
    if spec is None:
        return [], []
    example = "{" + ", ".join(keys) + "}"
    if not isinstance(spec, (list, tuple)):
        return [], [f"{plural} must be a list of {example} entries, got {type(spec).__name__}"]
    rows: list[tuple[str, Mapping[str, Any]]] = []
    problems: list[str] = []
    for i, row in enumerate(spec, 1):
        label = f"{what} {i}"
        if not isinstance(row, Mapping):
            problems.append(f"{label}: must be a mapping {example}, got {type(row).__name__} {row!r}")
            continue
        for key in row:
            if key not in keys:
                problems.append(f"{label}: unknown key {key!r} (allowed: {', '.join(keys)})")
        rows.append((label, row))
    return rows, problems


def _time_problem(label: str, key: str, v: Any) -> str | None:
    if isinstance(v, bool) or not isinstance(v, str):
        hint = (" (an unquoted 18:00 in YAML reads as a number: quote it)"
                if isinstance(v, int) and not isinstance(v, bool) else "")
        return f"{label}: {key} must be a time \"HH:MM\" as text, got {v!r}{hint}"
    try:
        parse_hhmm(v)
    except ValueError:
        return f"{label}: {key} {v!r} is not a time HH:MM between 00:00 and 24:00"
    return None


def shift_specs_problems(spec: Any) -> list[str]:
    """Human-readable problems in a list of shift specs (as ``shifts_from`` / ``technician_from_dict``
    take them), without raising: ``[]`` means ``shifts_from(spec)`` will accept it.

    Each entry is ``{"days": "mon-fri", "start": "09:00", "end": "18:00"}``; ``days`` is optional
    (default daily) and may be 'mon-fri', 'sat,sun', 'daily' or a list of names / 0..6 (0 = Monday);
    ``end <= start`` crosses midnight; ``24:00`` is only an end.  Problems name the entry 1-based:
    ``"shift 2: start '25:00' is not a time HH:MM between 00:00 and 24:00"``.
    """
    rows, problems = _rows(spec, "shift", "shifts", SHIFT_KEYS)
    for label, row in rows:
        days = row.get("days", "daily")
        if (isinstance(days, bool) or not isinstance(days, (str, list))
                or (isinstance(days, list) and any(isinstance(d, bool) or not isinstance(d, (str, int))
                                                   for d in days))):
            problems.append(f"{label}: days must be text like 'mon-fri', 'sat,sun', 'daily' or a list of "
                            f"weekdays, got {days!r}")
        else:
            try:
                if not parse_weekdays(days):
                    problems.append(f"{label}: days {days!r} names no weekday")
            except (ValueError, TypeError):
                problems.append(f"{label}: days {days!r} are not weekdays (use mon..sun, e.g. 'mon-fri', "
                                f"'sat,sun', 'daily', or 0..6 with 0 = Monday)")
        times: dict[str, int] = {}
        for key in ("start", "end"):
            if key not in row:
                problems.append(f"{label}: missing {key} (HH:MM)")
            elif (problem := _time_problem(label, key, row[key])) is not None:
                problems.append(problem)
            else:
                times[key] = parse_hhmm(row[key])
        if len(times) == 2:
            if times["start"] == 24 * 60:
                problems.append(f"{label}: start 24:00 is not allowed (24:00 can only be an end)")
            elif times["start"] == times["end"]:
                problems.append(f"{label}: start equals end ({row['start']}); use 00:00-24:00 for a whole day")
    return problems


def leave_specs_problems(spec: Any) -> list[str]:
    """Human-readable problems in a list of leave specs ``[{"from": "2026-11-20", "to": "2026-11-22"}]``
    (inclusive local dates, YYYY-MM-DD), without raising: ``[]`` means ``technician_from_dict``
    accepts them.  Problems name the entry 1-based: ``"leave 1: to 2026-11-19 is before from 2026-11-20"``.
    """
    rows, problems = _rows(spec, "leave", "leave", LEAVE_KEYS)
    for label, row in rows:
        dates: dict[str, date] = {}
        for key in LEAVE_KEYS:
            v = row.get(key)
            if key not in row:
                problems.append(f"{label}: missing {key} (YYYY-MM-DD)")
                continue
            if isinstance(v, datetime) or not isinstance(v, (str, date)):
                problems.append(f"{label}: {key} must be a date YYYY-MM-DD, got {v!r}")
                continue
            try:
                dates[key] = _date(v)
            except ValueError:
                problems.append(f"{label}: {key} {v!r} is not a valid date YYYY-MM-DD")
        if len(dates) == 2 and dates["to"] < dates["from"]:
            problems.append(f"{label}: to {dates['to'].isoformat()} is before from {dates['from'].isoformat()}")
    return problems


def technician_from_dict(d: Mapping[str, Any]) -> Technician:
    return Technician(
        id=str(d["id"]), name=str(d.get("name") or d["id"]),
        skills={str(k): int(v) for k, v in (d.get("skills") or {}).items()},
        regions=tuple(str(r) for r in d.get("regions") or ()),
        home=_point(d["home"]), capacity=int(d["capacity"]), load=int(d.get("load", 0)),
        last_known=_point(d.get("last_known")), last_seen_at=_dt(d.get("last_seen_at")),
        shifts=shifts_from(d.get("shifts") or ()),
        leave=tuple(Leave(_date(lv["from"]), _date(lv["to"])) for lv in d.get("leave") or ()),
        rating=None if d.get("rating") is None else float(d["rating"]),
        response_median_s=None if d.get("response_median_s") is None else float(d["response_median_s"]),
        jobs_today=int(d.get("jobs_today", 0)), offered=int(d.get("offered", 0)),
    )


def job_from_dict(d: Mapping[str, Any]) -> Job:
    return Job(id=str(d["id"]), category=str(d.get("category") or ""), skill=str(d["skill"]),
               min_level=int(d.get("min_level", 1)), region=str(d["region"]),
               location=_point(d.get("location")), at=_dt(d.get("at")))
