"""Score parts, each normalised to 0..1 (1 = best), and the weighted total.

Every function takes floats or numpy arrays (unknown distance / response / rating = NaN), so
the plain loop and the vectorised index share one definition and produce bit-identical numbers.

    distance  h / (h + km)                       h = distance_half_km (5 km -> 0.5);
                                                 job without coordinates -> distance_unknown
    skill     (level - 1) / 4                    level 1 -> 0, 5 -> 1
    load      1 - busy / capacity, at least 0    busy = jobs held + offers awaiting an answer;
                                                 idle -> 1
    response  (slow - median) / (slow - fast)    clipped to 0..1; unknown -> response_unknown
    rating    (rating - 1) / 4                   unknown -> rating_unknown
    fairness  1 - min(jobs_today, cap) / cap     none today -> 1, cap or more -> 0
    total     sum(w_p * part_p) / sum(w_p)       0..1
"""

from __future__ import annotations

from typing import Mapping, TypeVar

import numpy as np

from .config import PARTS, Normalisation, Weights

F = TypeVar("F", float, np.ndarray)


def distance_part(km: F, norm: Normalisation) -> F:
    h = norm.distance_half_km
    return np.where(np.isnan(km), norm.distance_unknown, h / (h + km))


def skill_part(level: F) -> F:
    return (level - 1.0) / 4.0


def load_part(load: F, capacity: F) -> F:
    """0 at capacity or beyond (offers awaiting an answer may go past it when everyone who
    could take the job is full of them: ``offers_fill=False``)."""
    return np.maximum(0.0, 1.0 - load / capacity)


def response_part(median_s: F, norm: Normalisation) -> F:
    fast, slow = norm.response_fast_s, norm.response_slow_s
    known = np.clip((slow - median_s) / (slow - fast), 0.0, 1.0)
    return np.where(np.isnan(median_s), norm.response_unknown, known)


def rating_part(rating: F, norm: Normalisation) -> F:
    known = np.clip((rating - 1.0) / 4.0, 0.0, 1.0)
    return np.where(np.isnan(rating), norm.rating_unknown, known)


def fairness_part(jobs_today: F, norm: Normalisation) -> F:
    cap = norm.fairness_jobs_cap
    return 1.0 - np.minimum(jobs_today, cap) / cap


def score_parts(distance_km: F, level: F, load: F, capacity: F, response_s: F, rating: F,
                jobs_today: F, norm: Normalisation) -> dict[str, F]:
    return {
        "distance": distance_part(distance_km, norm),
        "skill": skill_part(level),
        "load": load_part(load, capacity),
        "response": response_part(response_s, norm),
        "rating": rating_part(rating, norm),
        "fairness": fairness_part(jobs_today, norm),
    }


def total_score(parts: Mapping[str, F], weights: Weights) -> F:
    w = weights.as_dict()
    acc = 0.0
    for p in PARTS:
        acc = acc + w[p] * parts[p]
    return acc / weights.sum()


def contributions(parts: Mapping[str, float], weights: Weights) -> dict[str, float]:
    """Each part's share of the total (they add up to the total)."""
    w, s = weights.as_dict(), weights.sum()
    return {p: w[p] * float(parts[p]) / s for p in PARTS}


def nan_if_none(x: float | None) -> float:
    return float("nan") if x is None else float(x)
