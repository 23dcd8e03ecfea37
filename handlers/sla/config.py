"""``config/sla.yaml``: calendars, SLA policies, escalation chains, reminders, quiet hours,
contacts and digests — checked at start, every problem named by file, line and field
(``handlers/config_file.py``). Format and meaning: docs/sla.md."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from handlers.config_file import CONFIG_DIR, ConfigError, load_yaml_model
from scheduler.calendar import BusinessCalendar, parse_window

DEFAULT_PATH: Final = CONFIG_DIR / "sla.yaml"
METRICS: Final = ("first_response", "accept", "arrive", "resolve")
CHANNELS: Final = ("wecom", "sms", "email")
ACTIONS: Final = ("remind", "reassign", "raise_priority", "upgrade")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d)\s*$")
_UNIT = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


class SlaConfigError(ConfigError):
    """One line per problem: ``file:line: field: message``."""


def seconds(text: str | int | float) -> int:
    """``"15m"``, ``"24h"``, ``"1.5h"``, ``"30s"`` → seconds (business time where it counts)."""
    if isinstance(text, (int, float)):
        return int(text)
    m = _DURATION.match(str(text))
    if not m:
        raise ValueError(f"not a duration like 15m, 2h, 1.5h or 30s: {text!r}")
    return int(float(m.group(1)) * _UNIT[m.group(2)])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CalendarSpec(_Strict):
    days: Literal["mainland", "weekdays", "always"] = "mainland"
    workday: str = "09:00-18:00"

    @field_validator("workday")
    @classmethod
    def _window(cls, v: str) -> str:
        parse_window(v)
        return v


class Rule(_Strict):
    """One policy row; ``*`` matches anything. ``region`` is a code prefix (``31`` = 上海,
    ``5101`` = 成都); ``store`` a store name. The most specific rule wins, field by field."""

    kind: str = "*"  # ticket category: repair, install, consult …
    priority: str = "*"  # low | normal | high | urgent
    region: str = "*"
    store: str = "*"
    calendar: str | None = None
    targets: dict[str, str] = Field(default_factory=dict)  # metric → duration
    escalate: dict[str, str] = Field(default_factory=dict)  # metric → chain name

    @field_validator("targets")
    @classmethod
    def _targets(cls, v: dict[str, str]) -> dict[str, str]:
        for metric, d in v.items():
            if metric not in METRICS and not metric.startswith("node:"):
                raise ValueError(f"unknown metric {metric!r} (one of {', '.join(METRICS)}, "
                                 "or node:<kind> for a workflow node)")
            if seconds(d) <= 0:
                raise ValueError(f"{metric}: a target must be longer than 0")
        return v

    def specificity(self) -> tuple[int, int, int, int]:
        return (self.store != "*", 0 if self.region == "*" else len(self.region),
                self.priority != "*", self.kind != "*")

    def matches(self, kind: str, priority: str, region: str, store: str) -> bool:
        return ((self.kind in ("*", kind)) and (self.priority in ("*", priority))
                and (self.region == "*" or region.startswith(self.region))
                and (self.store in ("*", store)))


class Recipient(_Strict):
    """Who a level reaches: the ticket's ``assignee`` (or the technician holding the offer),
    or everyone with ``role`` — within the ticket's region or store when ``scope`` says so."""

    who: Literal["assignee", "role"] = "role"
    role: str = ""
    scope: Literal["any", "region", "store"] = "any"


class Level(_Strict):
    after: str  # business time after the clock started
    to: list[Recipient]
    via: list[Literal["wecom", "sms", "email"]] = Field(min_length=1)
    action: Literal["remind", "reassign", "raise_priority", "upgrade"] = "remind"

    @field_validator("after")
    @classmethod
    def _after(cls, v: str) -> str:
        seconds(v)
        return v


