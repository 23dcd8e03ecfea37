"""The only module that reads files: the YAML config and technician / job data (JSON or YAML),
plus the dict -> model converters they use."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any, Mapping

import yaml

from .config import DispatchConfig, parse_config
from .model import GeoPoint, Job, Technician
from .shifts import Leave, ShiftWindow, parse_hhmm, parse_weekdays

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "dispatch.yaml"


def load_config(path: str | Path = DEFAULT_CONFIG) -> DispatchConfig:
    p = Path(path)
    return parse_config(p.read_text(encoding="utf-8"), str(path))


def _point(v: Any) -> GeoPoint | None:
    if v is None:
        return None
    if isinstance(v, Mapping):
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
    out: list[ShiftWindow] = []
    for s in spec:
        start, end = parse_hhmm(s["start"]), parse_hhmm(s["end"])
        out += [ShiftWindow(d, start, end)
                for d in parse_weekdays(s.get("days", "daily"))]
    return tuple(out)


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
        jobs_today=int(d.get("jobs_today", 0)),
    )


def job_from_dict(d: Mapping[str, Any]) -> Job:
    return Job(id=str(d["id"]), category=str(d.get("category") or ""), skill=str(d["skill"]),
               min_level=int(d.get("min_level", 1)), region=str(d["region"]),
               location=_point(d["location"]), at=_dt(d.get("at")))


def load_technicians(path: str | Path) -> list[Technician]:
    """A JSON or YAML list of technician dicts (or JSON Lines, one per line, for .jsonl)."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    if p.suffix == ".jsonl":
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    elif p.suffix == ".json":
        rows = json.loads(text)
    else:
        rows = yaml.safe_load(text)
    return [technician_from_dict(r) for r in rows]
