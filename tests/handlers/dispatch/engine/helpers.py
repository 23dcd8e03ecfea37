"""Builders for small, readable scenarios."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from handlers.dispatch.engine import GeoPoint, Job, ShiftWindow, Technician
from handlers.dispatch.engine.shifts import TZ

NOW = datetime(2026, 11, 18, 10, 0, tzinfo=TZ)  # Wednesday 10:00 Shanghai
JOB_AT = GeoPoint(31.2000, 121.4500)
ALL_DAY = tuple(ShiftWindow(d, 0, 24 * 60) for d in range(7))


def km_north(km: float, of: GeoPoint = JOB_AT) -> GeoPoint:
    return GeoPoint(of.lat + km / 111.195, of.lon)


def tech(id: str = "T1", **over: Any) -> Technician:
    base: dict[str, Any] = dict(
        name=f"{id}师傅", skills={"aircon": 3}, regions=("310100",), home=km_north(2.0),
        capacity=5, load=1, shifts=ALL_DAY, rating=4.5, response_median_s=300.0, jobs_today=1,
    )
    base.update(over)
    return Technician(id=id, **base)


def job(**over: Any) -> Job:
    base: dict[str, Any] = dict(id="J1", category="repair", skill="aircon", min_level=3,
                                region="310115", location=JOB_AT)
    base.update(over)
    return Job(**base)


def hours_ago(h: float) -> datetime:
    return NOW - timedelta(hours=h)
