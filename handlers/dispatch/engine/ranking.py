"""The plain-Python reference ranking (used by tests and the bench) and the pieces the index
shares with it: location choice, candidate building, ordering, the decision record."""

from __future__ import annotations

import dataclasses
import math
from datetime import datetime
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Sequence

import numpy as np

from .config import DispatchConfig, Profile, Weights, as_profile
from .filters import FILTERS, first_failing, rejection_detail
from .geo import eta_minutes, haversine_km, is_fresh
from .model import Job, Technician
from .record import Candidate, DispatchDecision, Facts, Rejection
from .scoring import F, contributions, nan_if_none, score_parts, total_score
from .shifts import local

if TYPE_CHECKING:
    from .index import TechnicianIndex

WeightsLike = Weights | DispatchConfig | Profile | None
Offered = Mapping[str, int] | None  # offers awaiting each technician's answer (model.py ``offered``)


def with_offered(tech: Technician, offered: Offered) -> Technician:
    """``tech`` with the offers awaiting their answer as ``offered`` says (a technician it does
    not name keeps what they carry)."""
    n = offered.get(tech.id) if offered else None
    return tech if n is None or n == tech.offered else dataclasses.replace(tech, offered=n)


def location_age_s(tech: Technician, now: datetime) -> float:
    """Seconds since the last-known fix (NaN when never seen)."""
    if tech.last_seen_at is None:
        return float("nan")
    return (now - tech.last_seen_at).total_seconds()


def order_key(total: float, distance_km: float, tech_id: str) -> tuple[float, float, str]:
    """Best first: higher total, then nearer, then technician id (deterministic ties).

    An unknown distance (NaN: the job has no coordinates, so it is NaN for every candidate)
    sorts as +inf, so such ties go by id; NaN itself would make the sort order arbitrary."""
    return (-total, math.inf if math.isnan(distance_km) else distance_km, tech_id)


def job_distances(job: Job, lat: F, lon: F) -> F:
    """Haversine km from (lat, lon) to the job, or NaN (unknown) when the job has no coordinates."""
    if job.location is None:
        return np.full_like(lat, np.nan) if isinstance(lat, np.ndarray) else math.nan
    return haversine_km(lat, lon, job.location.lat, job.location.lon)


def skill_label(job: Job, profile: Profile) -> str:
    return profile.skill_labels.get(job.skill, job.skill)


def make_candidate(rank: int, tech: Technician, job: Job, distance_km: float, age_s: float,
                   used_last_known: bool, parts: dict[str, float], total: float,
                   profile: Profile) -> Candidate:
    known = not math.isnan(distance_km)
    facts = Facts(
        distance_km=float(distance_km) if known else None,
        location_source="last_known" if used_last_known else "home",
        location_age_h=None if age_s != age_s else round(age_s / 3600.0, 3),
        skill_level=int(tech.skills.get(job.skill, 0)),
        load=tech.load, capacity=tech.capacity, offered=tech.offered,
        response_median_s=tech.response_median_s, rating=tech.rating, jobs_today=tech.jobs_today,
        eta_min=eta_minutes(float(distance_km)) if known else None,
    )
    parts = {p: float(v) for p, v in parts.items()}
    return Candidate(tech.id, tech.name, rank, float(total), parts,
                     contributions(parts, profile.weights), facts)


def make_rejection(tech: Technician, reason: str, job: Job, when: datetime, profile: Profile) -> Rejection:
    return Rejection(tech.id, tech.name, reason,
                     rejection_detail(reason, tech, job, when, skill_label(job, profile)))


