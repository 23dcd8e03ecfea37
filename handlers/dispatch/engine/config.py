"""Scoring configuration: weights, normalisation constants, per-category overrides.

``parse_config(text, source)`` validates YAML text (no I/O; ``loader.load_config`` reads the
file).  Every error names ``source:line: field: problem`` using the YAML node marks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any, Mapping

import yaml

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


# -- YAML parsing with line numbers ------------------------------------------------------------


class DispatchConfigError(ValueError):
    """One or more problems, each ``source:line: field: message``."""

    def __init__(self, problems: list[tuple[str, int, str, str]]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"{src}:{line}: {fld}: {msg}" for src, line, fld, msg in problems))


class _Reader:
    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.loader = yaml.SafeLoader(text)
        self.problems: list[tuple[str, int, str, str]] = []

    def err(self, node: yaml.Node, path: str, msg: str) -> None:
        self.problems.append((self.source, node.start_mark.line + 1, path, msg))

    def mapping(self, node: yaml.Node, path: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            self.err(node, path or "<root>", "must be a mapping")
            return {}
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for k, v in node.value:
            key = str(self.loader.construct_object(k))
            sub = f"{path}.{key}" if path else key
            if key in out:
                self.err(k, sub, "duplicate key")
            out[key] = (k, v)
        return out

    def scalar(self, node: yaml.Node) -> Any:
        return self.loader.construct_object(node, deep=True)

    def number(self, node: yaml.Node, path: str, *, minimum: float | None = None,
               maximum: float | None = None, positive: bool = False, integer: bool = False) -> float | None:
        v = self.scalar(node) if isinstance(node, yaml.ScalarNode) else None
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        if ok and integer and not isinstance(v, int):
            ok = False
        if not ok:
            self.err(node, path, f"must be {'an integer' if integer else 'a number'}, got {v!r}"
                     if isinstance(node, yaml.ScalarNode) else "must be a number")
            return None
        if positive and v <= 0:
            self.err(node, path, f"must be > 0, got {v}")
        elif minimum is not None and v < minimum:
            self.err(node, path, f"must be >= {minimum}, got {v}")
        elif maximum is not None and v > maximum:
            self.err(node, path, f"must be <= {maximum}, got {v}")
        else:
            return float(v) if not integer else int(v)
        return None

    def unknown(self, items: dict[str, tuple[yaml.Node, yaml.Node]], path: str, allowed: tuple[str, ...]) -> None:
        for key, (knode, _) in items.items():
            if key not in allowed:
                sub = f"{path}.{key}" if path else key
                self.err(knode, sub, f"unknown key (allowed: {', '.join(allowed)})")


_NORM_BOUNDS: dict[str, dict[str, Any]] = {
    "distance_half_km": {"positive": True},
    "response_fast_s": {"minimum": 0},
    "response_slow_s": {"positive": True},
    "response_unknown": {"minimum": 0, "maximum": 1},
    "rating_unknown": {"minimum": 0, "maximum": 1},
    "fairness_jobs_cap": {"positive": True},
    "distance_unknown": {"minimum": 0, "maximum": 1},
}


def _weights(r: _Reader, node: yaml.Node, path: str) -> tuple[dict[str, float], bool]:
    items = r.mapping(node, path)
    r.unknown(items, path, PARTS)
    out: dict[str, float] = {}
    for key, (_, v) in items.items():
        if key in PARTS and (x := r.number(v, f"{path}.{key}", minimum=0)) is not None:
            out[key] = x
    return out, bool(items)


def _norm(r: _Reader, node: yaml.Node, path: str) -> dict[str, float]:
    items = r.mapping(node, path)
    r.unknown(items, path, tuple(_NORM_BOUNDS))
    out: dict[str, float] = {}
    for key, (_, v) in items.items():
        if key in _NORM_BOUNDS and (x := r.number(v, f"{path}.{key}", **_NORM_BOUNDS[key])) is not None:
            out[key] = x
    return out


def _check_combined(r: _Reader, node: yaml.Node, path: str, weights: dict[str, float],
                    norm: dict[str, float]) -> None:
    """Cross-field rules (sum of weights > 0, fast < slow) on the merged values."""
    try:
        Weights(**weights)
    except ValueError as exc:
        r.err(node, path + ".weights" if path else "weights", str(exc))
    try:
        Normalisation(**norm)
    except ValueError as exc:
        r.err(node, path + ".normalisation" if path else "normalisation", str(exc))


def parse_config(text: str, source: str = "<dispatch.yaml>") -> DispatchConfig:
    r = _Reader(text, source)
    try:
        root = r.loader.get_single_node()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise DispatchConfigError([(source, line, "<yaml>", str(getattr(exc, "problem", exc)))]) from None
    if root is None:
        raise DispatchConfigError([(source, 1, "<root>", "empty file")])
    items = r.mapping(root, "")
    allowed = ("version", "weights", "normalisation", "categories", "location_fresh_hours",
               "top_k", "skill_labels", "category_labels")
    r.unknown(items, "", allowed)
    if "version" in items:
        v = r.number(items["version"][1], "version", integer=True)
        if v is not None and v != 1:
            r.err(items["version"][1], "version", f"unsupported version {v} (expected 1)")
    weights: dict[str, float] = {}
    norm: dict[str, float] = {}
    if "weights" in items:
        weights, _ = _weights(r, items["weights"][1], "weights")
    if "normalisation" in items:
        norm = _norm(r, items["normalisation"][1], "normalisation")
    fresh, top_k = 6.0, 5
    if "location_fresh_hours" in items:
        x = r.number(items["location_fresh_hours"][1], "location_fresh_hours", minimum=0)
        fresh = fresh if x is None else x
    if "top_k" in items:
        n = r.number(items["top_k"][1], "top_k", integer=True, minimum=1)
        top_k = top_k if n is None else int(n)
    labels: dict[str, dict[str, str]] = {"skill_labels": {}, "category_labels": {}}
    for section, found in labels.items():
        if section not in items:
            continue
        for key, (_, v) in r.mapping(items[section][1], section).items():
            val = r.scalar(v) if isinstance(v, yaml.ScalarNode) else None
            if not isinstance(val, str) or not val:
                r.err(v, f"{section}.{key}", "must be a non-empty string")
            else:
                found[key] = val
    before = len(r.problems)
    _check_combined(r, root, "", weights, norm)
    base_ok = len(r.problems) == before
    categories: dict[str, CategoryOverride] = {}
    if "categories" in items:
        for cat, (cnode, body) in r.mapping(items["categories"][1], "categories").items():
            path = f"categories.{cat}"
            citems = r.mapping(body, path)
            r.unknown(citems, path, ("weights", "normalisation"))
            cw = _weights(r, citems["weights"][1], f"{path}.weights")[0] if "weights" in citems else {}
            cn = _norm(r, citems["normalisation"][1], f"{path}.normalisation") if "normalisation" in citems else {}
            if base_ok:
                _check_combined(r, cnode, path, {**weights, **cw}, {**norm, **cn})
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
