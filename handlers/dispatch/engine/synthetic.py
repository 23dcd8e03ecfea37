"""Seeded random technicians and jobs (for the benchmark and property tests; no I/O)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta

from .model import GeoPoint, Job, Technician
from .shifts import TZ, Leave, ShiftWindow

# city code -> (centre lat, lon, districts)
CITIES: dict[str, tuple[float, float, tuple[str, ...]]] = {
    "310100": (31.23, 121.47, ("310101", "310104", "310105", "310106", "310107", "310109",
                               "310110", "310112", "310113", "310115", "310117")),
    "110100": (39.90, 116.40, ("110101", "110102", "110105", "110106", "110108", "110114")),
    "440300": (22.54, 114.06, ("440303", "440304", "440305", "440306", "440307")),
    "330100": (30.27, 120.16, ("330102", "330105", "330106", "330108", "330110")),
}
SKILLS = ("aircon", "hood", "coffee", "washer", "water_heater", "plumbing")
CATEGORIES = ("install", "repair", "cleaning", "inspection")
NAMES = "李王张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=TZ)  # a Wednesday morning


def _near(rng: random.Random, lat: float, lon: float, km: float) -> GeoPoint:
    return GeoPoint(round(lat + rng.uniform(-km, km) / 111.0, 6), round(lon + rng.uniform(-km, km) / 95.0, 6))


def _shifts(rng: random.Random) -> tuple[ShiftWindow, ...]:
    kind = rng.random()
    if kind < 0.45:   # weekday days
        return tuple(ShiftWindow(d, 8 * 60, 18 * 60) for d in range(5))
    if kind < 0.70:   # daily afternoon/evening
        return tuple(ShiftWindow(d, 14 * 60, 22 * 60) for d in range(7))
    if kind < 0.85:   # nights across midnight
        return tuple(ShiftWindow(d, 20 * 60, 6 * 60) for d in range(7))
    if kind < 0.95:   # weekends only
        return (ShiftWindow(5, 0, 24 * 60), ShiftWindow(6, 0, 24 * 60))
    return tuple(ShiftWindow(d, 0, 24 * 60) for d in range(7))  # always on


def random_technicians(n: int, seed: int = 1, now: datetime = NOW) -> list[Technician]:
    rng = random.Random(seed)
    cities = list(CITIES)
    out: list[Technician] = []
    for i in range(n):
        city = rng.choice(cities)
        lat, lon, districts = CITIES[city]
        r = rng.random()
        if r < 0.05:
            regions: tuple[str, ...] = (city[:2] + "0000",)
        elif r < 0.30:
            regions = (city,)
        else:
            regions = tuple(rng.sample(districts, rng.randint(1, 3)))
        home = _near(rng, lat, lon, 25)
        seen = rng.random()
        last_known = last_seen = None
        if seen < 0.75:
            last_known = _near(rng, home.lat, home.lon, 8)
            last_seen = now - timedelta(minutes=rng.randint(0, 12 * 60))
        capacity = rng.randint(3, 8)
        leave: tuple[Leave, ...] = ()
        if rng.random() < 0.05:
            start = now.date() + timedelta(days=rng.randint(-3, 1))
            leave = (Leave(start, start + timedelta(days=rng.randint(0, 3))),)
        out.append(Technician(
            id=f"T{i:05d}", name=f"{NAMES[i % len(NAMES)]}师傅{i}",
            skills={s: rng.randint(1, 5) for s in rng.sample(SKILLS, rng.randint(1, 3))},
            regions=regions, home=home, capacity=capacity, load=rng.randint(0, capacity),
            last_known=last_known, last_seen_at=last_seen, shifts=_shifts(rng), leave=leave,
            rating=None if rng.random() < 0.1 else round(rng.uniform(3.0, 5.0), 1),
            response_median_s=None if rng.random() < 0.15 else round(rng.lognormvariate(6.0, 0.9)),
            jobs_today=rng.randint(0, 8),
        ))
    return out


def random_jobs(n: int, seed: int = 2, now: datetime = NOW, unlocated: float = 0.0) -> list[Job]:
    """``unlocated``: the fraction of jobs whose address has no coordinates (location None).
    At 0 (the default) the jobs are exactly those of earlier versions, so bench figures compare."""
    if not 0.0 <= unlocated <= 1.0:
        raise ValueError("unlocated must be in 0..1")
    rng = random.Random(seed)
    cities = list(CITIES)
    jobs: list[Job] = []
    for i in range(n):
        lat, lon, districts = CITIES[rng.choice(cities)]
        at = None if rng.random() < 0.6 else now + timedelta(minutes=rng.randint(0, 3 * 24 * 60))
        j = Job(id=f"J{i:05d}", category=rng.choice(CATEGORIES), skill=rng.choice(SKILLS),
                min_level=rng.randint(1, 4), region=rng.choice(districts),
                location=_near(rng, lat, lon, 20), at=at)
        if unlocated and rng.random() < unlocated:  # no extra draw at 0: same stream as before
            j = replace(j, location=None)
        jobs.append(j)
    return jobs


def random_exclusions(rng: random.Random, techs: list[Technician], count: int) -> tuple[str, ...]:
    return tuple(t.id for t in rng.sample(techs, count))


