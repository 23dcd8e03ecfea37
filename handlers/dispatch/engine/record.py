"""The decision record: JSON-serialisable, enough to answer "为什么派给他" later."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Callable, Mapping

from .filters import FILTERS

#: Rejected technicians named in a stored record, per filter (the counts are always complete).
#: "为什么派给他" names them only where a filter removed three or fewer; a record that listed
#: every one was ~100 bytes a technician — 1 MB a ticket among 10,000 — and took 0.1 s to build
#: among 100,000.
NAMED_PER_FILTER = 20


def first_per_filter(rejected: "tuple[Rejection, ...]", n: int) -> "tuple[Rejection, ...]":
    """The first ``n`` of each filter, in the order given (the pool's)."""
    seen: dict[str, int] = {}
    out = []
    for r in rejected:
        k = seen.get(r.filter, 0)
        if k < n:
            seen[r.filter] = k + 1
            out.append(r)
    return tuple(out)


@dataclass(frozen=True)
class Facts:
    """Raw facts behind the score parts, as shown to a manager."""

    distance_km: float | None       # None = the job has no coordinates (not computable)
    location_source: str            # "last_known" | "home" (the technician's side)
    location_age_h: float | None    # age of the last-known fix (None = never seen)
    skill_level: int
    load: int
    capacity: int
    response_median_s: float | None
    rating: float | None
    jobs_today: int
    eta_min: int | None             # None when distance_km is None
    offered: int = 0                # offers awaiting their answer, counted with load (model.py)


_FACTS = {f.name for f in fields(Facts)}  # a record written by a newer version may hold more


@dataclass(frozen=True)
class Candidate:
    tech_id: str
    name: str
    rank: int
    total: float
    parts: Mapping[str, float]          # normalised 0..1, 1 = best
    contributions: Mapping[str, float]  # weight_p * part_p / sum(weights); adds up to total
    facts: Facts

    def to_dict(self) -> dict[str, Any]:
        return {
            "tech_id": self.tech_id, "name": self.name, "rank": self.rank, "total": self.total,
            "parts": dict(self.parts), "contributions": dict(self.contributions),
            "facts": asdict(self.facts),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Candidate":
        return cls(d["tech_id"], d["name"], int(d["rank"]), float(d["total"]), dict(d["parts"]),
                   dict(d["contributions"]), Facts(**{k: v for k, v in d["facts"].items()
                                                       if k in _FACTS}))


@dataclass(frozen=True)
class Rejection:
    tech_id: str
    name: str
    filter: str   # one of filters.FILTERS
    detail: str   # Chinese, e.g. "空调技能2级，要求≥3级"

    def to_dict(self) -> dict[str, str]:  # asdict's, written out: a decision has one per technician
        return {"tech_id": self.tech_id, "name": self.name, "filter": self.filter,
                "detail": self.detail}


@dataclass
class DispatchDecision:
    """Ordered candidates (top k), every filtered-out technician with the filter, and context.

    ``rejected`` may be materialised lazily (the index keeps arrays and builds the list only when
    the record is read or serialised), so ranking stays fast with 10,000 technicians.
    """

    job: dict[str, Any]
    decided_at: str
    mode: str                        # "assign" | "grab"
    engine: str                      # "loop" | "index"
    category: str | None
    skill_label: str
    category_label: str
    weights: dict[str, float]
    normalisation: dict[str, float]
    location_fresh_hours: float
    pool_size: int
    eligible_count: int
    candidates: tuple[Candidate, ...]
    rejected_counts: dict[str, int]
    _rejected: tuple[Rejection, ...] | None = field(default=None, repr=False)
    #: builds the rejections (all, or the first n of each filter): the index's are built lazily
    _rejected_source: Callable[[int | None], tuple[Rejection, ...]] | None = field(
        default=None, repr=False, compare=False)

    @property
    def chosen(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    @property
    def rejected(self) -> tuple[Rejection, ...]:
        if self._rejected is None:
            self._rejected = self._rejected_source(None) if self._rejected_source else ()
            self._rejected_source = None
        return self._rejected

    def named_rejections(self, per_filter: int = NAMED_PER_FILTER) -> tuple[Rejection, ...]:
        """The first ``per_filter`` rejected technicians of each filter, without building the
        rest (what the stored record keeps)."""
        if self._rejected is None and self._rejected_source is not None:
            return first_per_filter(self._rejected_source(per_filter), per_filter)
        return first_per_filter(self.rejected, per_filter)

    @property
    def reason(self) -> str:
        from .explain import reason_line
        return reason_line(self.chosen, self.skill_label) if self.chosen else "无人可派"

    def to_dict(self) -> dict[str, Any]:
        return {
            "job": dict(self.job), "decided_at": self.decided_at, "mode": self.mode,
            "engine": self.engine, "category": self.category, "skill_label": self.skill_label,
            "category_label": self.category_label,
            "weights": dict(self.weights), "normalisation": dict(self.normalisation),
            "location_fresh_hours": self.location_fresh_hours,
            "pool_size": self.pool_size, "eligible_count": self.eligible_count,
            "chosen": self.chosen.tech_id if self.chosen else None,
            "reason": self.reason,
            "candidates": [c.to_dict() for c in self.candidates],
            "rejected_counts": {f: self.rejected_counts.get(f, 0) for f in FILTERS},
            "rejected": [r.to_dict() for r in self.named_rejections()],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "DispatchDecision":
        return cls(
            job=dict(d["job"]), decided_at=d["decided_at"], mode=d["mode"], engine=d["engine"],
            category=d.get("category"), skill_label=d["skill_label"],
            category_label=d.get("category_label") or d["job"].get("category") or "", weights=dict(d["weights"]),
            normalisation=dict(d["normalisation"]), location_fresh_hours=float(d["location_fresh_hours"]),
            pool_size=int(d["pool_size"]), eligible_count=int(d["eligible_count"]),
            candidates=tuple(Candidate.from_dict(c) for c in d["candidates"]),
            rejected_counts=dict(d["rejected_counts"]),
            _rejected=tuple(Rejection(**r) for r in d.get("rejected", ())),
        )
