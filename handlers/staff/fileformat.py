"""Technicians and dispatchers from a file: ``python main.py staff import|export FILE``.

Managers keep their people in a spreadsheet (CSV, UTF-8 with or without the BOM Excel adds) or
in YAML (a list of mappings); both use the field names of ``FIELDS``. ``read_staff_file``
validates every row and collects every problem, each naming the file, the line and the field
(``staff.csv:4: skills: level 7 for 'aircon' is not in 1..5``), and raises ``StaffFileError``
with all of them. ``import_staff`` upserts by ``userid``: people not in the file are left alone,
and the live location (``last_lat``/``last_lon``/``last_seen_at``) is never touched.
``export_staff`` writes exactly what the importer reads, so export → import changes nothing.
The formats are described in docs/staff.md.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, Final

import yaml
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from handlers.dispatch.engine.specs import leave_specs_problems, shift_specs_problems
from handlers.dispatch.engine.regions import normalise_region
from handlers.dispatch.engine.shifts import parse_hhmm, parse_weekdays
from models.tickets import STAFF_ROLES, Staff

# CSV header order = YAML key order on export.
FIELDS: Final = ("userid", "name", "roles", "phone", "extension", "provider", "skills",
                 "regions", "home", "capacity", "rating", "shifts", "leave", "active")
# Taken verbatim from the YAML text (``phone: 13900000001``, ``extension: 0701``, ``name: yes``
# stay text instead of becoming numbers or booleans).
_TEXT_FIELDS: Final = ("userid", "name", "phone", "extension", "provider")
FORMATS: Final = (".csv", ".yaml", ".yml")

_USERID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")  # WeCom's rule for a userid
_SKILL_TAG = re.compile(r"[a-z][a-z0-9_]*")
_SHIFT_TEXT = re.compile(r"(?P<days>.*?)\s*(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})")
_LIST_SEP = re.compile(r"[;；,，]")  # roles, regions, skills
_ITEM_SEP = re.compile(r"[;；]")  # shifts and leave (their days may contain commas)
_WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TRUE: Final = ("true", "yes", "1")
_FALSE: Final = ("false", "no", "0")


class StaffFileError(Exception):
    """Everything wrong with a staff file, one line per problem: ``file:line: field: message``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


@dataclass
class StaffRow:
    """One person as the file describes them; ``line`` is where (for messages only)."""

    userid: str
    name: str = ""
    roles: list[str] = field(default_factory=list)
    phone: str | None = None
    extension: str | None = None
    provider: str = ""
    skills: dict[str, int] = field(default_factory=dict)
    regions: list[str] = field(default_factory=list)
    home: tuple[float, float] | None = None
    capacity: int = 0
    rating: float | None = None
    shifts: list[dict[str, str]] = field(default_factory=list)
    leave: list[dict[str, str]] = field(default_factory=list)
    active: bool = True
    line: int = field(default=0, compare=False)

    def columns(self) -> dict[str, Any]:
        """The ``Staff`` column values this row sets (everything but ``userid`` and the live
        location)."""
        lat, lon = self.home if self.home is not None else (None, None)
        return {"name": self.name, "roles": list(self.roles), "phone": self.phone,
                "extension": self.extension, "provider": self.provider,
                "skills": dict(self.skills), "regions": list(self.regions),
                "home_lat": lat, "home_lon": lon, "capacity": self.capacity,
                "rating": self.rating, "shifts": [dict(s) for s in self.shifts],
                "leave": [dict(lv) for lv in self.leave], "active": self.active}

    @classmethod
    def from_staff(cls, s: Staff) -> StaffRow:
        home = (s.home_lat, s.home_lon) if s.home_lat is not None and s.home_lon is not None \
            else None
        return cls(userid=s.userid, name=s.name or "", roles=list(s.roles or []), phone=s.phone,
                   extension=s.extension, provider=s.provider or "",
                   skills=dict(s.skills or {}), regions=list(s.regions or []), home=home,
                   capacity=s.capacity, rating=s.rating, shifts=list(s.shifts or []),
                   leave=list(s.leave or []), active=s.active)


