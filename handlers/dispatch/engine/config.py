"""Scoring configuration: weights, normalisation constants, per-category overrides.

``parse_config(doc)`` validates the YAML document of ``config/dispatch.yaml`` (no I/O and no YAML
text: ``handlers/dispatch/config.load_scoring_config`` reads the file with the one YAML reader,
``handlers/config_file.read_yaml``, and passes the document in).  Every error names
``source:line: field: problem``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any, Mapping

PARTS: tuple[str, ...] = ("distance", "skill", "load", "response", "rating", "fairness")


@dataclass(frozen=True, slots=True)
class Weights:
    """Relative weight of each score part; the total is divided by their sum (so it is 0..1)."""

    distance: float = 0.30
    skill: float = 0.20
    load: float = 0.15
    response: float = 0.10
    rating: float = 0.15
    fairness: float = 0.10

    def __post_init__(self) -> None:
        for name in PARTS:
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"weight {name}={v!r} must be a finite number >= 0")
        if self.sum() <= 0:
            raise ValueError("at least one weight must be > 0")

    def sum(self) -> float:
        return float(sum(getattr(self, p) for p in PARTS))

    def as_dict(self) -> dict[str, float]:
        return {p: float(getattr(self, p)) for p in PARTS}


@dataclass(frozen=True, slots=True)
class Normalisation:
    """Constants mapping raw facts to 0..1 parts (1 = best).  See docs/dispatch.md."""

    distance_half_km: float = 5.0     # distance part = h / (h + km): 0 km -> 1, h km -> 0.5
    response_fast_s: float = 120.0    # median accept <= fast -> 1
    response_slow_s: float = 1800.0   # median accept >= slow -> 0, linear between
    response_unknown: float = 0.5     # no data in the last 3 days -> neutral
    rating_unknown: float = 0.5       # unrated -> neutral (as a 3.0 rating)
    fairness_jobs_cap: float = 6.0    # jobs today: 0 -> 1, >= cap -> 0, linear between
    distance_unknown: float = 0.5     # job without coordinates -> distance not computable, neutral

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if not (isinstance(v, (int, float)) and math.isfinite(v)):
                raise ValueError(f"{f.name}={v!r} must be a finite number")
        if self.distance_half_km <= 0:
            raise ValueError("distance_half_km must be > 0")
        if not 0 <= self.response_fast_s < self.response_slow_s:
            raise ValueError("need 0 <= response_fast_s < response_slow_s")
        for name in ("response_unknown", "rating_unknown", "distance_unknown"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in 0..1")
        if self.fairness_jobs_cap <= 0:
            raise ValueError("fairness_jobs_cap must be > 0")

    def as_dict(self) -> dict[str, float]:
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}


@dataclass(frozen=True)
class Profile:
    """Everything scoring needs for one job: resolved weights + normalisation."""

    weights: Weights = Weights()
    norm: Normalisation = Normalisation()
    location_fresh_hours: float = 6.0
    category: str | None = None
    skill_labels: Mapping[str, str] = field(default_factory=dict)
    category_labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CategoryOverride:
    weights: Mapping[str, float] = field(default_factory=dict)
    normalisation: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class DispatchConfig:
    weights: Weights = Weights()
    normalisation: Normalisation = Normalisation()
    categories: Mapping[str, CategoryOverride] = field(default_factory=dict)
    location_fresh_hours: float = 6.0
    top_k: int = 5
    skill_labels: Mapping[str, str] = field(default_factory=dict)
    category_labels: Mapping[str, str] = field(default_factory=dict)

    def profile(self, category: str | None) -> Profile:
        over = self.categories.get(category or "", CategoryOverride())
        return Profile(
            weights=replace(self.weights, **over.weights),
            norm=replace(self.normalisation, **over.normalisation),
            location_fresh_hours=self.location_fresh_hours,
            category=category,
            skill_labels=self.skill_labels,
            category_labels=self.category_labels,
        )


def as_profile(weights: "Weights | DispatchConfig | Profile | None", category: str | None) -> Profile:
    """What ``rank`` accepts as ``weights``: bare Weights, a whole config (resolved per category)."""
    if weights is None:
        return DispatchConfig().profile(category)
    if isinstance(weights, DispatchConfig):
        return weights.profile(category)
    if isinstance(weights, Weights):
        return Profile(weights=weights, category=category)
    if isinstance(weights, Profile):
        return weights
    raise TypeError(f"weights must be Weights, DispatchConfig or Profile, not {type(weights).__name__}")


# -- validating the YAML document ---------------------------------------------------------------


class DispatchConfigError(ValueError):
    """One or more problems, each ``(source, line, field, message)`` printed
    ``source:line: field: message`` (the ``Problem`` of ``handlers/config_file.py``)."""

    def __init__(self, problems: list[Any]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


Loc = tuple[str, ...]  # a field's place: ("categories", "install", "weights")


class _Reader:
    """Collects every problem of one document (``doc``: ``.data``, ``.line()``, ``.issues``,
    ``.problem()``, handed in by the caller)."""

    def __init__(self, doc: Any) -> None:
        self.doc = doc
        self.problems: list[Any] = []
        self.unreadable = {i.path for i in doc.issues if i.kind == "unreadable"}
        for issue in doc.issues:
            if issue.kind == "unreadable":
                self.err(issue.path, f"cannot read {issue.written!r} ({issue.reason})", issue.line)

    def err(self, path: Loc, msg: str, line: int | None = None, *, field: str | None = None) -> None:
        if line is None and path in self.unreadable:
            return  # already reported as unreadable
        field = field or ".".join(str(p) for p in path) or "<root>"
        self.problems.append(self.doc.problem(path, msg, field=field, line=line))

    def mapping(self, value: Any, path: Loc) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.err(path, "must be a mapping")
            return {}
        for issue in self.doc.issues:
            if issue.kind == "duplicate" and issue.path[:-1] == path:
                self.err(issue.path, "duplicate key", issue.line)
        return value

    def number(self, v: Any, path: Loc, *, minimum: float | None = None,
               maximum: float | None = None, positive: bool = False, integer: bool = False) -> float | None:
        scalar = not isinstance(v, (dict, list))
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        if ok and integer and not isinstance(v, int):
            ok = False
        if not ok:
            self.err(path, f"must be {'an integer' if integer else 'a number'}, got {v!r}"
                     if scalar else "must be a number")
            return None
        if positive and v <= 0:
            self.err(path, f"must be > 0, got {v}")
        elif minimum is not None and v < minimum:
            self.err(path, f"must be >= {minimum}, got {v}")
        elif maximum is not None and v > maximum:
            self.err(path, f"must be <= {maximum}, got {v}")
        else:
            return float(v) if not integer else int(v)
        return None

    def unknown(self, items: dict[str, Any], path: Loc, allowed: tuple[str, ...]) -> None:
        for key in items:
            if key not in allowed:
                self.err(path + (key,), f"unknown key (allowed: {', '.join(allowed)})")


_NORM_BOUNDS: dict[str, dict[str, Any]] = {
    "distance_half_km": {"positive": True},
    "response_fast_s": {"minimum": 0},
    "response_slow_s": {"positive": True},
    "response_unknown": {"minimum": 0, "maximum": 1},
    "rating_unknown": {"minimum": 0, "maximum": 1},
    "fairness_jobs_cap": {"positive": True},
    "distance_unknown": {"minimum": 0, "maximum": 1},
}


def _weights(r: _Reader, value: Any, path: Loc) -> dict[str, float]:
    items = r.mapping(value, path)
    r.unknown(items, path, PARTS)
    out: dict[str, float] = {}
    for key, v in items.items():
        if key in PARTS and (x := r.number(v, path + (key,), minimum=0)) is not None:
            out[key] = x
    return out


def _norm(r: _Reader, value: Any, path: Loc) -> dict[str, float]:
    items = r.mapping(value, path)
    r.unknown(items, path, tuple(_NORM_BOUNDS))
    out: dict[str, float] = {}
    for key, v in items.items():
        if key in _NORM_BOUNDS and (x := r.number(v, path + (key,), **_NORM_BOUNDS[key])) is not None:
            out[key] = x
    return out


def _check_combined(r: _Reader, path: Loc, weights: dict[str, float], norm: dict[str, float]) -> None:
    """Cross-field rules (sum of weights > 0, fast < slow) on the merged values, reported at
    the line of ``path`` (the document, or the category)."""
    for section, build, values in (("weights", Weights, weights),
                                   ("normalisation", Normalisation, norm)):
        try:
            build(**values)
        except ValueError as exc:
            r.err(path, str(exc), field=".".join(path + (section,)))


_TOP_KEYS = ("version", "weights", "normalisation", "categories", "location_fresh_hours",
             "top_k", "skill_labels", "category_labels")


def parse_config(doc: Any) -> DispatchConfig:
    """The scoring configuration from the YAML document of ``config/dispatch.yaml``;
    ``DispatchConfigError`` lists every problem."""
    if doc.empty:
        raise DispatchConfigError([doc.problem((), "empty file", field="<root>", line=1)])
    r = _Reader(doc)
    items = r.mapping(doc.data, ())
    r.unknown(items, (), _TOP_KEYS)
    if "version" in items:
        v = r.number(items["version"], ("version",), integer=True)
        if v is not None and v != 1:
            r.err(("version",), f"unsupported version {v} (expected 1)")
    weights = _weights(r, items["weights"], ("weights",)) if "weights" in items else {}
    norm = _norm(r, items["normalisation"], ("normalisation",)) if "normalisation" in items else {}
    fresh, top_k = 6.0, 5
    if "location_fresh_hours" in items:
        x = r.number(items["location_fresh_hours"], ("location_fresh_hours",), minimum=0)
        fresh = fresh if x is None else x
    if "top_k" in items:
        n = r.number(items["top_k"], ("top_k",), integer=True, minimum=1)
        top_k = top_k if n is None else int(n)
    labels: dict[str, dict[str, str]] = {"skill_labels": {}, "category_labels": {}}
    for section, found in labels.items():
        if section not in items:
            continue
        for key, val in r.mapping(items[section], (section,)).items():
            if not isinstance(val, str) or not val:
                r.err((section, key), "must be a non-empty string")
            else:
                found[key] = val
    before = len(r.problems)
    _check_combined(r, (), weights, norm)
    base_ok = len(r.problems) == before
    categories: dict[str, CategoryOverride] = {}
    if "categories" in items:
        for cat, body in r.mapping(items["categories"], ("categories",)).items():
            path = ("categories", cat)
            citems = r.mapping(body, path)
            r.unknown(citems, path, ("weights", "normalisation"))
            cw = _weights(r, citems["weights"], path + ("weights",)) if "weights" in citems else {}
            cn = _norm(r, citems["normalisation"], path + ("normalisation",)) if "normalisation" in citems else {}
            if base_ok:
                _check_combined(r, path, {**weights, **cw}, {**norm, **cn})
            categories[cat] = CategoryOverride(MappingProxyType(cw), MappingProxyType(cn))
    if r.problems:
        raise DispatchConfigError(r.problems)
    return DispatchConfig(
        weights=Weights(**weights),
        normalisation=Normalisation(**norm),
        categories=MappingProxyType(categories),
        location_fresh_hours=fresh,
        top_k=top_k,
        skill_labels=MappingProxyType(labels["skill_labels"]),
        category_labels=MappingProxyType(labels["category_labels"]),
    )