class Reminder(_Strict):
    every: str
    to: list[Recipient] = Field(default_factory=lambda: [Recipient(who="assignee")])
    via: list[Literal["wecom", "sms", "email"]] = ["wecom"]
    until: Literal["first_response", "accept", "arrive", "resolve", "depart"] = "depart"

    @field_validator("every")
    @classmethod
    def _every(cls, v: str) -> str:
        if seconds(v) < 60:
            raise ValueError("a reminder repeats at most every minute (every: 1m or more)")
        return v


class Quiet(_Strict):
    """No ``channels`` between ``start`` and ``end`` (local time, may cross midnight): they
    are held until ``end``; WeCom still goes. ``urgent`` tickets are never held."""

    start: str = "22:00"
    end: str = "08:00"
    channels: list[Literal["sms", "email", "wecom"]] = ["sms"]
    except_priority: list[str] = ["urgent"]

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        if not re.match(r"^([01]\d|2[0-3]):[0-5]\d$", v):
            raise ValueError(f"not a time HH:MM: {v!r}")
        return v


class QuietHours(_Strict):
    default: Quiet | None = Quiet()
    roles: dict[str, Quiet | None] = Field(default_factory=dict)
    people: dict[str, Quiet | None] = Field(default_factory=dict)


class Contact(_Strict):
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = Field(default=None, pattern=r"^\+?\d{6,20}$")


class Digest(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,30}$")
    every: Literal["day", "week"] = "day"
    at: str = "08:30"  # local time
    weekday: int = Field(default=1, ge=1, le=7)  # weeklies: 1 = Monday
    roles: list[str] = ["manager"]
    chart: bool = True

    @field_validator("at")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        if not re.match(r"^([01]\d|2[0-3]):[0-5]\d$", v):
            raise ValueError(f"not a time HH:MM: {v!r}")
        return v


class SlaConfig(_Strict):
    yellow: float = Field(default=0.8, gt=0, lt=1)  # the yellow point, as a share of the target
    calendars: dict[str, CalendarSpec] = Field(
        default_factory=lambda: {"mainland": CalendarSpec(), "always": CalendarSpec(
            days="always", workday="00:00-24:00")})
    policies: list[Rule] = Field(default_factory=list)
    chains: dict[str, list[Level]] = Field(default_factory=dict)
    reminders: dict[str, Reminder] = Field(default_factory=dict)  # ticket kind → reminder
    silent_kinds: list[str] = Field(default_factory=list)  # 我的待办 only, never a ping
    quiet_hours: QuietHours = QuietHours()
    fallback: list[Literal["sms", "email", "wecom"]] = ["sms", "email", "wecom"]
    contacts: dict[str, Contact] = Field(default_factory=dict)  # userid → email / phone
    digests: list[Digest] = Field(default_factory=list)

    @model_validator(mode="after")
    def _names(self) -> "SlaConfig":
        for i, rule in enumerate(self.policies):
            if rule.calendar is not None and rule.calendar not in self.calendars:
                raise ValueError(f"policies[{i}].calendar: no calendar {rule.calendar!r} "
                                 f"(defined: {', '.join(self.calendars)})")
            for metric, chain in rule.escalate.items():
                if chain not in self.chains:
                    raise ValueError(f"policies[{i}].escalate.{metric}: no chain {chain!r} "
                                     f"(defined: {', '.join(self.chains) or 'none'})")
        names = [d.name for d in self.digests]
        if len(set(names)) != len(names):
            raise ValueError("digests: two digests share a name")
        return self

    def calendar(self, name: str) -> BusinessCalendar:
        spec = self.calendars[name]
        return _calendar(spec.days, spec.workday)


_CALENDARS: dict[tuple[str, str], BusinessCalendar] = {}


def _calendar(days: str, workday: str) -> BusinessCalendar:
    key = (days, workday)
    if key not in _CALENDARS:  # one per kind: its warning about an unknown year is logged once
        _CALENDARS[key] = BusinessCalendar.of(days, workday)
    return _CALENDARS[key]


def load_sla_config(path: str | Path | None = None) -> SlaConfig:
    return load_yaml_model(Path(path) if path else DEFAULT_PATH, SlaConfig, SlaConfigError)