# -- reading --------------------------------------------------------------------------------


def read_staff_file(path: str | Path) -> list[StaffRow]:
    """Every row of a ``.csv`` / ``.yaml`` / ``.yml`` staff file, validated.

    Raises ``StaffFileError`` listing every problem (in file order) if there is any.
    """
    p, where = Path(path), str(path)
    suffix = staff_format(p)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise StaffFileError([f"{where}: cannot read ({exc.strerror})"]) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise StaffFileError([f"{where}:{line}: not UTF-8 text (in Excel save as "
                              f"'CSV UTF-8 (Comma delimited)')"]) from None
    records, problems = (_csv_records if suffix == ".csv" else _yaml_records)(text, where)
    rows: list[StaffRow] = []
    seen: dict[str, int] = {}
    for line, raw in records:
        row, bad = _row(raw, line)
        problems += [f"{where}:{line}: {b}" for b in bad]
        userid = raw.get("userid")
        if isinstance(userid, str) and userid.strip():
            key = userid.strip().casefold()  # WeCom userids are case-insensitive
            if key in seen:
                problems.append(f"{where}:{line}: userid: {userid.strip()!r} is already on "
                                f"line {seen[key]}")
                continue
            seen[key] = line
        if row is not None:
            rows.append(row)
    if problems:
        raise StaffFileError(sorted(problems, key=lambda p: _line_of(p, where)))
    return rows


def _line_of(problem: str, where: str) -> int:
    number = problem[len(where) + 1:].split(":", 1)[0]
    return int(number) if number.isdigit() else 0


def staff_format(path: str | Path) -> str:
    """``.csv``, ``.yaml`` or ``.yml`` (lower case) from the file name, else ``StaffFileError``."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in FORMATS:
        raise StaffFileError([f"{p}: unknown format {p.suffix or '(no extension)'!r}: "
                              f"use .csv, .yaml or .yml"])
    return suffix


Records = tuple[list[tuple[int, dict[str, Any]]], list[str]]


def _csv_records(text: str, where: str) -> Records:
    """(line, {column: text or None}) per non-blank row; line counts the header as 1."""
    reader = csv.reader(io.StringIO(text, newline=""))
    problems: list[str] = []
    records: list[tuple[int, dict[str, Any]]] = []
    try:
        header = next(reader, None)
        if header is None:
            return [], []
        columns = [h.strip().lower() for h in header]
        for i, name in enumerate(columns):
            if name and name not in FIELDS:
                problems.append(f"{where}:1: {name}: unknown column (columns: "
                                f"{', '.join(FIELDS)})")
            elif name and name in columns[:i]:
                problems.append(f"{where}:1: {name}: column appears twice")
        if "userid" not in columns:
            problems.append(f"{where}:1: userid: missing column (every row needs a userid)")
        start = reader.line_num + 1
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not any(c.strip() for c in cells):
                continue  # blank lines, and the ",,,," rows spreadsheets leave at the end
            for i, cell in enumerate(cells):
                if cell.strip() and (i >= len(columns) or not columns[i]):
                    problems.append(f"{where}:{line}: cell {i + 1} ({cell.strip()!r}) has no "
                                    f"column name in the header")
                    break
            records.append((line, {name: (cell.strip() or None)
                                   for name, cell in zip(columns, cells) if name in FIELDS}))
    except csv.Error as exc:
        problems.append(f"{where}:{reader.line_num}: not valid CSV ({exc})")
    return records, problems


def _yaml_records(text: str, where: str) -> Records:
    """(line of the mapping, {key: value}) per list entry; text fields keep their YAML text."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        return [], [f"{where}:{line}: not valid YAML ({getattr(exc, 'problem', None) or exc})"]
    if root is None:
        return [], []
    if not isinstance(root, yaml.SequenceNode):
        return [], [f"{where}:{root.start_mark.line + 1}: expected a list of people "
                    f"(- userid: …), got a {_node_kind(root)}"]
    constructor = yaml.constructor.SafeConstructor()
    problems: list[str] = []
    records: list[tuple[int, dict[str, Any]]] = []
    for node in root.value:
        line = node.start_mark.line + 1
        if not isinstance(node, yaml.MappingNode):
            problems.append(f"{where}:{line}: expected a mapping of fields (userid: …), got a "
                            f"{_node_kind(node)}")
            continue
        raw: dict[str, Any] = {}
        for knode, vnode in node.value:
            key = str(knode.value)
            if key not in FIELDS:
                problems.append(f"{where}:{line}: {key}: unknown field (fields: "
                                f"{', '.join(FIELDS)})")
                continue
            if key in raw:
                problems.append(f"{where}:{line}: {key}: given twice")
                continue
            try:
                value = constructor.construct_object(vnode, deep=True)
            except (yaml.YAMLError, ValueError) as exc:
                problems.append(f"{where}:{line}: {key}: cannot read {vnode.value!r} ({exc})")
                continue
            if key in _TEXT_FIELDS and isinstance(vnode, yaml.ScalarNode) and value is not None:
                value = vnode.value  # as written: 0701 stays '0701', yes stays 'yes'
            raw[key] = value
        records.append((line, raw))
    return records, problems


