"""TechnicianIndex: the technician pool as numpy arrays plus precomputed masks, for ranking
10,000 technicians in well under a millisecond or two per job.

Filters use the same predicates as ``filters.first_failing`` (skill/region/capacity/leave as
vectorised masks; shifts checked only for the survivors with the same compiled schedules);
scores use the same ``scoring`` functions over arrays.  ``ranking.rank`` is the reference.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from typing import Iterable, Sequence

import numpy as np

from .config import as_profile
from .filters import FILTERS, skill_ok, under_capacity
from .geo import is_fresh
from .model import Job, Technician
from .ranking import (Offered, WeightsLike, build_decision, job_distances, make_candidate, make_rejection,
                      order_key, with_offered)
from .record import DispatchDecision, Rejection
from .regions import covering_codes
from .scoring import score_parts, total_score
from .shifts import WEEK_MIN, WeeklySchedule, bit_at, local, minute_of_week

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_US = timedelta(microseconds=1)
UNDO_KEEP = 4096  # in-place changes logged before the technicians list is copied (_swap)


def _micros(dt: datetime) -> int:
    return (dt - _EPOCH) // _US


class TechnicianIndex:
    """A technician pool's snapshot, kept current in place (``update_counters`` for load/jobs,
    ``replace`` for everything): a decision already made keeps its own view (``_swap``)."""

    def __init__(self, technicians: Sequence[Technician]) -> None:
        techs = list(technicians)
        n = len(techs)
        self.technicians = techs
        self._undo: list[tuple[int, Technician]] = []  # (position, technician before): _swap
        self.ids = [t.id for t in techs]
        self.position = {tid: i for i, tid in enumerate(self.ids)}
        if len(self.position) != n:
            raise ValueError("duplicate technician ids")
        f64 = np.float64
        self.home_lat = np.array([t.home.lat for t in techs], f64)
        self.home_lon = np.array([t.home.lon for t in techs], f64)
        self.last_lat = np.array([t.last_known.lat if t.last_known else np.nan for t in techs], f64)
        self.last_lon = np.array([t.last_known.lon if t.last_known else np.nan for t in techs], f64)
        self.has_seen = np.array([t.last_seen_at is not None for t in techs], bool)
        self.seen_us = np.array([_micros(t.last_seen_at) if t.last_seen_at else 0 for t in techs], np.int64)
        self.load = np.array([t.load for t in techs], f64)
        self.offered = np.array([t.offered for t in techs], f64)
        self.capacity = np.array([t.capacity for t in techs], f64)
        self.rating = np.array([np.nan if t.rating is None else t.rating for t in techs], f64)
        self.response = np.array([np.nan if t.response_median_s is None else t.response_median_s
                                  for t in techs], f64)
        self.jobs_today = np.array([t.jobs_today for t in techs], f64)
        # shifts: one packed weekly bitmap per distinct schedule, and each technician's row in it
        rows: dict[WeeklySchedule, int] = {}
        self.schedule_row = np.array([rows.setdefault(t.schedule, len(rows)) for t in techs], np.intp)
        self.schedule_bits = (np.stack([s.minute_bits() for s in rows]) if rows
                              else np.zeros((0, WEEK_MIN // 8), np.uint8))
        # skill tag -> level per technician (0 = lacks the skill)
        self.skill_levels: dict[str, np.ndarray] = {}
        # served code -> mask of technicians serving exactly that code
        self.region_members: dict[str, np.ndarray] = {}
        leave_idx: list[int] = []
        leave_start: list[int] = []
        leave_end: list[int] = []
        for i, t in enumerate(techs):
            for tag, level in t.skills.items():
                self.skill_levels.setdefault(tag, np.zeros(n, np.int8))[i] = level
            for code in t.regions:
                self.region_members.setdefault(code, np.zeros(n, bool))[i] = True
            for lv in t.leave:
                leave_idx.append(i)
                leave_start.append(lv.start.toordinal())
                leave_end.append(lv.end.toordinal())
        self.leave_idx = np.array(leave_idx, np.intp)
        self.leave_start = np.array(leave_start, np.int64)
        self.leave_end = np.array(leave_end, np.int64)

    @classmethod
    def build(cls, technicians: Iterable[Technician]) -> "TechnicianIndex":
        return cls(list(technicians))

    def __len__(self) -> int:
        return len(self.ids)

    def update_counters(self, tech_id: str, *, load: int | None = None, jobs_today: int | None = None) -> None:
        """Keep the snapshot current after an assignment / completion without a rebuild."""
        i = self.position[tech_id]
        tech = self.technicians[i]
        changes = {k: v for k, v in (("load", load), ("jobs_today", jobs_today)) if v is not None}
        self._swap(i, dataclasses.replace(tech, **changes))
        if load is not None:
            self.load[i] = load
        if jobs_today is not None:
            self.jobs_today[i] = jobs_today

    def replace(self, tech: Technician) -> None:
        """Technician ``tech.id`` (already in the index) as ``tech`` now is — every attribute,
        in place, as a rebuild would have it (a kept pool's update; no other row is touched)."""
        i = self.position[tech.id]
        old = self._swap(i, tech)
        self.home_lat[i], self.home_lon[i] = tech.home.lat, tech.home.lon
        seen = tech.last_known
        self.last_lat[i] = seen.lat if seen else np.nan
        self.last_lon[i] = seen.lon if seen else np.nan
        self.has_seen[i] = tech.last_seen_at is not None
        self.seen_us[i] = _micros(tech.last_seen_at) if tech.last_seen_at else 0
        self.load[i], self.capacity[i], self.offered[i] = tech.load, tech.capacity, tech.offered
        self.rating[i] = np.nan if tech.rating is None else tech.rating
        self.response[i] = np.nan if tech.response_median_s is None else tech.response_median_s
        self.jobs_today[i] = tech.jobs_today
        if tech.schedule != old.schedule:
            rows = np.flatnonzero((self.schedule_bits == tech.schedule.minute_bits()).all(axis=1))
            if len(rows):
                self.schedule_row[i] = rows[0]
            else:
                self.schedule_bits = np.vstack([self.schedule_bits, tech.schedule.minute_bits()])
                self.schedule_row[i] = len(self.schedule_bits) - 1
        n = len(self.ids)
        if dict(old.skills) != dict(tech.skills):
            for tag in old.skills:
                self.skill_levels[tag][i] = 0
            for tag, level in tech.skills.items():
                self.skill_levels.setdefault(tag, np.zeros(n, np.int8))[i] = level
        if old.regions != tech.regions:
            for code in old.regions:
                self.region_members[code][i] = False
            for code in tech.regions:
                self.region_members.setdefault(code, np.zeros(n, bool))[i] = True
        if old.leave != tech.leave:
            keep = self.leave_idx != i
            self.leave_idx = np.concatenate([self.leave_idx[keep],
                                             np.full(len(tech.leave), i, np.intp)])
            self.leave_start = np.concatenate([self.leave_start[keep], np.array(
                [lv.start.toordinal() for lv in tech.leave], np.int64)])
            self.leave_end = np.concatenate([self.leave_end[keep], np.array(
                [lv.end.toordinal() for lv in tech.leave], np.int64)])

    def _swap(self, i: int, tech: Technician) -> Technician:
        """Technician ``i`` is ``tech`` from now on; the one it was goes to the undo log, so that
        decisions made before still list their rejections as they were (``rank``). The
        list is changed in place: copying it, 100,000 references to technicians all over the
        heap, was a millisecond or two of each kept pool's update. After ``UNDO_KEEP`` changes
        a new list and log start; decisions made before keep the old ones, no longer changed."""
        if len(self._undo) >= UNDO_KEEP:
            self.technicians, self._undo = list(self.technicians), []
        old = self.technicians[i]
        self._undo.append((i, old))
        self.technicians[i] = tech
        return old

    # -- ranking --------------------------------------------------------------------------------

    def _busy(self, offered: Offered) -> np.ndarray:
        """Load plus offers awaiting an answer per technician (``Technician.busy``), with
        ``offered`` in place of what the technicians it names carry."""
        at = {self.position[t]: n for t, n in (offered or {}).items() if t in self.position}
        if any(n < 0 for n in at.values()):  # as Technician refuses it (the loop engine)
            raise ValueError("offered must be >= 0")
        busy = self.load + self.offered
        if at:
            i = np.fromiter(at, np.intp, len(at))
            busy[i] = self.load[i] + np.fromiter(at.values(), np.float64, len(at))
        return busy

    def _filter(self, job: Job, when: datetime, exclude: Iterable[str],
                held: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(eligible indices, reason code per technician: -1 eligible, else index in FILTERS)."""
        n = len(self.ids)
        reason = np.full(n, -1, np.int8)
        alive = np.ones(n, bool)
        excl = [self.position[t] for t in exclude if t in self.position]
        levels = self.skill_levels.get(job.skill)
        region = np.zeros(n, bool)
        for code in covering_codes(job.region):
            members = self.region_members.get(code)
            if members is not None:
                region |= members
        day = local(when).date().toordinal()
        on_leave = np.zeros(n, bool)
        if len(self.leave_idx):
            on_leave[self.leave_idx[(self.leave_start <= day) & (day <= self.leave_end)]] = True
        masks = (
            ("excluded", None),
            ("skill", skill_ok(levels, job.min_level) if levels is not None else np.zeros(n, bool)),
            ("region", region),
            ("capacity", under_capacity(held, self.capacity)),
            ("leave", ~on_leave),
        )
        for name, ok in masks:
            code = FILTERS.index(name)
            if ok is None:  # exclusion list
                reason[excl] = code
                alive[excl] = False
                continue
            fail = alive & ~ok
            reason[fail] = code
            alive &= ok
        survivors = np.flatnonzero(alive)
        mow = minute_of_week(when)
        on_shift = bit_at(self.schedule_bits, mow)[self.schedule_row[survivors]]
        reason[survivors[~on_shift]] = FILTERS.index("shift")
        return survivors[on_shift], reason

    def rank(self, job: Job, weights: WeightsLike, now: datetime, k: int = 5,
             exclude: Iterable[str] = (), offered: Offered = None,
             offers_fill: bool = True) -> DispatchDecision:
        """As ``ranking.rank`` decides. ``offered``: the offers awaiting each technician's answer
        now, in place of what they carry — the snapshot itself is not changed; with
        ``offers_fill`` False they weigh in the load score but do not fill a capacity."""
        if k < 1:
            raise ValueError("k must be >= 1")
        profile = as_profile(weights, job.category)
        when = job.when(now)
        offered = dict(offered) if offered else None  # kept by the decision's lazy rejections
        busy = self._busy(offered)
        elig, reason = self._filter(job, when, exclude, busy if offers_fill else self.load)
        age_s = np.where(self.has_seen[elig], (_micros(now) - self.seen_us[elig]) / 1e6, np.nan)
        fresh = is_fresh(age_s, profile.location_fresh_hours)
        lat = np.where(fresh, self.last_lat[elig], self.home_lat[elig])
        lon = np.where(fresh, self.last_lon[elig], self.home_lon[elig])
        dist = job_distances(job, lat, lon)
        levels = self.skill_levels[job.skill][elig].astype(np.float64) if len(elig) else np.zeros(0)
        parts = score_parts(dist, levels, busy[elig], self.capacity[elig], self.response[elig],
                            self.rating[elig], self.jobs_today[elig], profile.norm)
        total = total_score(parts, profile.weights)
        if len(elig) > k:  # keep everything tied with the k-th best, then order exactly
            kth = np.partition(-total, k - 1)[k - 1]
            pick = np.flatnonzero(-total <= kth)
        else:
            pick = np.arange(len(elig))
        best = sorted(pick.tolist(), key=lambda j: order_key(float(total[j]), float(dist[j]),
                                                              self.ids[elig[j]]))[:k]
        candidates = [
            make_candidate(r + 1, with_offered(self.technicians[elig[j]], offered), job, float(dist[j]),
                           float(age_s[j]),
                           bool(fresh[j]), {p: float(v[j]) for p, v in parts.items()},
                           float(total[j]), profile)
            for r, j in enumerate(best)
        ]
        counts = np.bincount(reason[reason >= 0], minlength=len(FILTERS))
        techs, undo, mark = self.technicians, self._undo, len(self._undo)

        def rejected(per_filter: int | None) -> tuple[Rejection, ...]:
            was: dict[int, Technician] = {}
            for j, old in undo[mark:]:  # changed after this decision (_swap): as they were
                was.setdefault(j, old)
            which = np.flatnonzero(reason >= 0)
            if per_filter is not None:  # the first of each filter only, in pool order
                which = np.sort(np.concatenate([np.flatnonzero(reason == k)[:per_filter]
                                                for k in range(len(FILTERS))]))
            return tuple(make_rejection(with_offered(was.get(i, techs[i]), offered), FILTERS[reason[i]],
                                        job, when, profile) for i in which.tolist())

        return build_decision(job, now, when, profile, engine="index", pool_size=len(self.ids),
                              eligible_count=len(elig), candidates=candidates,
                              rejected_counts={f: int(c) for f, c in zip(FILTERS, counts)},
                              rejected=rejected)
