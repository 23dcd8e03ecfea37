"""Input model: technicians and jobs (plain, immutable values; no I/O)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Mapping

from .regions import normalise_region
from .shifts import Leave, ShiftWindow, WeeklySchedule

MIN_LEVEL, MAX_LEVEL = 1, 5
MIN_RATING, MAX_RATING = 1.0, 5.0


def _aware(dt: datetime, what: str) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {dt.isoformat()}")
    return dt


def _check_latlon(lat: float, lon: float, what: str) -> None:
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"{what}: invalid coordinates ({lat}, {lon})")


@dataclass(frozen=True, slots=True)
class GeoPoint:
    lat: float
    lon: float

    def __post_init__(self) -> None:
        _check_latlon(self.lat, self.lon, "GeoPoint")


@dataclass(frozen=True)
class Technician:
    """One technician as the dispatcher sees them at decision time.

    ``skills`` maps a skill tag to a level 1..5.  ``regions`` are 6-digit administrative codes;
    a city code (310100) covers its districts (3101xx), a province code (310000) its whole
    province.  ``last_known`` is used instead of ``home`` only when ``last_seen_at`` is fresh.
    ``response_median_s`` is the median seconds-to-accept over the last 3 days (None = unknown,
    scored neutral); ``rating`` None = unrated (neutral).  ``offered``: offers made to them
    and not yet answered (one at a time, 接单 / 拒单 / 转派; not 抢单 broadcasts), counted with
    ``load`` against ``capacity`` and in the load score (``busy``), so that a burst of jobs in one
    place is spread over the technicians there instead of queueing on the best-placed one.
    """

    id: str
    name: str
    skills: Mapping[str, int]
    regions: tuple[str, ...]
    home: GeoPoint
    capacity: int
    load: int = 0
    last_known: GeoPoint | None = None
    last_seen_at: datetime | None = None
    shifts: tuple[ShiftWindow, ...] = ()
    leave: tuple[Leave, ...] = ()
    rating: float | None = None
    response_median_s: float | None = None
    jobs_today: int = 0
    offered: int = 0
    schedule: WeeklySchedule = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("technician id must not be empty")
        for tag, level in self.skills.items():
            if not isinstance(level, int) or not MIN_LEVEL <= level <= MAX_LEVEL:
                raise ValueError(f"technician {self.id}: skill {tag!r} level {level!r} not in 1..5")
        object.__setattr__(self, "skills", MappingProxyType(dict(self.skills)))
        object.__setattr__(self, "regions", tuple(normalise_region(r) for r in self.regions))
        if min(self.capacity, self.load, self.jobs_today, self.offered) < 0:
            raise ValueError(f"technician {self.id}: capacity, load, jobs_today and offered "
                             "must be >= 0")
        if self.rating is not None and not MIN_RATING <= self.rating <= MAX_RATING:
            raise ValueError(f"technician {self.id}: rating {self.rating} not in 1..5")
        if self.response_median_s is not None and not self.response_median_s >= 0:
            raise ValueError(f"technician {self.id}: response_median_s must be >= 0")
        if (self.last_known is None) != (self.last_seen_at is None):
            raise ValueError(f"technician {self.id}: last_known and last_seen_at go together")
        if self.last_seen_at is not None:
            _aware(self.last_seen_at, f"technician {self.id}: last_seen_at")
        object.__setattr__(self, "shifts", tuple(self.shifts))
        object.__setattr__(self, "leave", tuple(self.leave))
        object.__setattr__(self, "schedule", WeeklySchedule.from_windows(self.shifts))

    @property
    def busy(self) -> int:
        """What counts against ``capacity``: the jobs held and the offers awaiting an answer."""
        return self.load + self.offered


@dataclass(frozen=True)
class Job:
    """A work order to place.  ``at`` is when the work happens (None = now, i.e. urgent).

    ``location`` None = the address has no coordinates (not geocoded): distance is not
    computable, scored ``normalisation.distance_unknown`` (neutral) for everyone, no ETA.
    """

    id: str
    category: str
    skill: str
    min_level: int
    region: str
    location: GeoPoint | None = None
    at: datetime | None = None

    def __post_init__(self) -> None:
        if not MIN_LEVEL <= self.min_level <= MAX_LEVEL:
            raise ValueError(f"job {self.id}: min_level {self.min_level} not in 1..5")
        object.__setattr__(self, "region", normalise_region(self.region))
        if self.at is not None:
            _aware(self.at, f"job {self.id}: at")

    def when(self, now: datetime) -> datetime:
        """The moment shifts and leave are checked at."""
        return self.at if self.at is not None else _aware(now, "now")