def _node_kind(node: yaml.Node) -> str:
    return {yaml.MappingNode: "mapping", yaml.SequenceNode: "list"}.get(type(node), "value")


# -- validating one row ---------------------------------------------------------------------


def _row(raw: Mapping[str, Any], line: int) -> tuple[StaffRow | None, list[str]]:
    """The row, or None and its problems (``field: message``)."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name in FIELDS:
        v = raw.get(name)
        if isinstance(v, str):
            v = v.strip() or None
        bad: list[str] = []
        values[name] = _PARSERS[name](v, bad)
        problems += [f"{name}: {b}" for b in bad]
    failed = {p.split(":", 1)[0] for p in problems}
    if "technician" in (values["roles"] or ()):
        if values["home"] is None and "home" not in failed:
            problems.append("home: required for technicians (lat,lon, e.g. 31.2304,121.4737)")
        if "capacity" not in failed and values["capacity"] < 1:
            problems.append(f"capacity: technicians need a capacity of at least 1 open job, "
                            f"got {values['capacity']}")
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


def _days_text(days: Any) -> str:
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
        out.append({"days": _days_text(s.get("days", "daily")),
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


_PARSERS: Final[dict[str, Callable[[Any, list[str]], Any]]] = {
    "userid": _userid, "name": _name, "roles": _roles, "phone": _phone,
    "extension": _extension, "provider": _provider, "skills": _skills, "regions": _regions,
    "home": _home, "capacity": _capacity, "rating": _rating, "shifts": _shifts,
    "leave": _leave, "active": _active,
}


# -- the database ---------------------------------------------------------------------------


async def import_staff(session: AsyncSession, rows: Sequence[StaffRow],
                       now: datetime) -> tuple[int, int]:
    """Upsert ``rows`` by ``userid`` in the caller's transaction: (created, updated).

    A row replaces every imported field of the person (an empty cell clears it); people not in
    the file are left alone, and the live location (``last_lat``/``last_lon``/``last_seen_at``)
    is never touched. Rows that change nothing count as neither. ``now`` is the import's time
    (``Staff`` keeps no timestamps yet; it is here so the callers need not change when it does).
    """
    del now
    # WeCom userids are case-insensitive: "LiShiFu" in the database is "lishifu" in the file
    # (the stored spelling is kept).
    existing: dict[str, Staff] = {}
    userids = [r.userid.lower() for r in rows]
    for i in range(0, len(userids), 500):
        result = await session.execute(
            select(Staff).where(func.lower(Staff.userid).in_(userids[i:i + 500])))
        existing.update({s.userid.lower(): s for s in result.scalars()})
    created = updated = 0
    for row in rows:
        values = row.columns()
        staff = existing.get(row.userid.lower())
        if staff is None:
            session.add(Staff(userid=row.userid, **values))
            created += 1
            continue
        changed = False
        for key, value in values.items():
            if getattr(staff, key) != value:
                setattr(staff, key, value)
                changed = True
        updated += changed
    await session.flush()
    return created, updated


async def export_staff(session: AsyncSession, path: str | Path) -> int:
    """Write every person to ``path`` (CSV or YAML by its extension) in the importer's format;
    the number written. The file is replaced whole (written beside it, then renamed)."""
    p = Path(path)
    suffix = staff_format(p)
    staff = (await session.execute(select(Staff).order_by(col(Staff.id)))).scalars().all()
    rows = [StaffRow.from_staff(s) for s in staff]
    tmp = p.with_name(p.name + ".tmp")
    if suffix == ".csv":
        # With a BOM: Excel then opens the Chinese names as UTF-8.
        tmp.write_text(staff_csv(rows), encoding="utf-8-sig", newline="")
    else:
        tmp.write_text(staff_yaml(rows), encoding="utf-8")
    os.replace(tmp, p)
    return len(rows)


# -- writing --------------------------------------------------------------------------------


def _num(x: float) -> str:
    return repr(float(x))


def csv_cells(row: StaffRow) -> list[str]:
    """One row's cells in ``FIELDS`` order, in the CSV encodings the importer reads."""
    return [
        row.userid, row.name, ";".join(row.roles), row.phone or "", row.extension or "",
        row.provider, ";".join(f"{tag}:{level}" for tag, level in row.skills.items()),
        ";".join(row.regions),
        f"{_num(row.home[0])},{_num(row.home[1])}" if row.home is not None else "",
        str(row.capacity), "" if row.rating is None else _num(row.rating),
        ";".join(f"{_days_text(s.get('days', 'daily'))} {s.get('start')}-{s.get('end')}"
                 for s in row.shifts),
        ";".join(f"{lv.get('from')}..{lv.get('to')}" for lv in row.leave),
        "true" if row.active else "false",
    ]


