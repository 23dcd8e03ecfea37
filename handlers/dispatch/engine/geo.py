"""Distances and ETA.  Functions take floats or numpy arrays alike, so the plain loop and the
vectorised index compute bit-identical values from one definition."""

from __future__ import annotations

import math
from typing import TypeVar

import numpy as np

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)

F = TypeVar("F", float, np.ndarray)


def haversine_km(lat1: F, lon1: F, lat2: float, lon2: float) -> F:
    """Great-circle distance in km between (lat1, lon1) and (lat2, lon2) (degrees)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(lon2) - np.radians(lon1)
    s_phi, s_lmb = np.sin(dphi / 2.0), np.sin(dlmb / 2.0)
    # x * x, not x ** 2: numpy's scalar power and array square can differ by one ulp
    a = s_phi * s_phi + np.cos(p1) * np.cos(p2) * (s_lmb * s_lmb)
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


def is_fresh(age_s: F, fresh_hours: float) -> F:
    """Whether a last-known location ``age_s`` seconds old is used (NaN = never seen -> False)."""
    return age_s <= fresh_hours * 3600.0


def eta_minutes(distance_km: float, speed_kmh: float = 25.0, overhead_min: float = 10.0) -> int:
    """Rough minutes until arrival, for telling the customer: overhead + travel, rounded up.

    25 km/h is a city average for a scooter / car including traffic; the overhead covers
    accepting, packing tools and parking.
    """
    if distance_km < 0 or speed_kmh <= 0 or overhead_min < 0:
        raise ValueError("distance and overhead must be >= 0 and speed > 0")
    return math.ceil(round(overhead_min + distance_km / speed_kmh * 60.0, 6))
