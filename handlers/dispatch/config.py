"""Dispatch's configuration files: ``config/offering.yaml`` (how a ticket is offered to
technicians, per category, and the skill each job needs) and ``config/dispatch.yaml`` (the
engine's scoring weights, parsed by ``engine/config.py``); plus technician data files.

Validated on load (unknown fields refused); an error names the file, the line and the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

import json

import yaml

from handlers.config_file import (CONFIG_DIR, ConfigError, Problem, YamlSyntaxError, load_yaml_model,
                                  read_yaml)
from handlers.dispatch.engine import DispatchConfig, DispatchConfigError, Technician
from handlers.dispatch.engine.config import parse_config
from handlers.dispatch.engine.specs import technician_from_dict

DEFAULT_PATH: Final = CONFIG_DIR / "offering.yaml"
SCORING_PATH: Final = CONFIG_DIR / "dispatch.yaml"


class OfferingConfigError(ConfigError):
    """One line per problem: ``file:line: field: message``."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Policy(_Strict):
    """How one category's jobs are offered. Every field may be left out in a category."""

    mode: Literal["direct", "grab"] | None = None
    answer_minutes: float | None = Field(default=None, gt=0, le=24 * 60)
    max_candidates: int | None = Field(default=None, ge=1, le=50)
    grab_size: int | None = Field(default=None, ge=1, le=50)
    grab_minutes: float | None = Field(default=None, gt=0, le=24 * 60)
    min_score: float | None = Field(default=None, ge=0, le=1)


class Resolved(_Strict):
    mode: Literal["direct", "grab"]
    answer_minutes: float
    max_candidates: int
    grab_size: int
    grab_minutes: float
    min_score: float


class Need(_Strict):
    skill: str = Field(min_length=1, max_length=40)
    min_level: int = Field(default=1, ge=1, le=5)


class Skills(_Strict):
    default: Need = Need(skill="general")
    categories: dict[str, Need] = Field(default_factory=dict)
    devices: dict[str, Need] = Field(default_factory=dict)


class OfferingConfig(_Strict):
    hotline: str = Field(default="", max_length=40)
    defaults: Policy = Policy(mode="direct", answer_minutes=10, max_candidates=3, grab_size=5,
                              grab_minutes=15, min_score=0.0)
    categories: dict[str, Policy] = Field(default_factory=lambda: {"repair": Policy()})
    skills: Skills = Skills()

    @field_validator("defaults")
    @classmethod
    def _complete(cls, v: Policy) -> Policy:
        missing = [k for k, x in v.model_dump().items() if x is None]
        if missing:
            raise ValueError(f"defaults must set {', '.join(missing)}")
        return v

    @model_validator(mode="after")
    def _known(self) -> "OfferingConfig":
        from nlp.classify import CATEGORIES

        unknown = sorted(set(self.categories) - set(CATEGORIES))
        if unknown:
            raise ValueError(f"unknown categories {unknown} (known: {', '.join(CATEGORIES)})")
        return self

    def dispatched(self, category: str) -> bool:
        """Whether tickets of ``category`` are offered to technicians at all."""
        return category in self.categories

    def policy(self, category: str) -> Resolved:
        over = self.categories.get(category, Policy()).model_dump(exclude_none=True)
        return Resolved(**(self.defaults.model_dump() | over))

    def need(self, category: str, device: str | None) -> Need:
        """The skill a job needs: by device first, then by category, then the default."""
        if device and device in self.skills.devices:
            return self.skills.devices[device]
        return self.skills.categories.get(category, self.skills.default)


def load_offering_config(path: Path | None = None) -> OfferingConfig:
    return load_yaml_model(path or DEFAULT_PATH, OfferingConfig, OfferingConfigError)


def load_dispatch_configs(offering_path: str | None = None) -> tuple[DispatchConfig, OfferingConfig]:
    """``config/dispatch.yaml`` (scoring, ``dispatching/``) and the offering rules; a problem in
    either is an ``OfferingConfigError`` (a ``ConfigError``) naming file:line."""
    try:
        scoring = load_scoring_config()
    except DispatchConfigError as exc:
        raise OfferingConfigError(str(exc)) from None
    return scoring, load_offering_config(Path(offering_path) if offering_path else None)


def load_scoring_config(path: str | Path = SCORING_PATH) -> DispatchConfig:
    """``config/dispatch.yaml``: the scoring weights (``DispatchConfigError`` names file:line).

    Read with the one YAML reader (``handlers/config_file.py``); the engine validates the
    document."""
    try:
        doc = read_yaml(Path(path).read_text(encoding="utf-8"), str(path))
    except YamlSyntaxError as exc:
        raise DispatchConfigError([Problem(str(path), exc.line, "<yaml>", exc.problem)]) from None
    return parse_config(doc)


def load_technicians(path: str | Path) -> list[Technician]:
    """A JSON or YAML list of technician dicts (or JSON Lines, one per line, for .jsonl)."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    if p.suffix == ".jsonl":
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    elif p.suffix == ".json":
        rows = json.loads(text)
    else:
        rows = yaml.safe_load(text)
    return [technician_from_dict(r) for r in rows]