def staff_csv(rows: Sequence[StaffRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FIELDS)
    writer.writerows(csv_cells(r) for r in rows)
    return out.getvalue()


def yaml_entry(row: StaffRow) -> dict[str, Any]:
    """One row as the YAML mapping the importer reads; empty optional fields are left out."""
    entry: dict[str, Any] = {"userid": row.userid}
    optional: dict[str, Any] = {
        "name": row.name, "roles": list(row.roles), "phone": row.phone,
        "extension": row.extension, "provider": row.provider, "skills": dict(row.skills),
        "regions": list(row.regions),
        "home": {"lat": row.home[0], "lon": row.home[1]} if row.home is not None else None}
    entry |= {k: v for k, v in optional.items() if v not in (None, "", [], {})}
    entry["capacity"] = row.capacity
    if row.rating is not None:
        entry["rating"] = row.rating
    if row.shifts:
        entry["shifts"] = [{"days": _days_text(s.get("days", "daily")), "start": s.get("start"),
                            "end": s.get("end")} for s in row.shifts]
    if row.leave:
        entry["leave"] = [{"from": lv.get("from"), "to": lv.get("to")} for lv in row.leave]
    entry["active"] = row.active
    return entry


def staff_yaml(rows: Sequence[StaffRow]) -> str:
    head = "# Staff, written by `python main.py staff export` (format: docs/staff.md).\n"
    if not rows:
        return head + "[]\n"
    return head + yaml.safe_dump([yaml_entry(r) for r in rows], allow_unicode=True,
                                 sort_keys=False, default_flow_style=None, width=100)