def build_decision(job: Job, now: datetime, when: datetime, profile: Profile, *, engine: str,
                   pool_size: int, eligible_count: int, candidates: Sequence[Candidate],
                   rejected_counts: dict[str, int],
                   rejected: Callable[[int | None], tuple[Rejection, ...]]) -> DispatchDecision:
    return DispatchDecision(
        job={"id": job.id, "category": job.category, "skill": job.skill, "min_level": job.min_level,
             "region": job.region,
             "lat": job.location.lat if job.location else None,
             "lon": job.location.lon if job.location else None,
             "at": local(when).isoformat(), "scheduled": job.at is not None},
        decided_at=local(now).isoformat(), mode="assign", engine=engine,
        category=profile.category, skill_label=skill_label(job, profile),
        category_label=profile.category_labels.get(job.category, job.category),
        weights=profile.weights.as_dict(), normalisation=profile.norm.as_dict(),
        location_fresh_hours=profile.location_fresh_hours,
        pool_size=pool_size, eligible_count=eligible_count, candidates=tuple(candidates),
        rejected_counts={f: rejected_counts.get(f, 0) for f in FILTERS},
        _rejected_source=rejected,
    )


def rank(job: Job, technicians: Iterable[Technician], weights: WeightsLike, now: datetime,
         k: int = 5, exclude: Iterable[str] = (), offered: Offered = None,
         offers_fill: bool = True) -> DispatchDecision:
    """Reference implementation: one technician at a time, filters then score. ``offered``:
    the offers awaiting each technician's answer, in place of what they carry; with
    ``offers_fill`` False they weigh in the load score but do not fill a capacity."""
    if k < 1:
        raise ValueError("k must be >= 1")
    profile = as_profile(weights, job.category)
    when = job.when(now)
    excluded = frozenset(exclude)
    rejected: list[Rejection] = []
    counts: dict[str, int] = {}
    scored: list[tuple[tuple[float, float, str], Technician, float, float, bool, dict[str, float], float]] = []
    pool = 0
    for tech in technicians:
        pool += 1
        tech = with_offered(tech, offered)
        reason = first_failing(tech, job, when, excluded, offers_fill)
        if reason is not None:
            counts[reason] = counts.get(reason, 0) + 1
            rejected.append(make_rejection(tech, reason, job, when, profile))
            continue
        age = location_age_s(tech, now)
        fresh = bool(is_fresh(age, profile.location_fresh_hours))
        here = tech.last_known if fresh and tech.last_known is not None else tech.home
        dist = float(job_distances(job, here.lat, here.lon))
        parts = score_parts(dist, float(tech.skills[job.skill]), float(tech.busy), float(tech.capacity),
                            nan_if_none(tech.response_median_s), nan_if_none(tech.rating),
                            float(tech.jobs_today), profile.norm)
        parts = {p: float(v) for p, v in parts.items()}
        total = float(total_score(parts, profile.weights))
        scored.append((order_key(total, dist, tech.id), tech, dist, age, fresh, parts, total))
    scored.sort(key=lambda s: s[0])
    candidates = [make_candidate(i + 1, t, job, d, a, f, p, tot, profile)
                  for i, (_, t, d, a, f, p, tot) in enumerate(scored[:k])]
    frozen = tuple(rejected)
    return build_decision(job, now, when, profile, engine="loop", pool_size=pool,
                          eligible_count=len(scored), candidates=candidates,
                          rejected_counts=counts, rejected=lambda _per_filter: frozen)


def top_m(job: Job, pool: "Sequence[Technician] | TechnicianIndex", weights: WeightsLike, now: datetime,
          m: int = 3, exclude: Iterable[str] = (), min_total: float = 0.0,
          offered: Offered = None, offers_fill: bool = True) -> DispatchDecision:
    """Grab mode (抢单): the best ``m`` eligible technicians scoring at least ``min_total``
    are offered the job at once; the first to accept gets it."""
    from .index import TechnicianIndex

    if isinstance(pool, TechnicianIndex):
        decision = pool.rank(job, weights, now, k=m, exclude=exclude, offered=offered,
                             offers_fill=offers_fill)
    else:
        decision = rank(job, pool, weights, now, k=m, exclude=exclude, offered=offered,
                        offers_fill=offers_fill)
    decision.mode = "grab"
    decision.candidates = tuple(c for c in decision.candidates if c.total >= min_total)
    return decision
